"""The 1:N identification adapters on tiny fake trees: ``lfw-1n`` (LFW people with >= 12 photos protected,
one-photo people as distractors) and ``privacy-commons`` (the authors' lists), both writing the roles the
identify protocol reads (gallery = inference photos, probe = test photos, distractor)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fpbench.cli.main import main
from fpbench.data import load_dataset, prepare
from fpbench.data.adapters import Options, privacy_commons, user_manifest, write_dataset_manifest
from fpbench.errors import BadInput
from fpbench.images import read_image
from fpbench.protocols import protocol_for
from test_data_adapters import cache, make_lfw, manifest_rows, roles  # noqa: F401  (cache: a fixture)


# ---------------------------------------------------------------- lfw-1n

def test_lfw_1n_protects_people_with_12_photos_and_uses_single_photos_as_distractors(tmp_path, cache):  # noqa: F811
    root = make_lfw(tmp_path / "lfw_copy", {"Ann": 13, "Ben": 12, "Cid": 5, "Dee": 1, "Eve": 1}, ["1\t1"])
    assert main(["data", "manifest", "lfw-1n", "--root", str(root)]) == 0
    rows = manifest_rows("lfw-1n")
    by_person = {p: sorted(r["role"] for r in rows.values() if r["identity"] == p) for p in ("Ann", "Ben", "Cid")}
    assert by_person == {"Ann": ["gallery"] * 10 + ["probe"] * 3, "Ben": ["gallery"] * 10 + ["probe"] * 2, "Cid": []}
    assert {i: r["role"] for i, r in rows.items() if r["role"] == "distractor"} == {"Dee_0001": "distractor",
                                                                                   "Eve_0001": "distractor"}
    assert roles(rows) == {"gallery": 20, "probe": 5, "distractor": 2} and {r["split"] for r in rows.values()} == {"test"}
    assert rows["Ann_0001"]["source"] == "lfw/Ann/Ann_0001.jpg" and "landmarks5" not in rows["Ann_0001"]
    protocol = user_manifest("lfw-1n").header["protocol"]
    assert protocol["name"] == "identification" and protocol["left_out_people"] == 1 and protocol["identities"] == 2


def test_lfw_1n_inference_photos_are_a_seeded_choice(tmp_path, cache):  # noqa: F811
    root = make_lfw(tmp_path / "lfw_copy", {"Ann": 16}, ["1\t1"])
    probes = lambda seed: sorted(r["id"] for r in write_dataset_manifest("lfw-1n", root, options=Options(seed)).rows
                                 if r["role"] == "probe")
    assert probes(0) == probes(0) and len(probes(0)) == 6
    assert probes(0) != probes(1) and probes(0) != [f"Ann_{k:04d}" for k in range(11, 17)]


def test_lfw_1n_without_a_protected_person_is_one_line(tmp_path, cache):  # noqa: F811
    root = make_lfw(tmp_path / "lfw_copy", {"Ann": 11, "Dee": 1}, ["1\t1"])
    with pytest.raises(BadInput, match=r"has no person with 12 or more photos: lfw-1n protects those"):
        write_dataset_manifest("lfw-1n", root)
    assert main(["data", "manifest", "lfw-1n", "--root", str(root)]) == 2
    assert main(["data", "manifest", "lfw-1n", "--root", str(tmp_path / "nowhere")]) == 2


# ---------------------------------------------------------------- privacy-commons

def photo(path: Path, seed: int, size: int = 112) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path.as_posix()


def make_commons(root: Path, inference: int = 3, test: int = 2, distractors: int = 3) -> Path:
    """The authors' data folder in miniature: lists in list/, photos under privacy/<person>/ and Distractor/."""
    lists = {"train": [], "test": [], "dis": []}
    for p in ("id0001", "id0002"):
        for k in range(inference + test):
            rel = f"privacy/{p}/{k}.jpg"
            photo(root / rel, 10 * int(p[-1]) + k, size=224 if (p, k) == ("id0002", 0) else 112)
            lists["train" if k < inference else "test"].append(rel)
    for d in range(distractors):
        rel = f"Distractor/{d:03d}/{d}_x.jpg"
        photo(root / rel, 500 + d)
        lists["dis"].append(f"{d} {rel}")
    (root / "list").mkdir()
    for key, name in (("train", privacy_commons.INFERENCE_LIST), ("test", privacy_commons.TEST_LIST),
                      ("dis", privacy_commons.DISTRACTOR_LIST)):
        (root / "list" / name).write_text("\n".join(lists[key]) + "\n")
    return root


def test_privacy_commons_roles_landmarks_and_protocol(tmp_path, cache, monkeypatch):  # noqa: F811
    root = make_commons(tmp_path / "data")
    monkeypatch.setattr(privacy_commons, "DISTRACTORS", 2)  # the scripts' --lenth: only the first lines count
    assert main(["data", "manifest", "privacy-commons", "--root", str(root)]) == 0
    rows = manifest_rows("privacy-commons")
    assert roles(rows) == {"gallery": 6, "probe": 4, "distractor": 2}
    assert rows["privacy__id0001__3"]["role"] == "probe" and rows["privacy__id0001__3"]["identity"] == "id0001"
    assert rows["Distractor__001__1_x"]["identity"] == "distractor.001"
    template = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
    assert np.allclose(rows["privacy__id0001__0"]["landmarks5"], template, atol=1e-3)  # ArcFace's 112 px template
    assert np.allclose(rows["privacy__id0002__0"]["landmarks5"], np.multiply(template, 2), atol=1e-3)  # a 224 px crop
    # the authors' crops are already aligned: preparing them keeps the pixels, and the protocol is identify
    report = prepare(user_manifest("privacy-commons"), root=root)
    assert report.problems == []
    data = load_dataset("privacy-commons")
    assert protocol_for("", data).name == "identify"
    crop = next(r for r in data.records if r.id == "privacy__id0001__1").crops[112]
    original = np.asarray(Image.open(root / "privacy/id0001/1.jpg").convert("RGB"), dtype=float)
    assert np.abs(read_image(crop).astype(float) - original).mean() < 1.0


@pytest.mark.parametrize("edit, message", [
    (lambda r: (r / "list" / privacy_commons.INFERENCE_LIST).write_text("privacy/id0001/0.jpg extra\n"),
     r"privacy_train_v3_10\.lst:1: expected one relative path, got 2 fields"),
    (lambda r: (r / "list" / privacy_commons.DISTRACTOR_LIST).write_text("Distractor/000/0_x.jpg\n"),
     r"common_distractor\.lst:1: expected '<x> <path>' \(MF2 distractor line\), got 1 fields"),
    (lambda r: (r / "list" / privacy_commons.TEST_LIST).write_text("privacy/id0009/3.jpg\n"),
     r"privacy_test_v3_5\.lst:1: person 'id0009' has no inference photo in privacy_train_v3_10\.lst"),
    (lambda r: (r / "list" / privacy_commons.TEST_LIST).write_text("privacy/id0001/0.jpg\n"),
     r"privacy_test_v3_5\.lst:1: privacy/id0001/0\.jpg is already listed in privacy_train_v3_10\.lst"),
    (lambda r: (r / "list" / privacy_commons.TEST_LIST).write_text("../outside/x.jpg\n"),
     r"privacy_test_v3_5\.lst:1: '\.\./outside/x\.jpg' must be a path relative to the dataset root, inside it"),
    (lambda r: (r / "list" / privacy_commons.TEST_LIST).unlink(),
     r"privacy_test_v3_5\.lst not found in .* the privacy-commons layout needs the authors' lists"),
])
def test_privacy_commons_malformed_lists_stop_with_file_and_line(tmp_path, cache, edit, message):  # noqa: F811
    root = make_commons(tmp_path / "data")
    edit(root)
    with pytest.raises(BadInput, match=message):
        write_dataset_manifest("privacy-commons", root)
    assert main(["data", "manifest", "privacy-commons", "--root", str(root)]) == 2


def test_data_manifest_help_names_the_new_layouts(capsys):
    with pytest.raises(SystemExit):
        main(["data", "manifest", "--help"])
    out = capsys.readouterr().out
    assert "lfw-1n" in out and "privacy-commons" in out
