"""The manifest format (validation with line numbers) and preparation into aligned crops, on synthetic faces."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fpbench.data import load_prepared, prepare, read_manifest, shipped_manifest
from fpbench.data.manifest import ManifestError, write_manifest
from fpbench.data.prepare import NotPrepared
from fpbench.errors import BadInput
from fpbench.images import ARCFACE_TEMPLATE_112, read_image

EYE = (20, 20, 20)
SKIN = (224, 172, 140)


def face_photo(width: int, height: int, landmarks, seed: int = 0) -> Image.Image:
    """A face-like drawing: skin oval, dark eyes on the first two landmarks, nose dot, mouth line."""
    rng = np.random.default_rng(seed)
    lm = np.asarray(landmarks, dtype=float)
    iod = lm[1, 0] - lm[0, 0]
    image = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(120, 200, 3)))
    draw = ImageDraw.Draw(image)
    cx = lm[:2, 0].mean()
    draw.ellipse([cx - 1.1 * iod, lm[0, 1] - 1.0 * iod, cx + 1.1 * iod, lm[3, 1] + 0.8 * iod], fill=SKIN)
    r = 0.14 * iod
    for x, y in lm[:2]:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=EYE)
    draw.ellipse([lm[2, 0] - r / 2, lm[2, 1] - r / 2, lm[2, 0] + r / 2, lm[2, 1] + r / 2], fill=(150, 90, 80))
    draw.line([tuple(lm[3]), tuple(lm[4])], fill=(160, 40, 50), width=max(1, int(r / 2)))
    return image


LANDMARKS = [[60.0, 80.0], [100.0, 78.0], [80.0, 102.0], [64.0, 124.0], [97.0, 123.0]]
HEADER = {"name": "tiny", "version": "1.0", "attributes": ["Male", "Smiling"]}


def row(i: int, **changes) -> dict:
    base = {"id": f"f{i}", "source": f"img/f{i}.png", "identity": f"p{i % 2}", "role": "source", "split": "test",
            "attributes": {"Male": 1, "Smiling": -1}, "landmarks5": LANDMARKS}
    return {**base, **changes}


def write_lines(path: Path, objs: list) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))
    return path


def manifest_file(tmp_path: Path, *rows: dict, header: dict | None = None) -> Path:
    return write_lines(tmp_path / "m.jsonl", [{"fpbench_manifest": 1, **(header or HEADER)}, *rows])


@pytest.mark.parametrize("header, message", [
    ({"name": "x", "version": "1"}, 'header must have "fpbench_manifest": 1'),
    ({"fpbench_manifest": 2, "name": "x", "version": "1"}, 'header must have "fpbench_manifest": 1'),
    ({"fpbench_manifest": 1, "version": "1"}, "header needs 'name'"),
    ({"fpbench_manifest": 1, "name": "x"}, "header needs 'version'"),
])
def test_header_checks_name_line_one(tmp_path, header, message):
    path = write_lines(tmp_path / "m.jsonl", [header])
    with pytest.raises(ManifestError, match=rf"m\.jsonl:1: .*{message}"):
        read_manifest(path)


def test_empty_and_absent_manifests(tmp_path):
    with pytest.raises(ManifestError, match="empty manifest"):
        read_manifest(write_lines(tmp_path / "m.jsonl", []))
    with pytest.raises(ManifestError, match="does not exist"):
        read_manifest(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("bad, message", [
    ("{not json", r":3: not valid JSON"),
    ("[1, 2]", r":3: expected a JSON object"),
    (row(0), r":3: duplicate id 'f0'"),
    (row(1, role="victim"), r":3: role 'victim' is not one of source, target"),
    ({k: v for k, v in row(1).items() if k != "identity"}, r":3: missing field\(s\) identity"),
    (row(1, colour="blue"), r":3: unknown field\(s\) colour"),
    (row(1, attributes={"Bald": 1}), r":3: unknown attribute 'Bald'; the header declares: Male, Smiling"),
    (row(1, attributes={"Male": 0}), r":3: attribute Male must be -1 or 1"),
    (row(1, landmarks5=LANDMARKS[:4]), r":3: landmarks5 must be five \[x, y\] points"),
    (row(1, landmarks5=[LANDMARKS[1], LANDMARKS[0], *LANDMARKS[2:]]), r":3: landmarks5 must list the image-left eye first"),
    (row(1, source={"package": "pypi:x==1"}), r":3: source must be a relative path or"),
])
def test_bad_rows_are_named_by_line(tmp_path, bad, message):
    with pytest.raises(ManifestError, match=message):
        read_manifest(manifest_file(tmp_path, row(0), bad))


def test_blank_lines_are_skipped_and_sha_is_of_the_bytes(tmp_path):
    path = tmp_path / "m.jsonl"
    sha = write_manifest(path, HEADER, [row(0), row(1)])
    assert read_manifest(path).sha256 == sha
    path.write_text(path.read_text() + "\n")
    m = read_manifest(path)
    assert [r["id"] for r in m.rows] == ["f0", "f1"] and m.attributes == ["Male", "Smiling"]
    assert m.sha256 != sha


def test_shipped_mini_manifest_is_valid():
    mini = shipped_manifest("mini")
    assert len(mini.rows) == 35 and {r["role"] for r in mini.rows} >= {"source", "target", "train"}


def _photos(root: Path, n: int) -> None:
    (root / "img").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        face_photo(160, 180, LANDMARKS, seed=i).save(root / "img" / f"f{i}.png")


def _tiny(tmp_path: Path, rows: list[dict], name: str = "tiny"):
    path = tmp_path / f"{name}.jsonl"
    write_manifest(path, {**HEADER, "name": name}, rows)
    return read_manifest(path)


def test_prepare_and_load_round_trip(tmp_path, fresh_cache):
    _photos(tmp_path, 3)
    manifest = _tiny(tmp_path, [row(i) for i in range(3)])
    with pytest.raises(NotPrepared, match="fpbench data prepare tiny"):
        load_prepared(manifest)
    report = prepare(manifest, root=tmp_path)
    assert (report.prepared, report.reused, report.problems) == (3, 0, [])
    dataset = load_prepared(manifest)
    assert dataset.manifest_sha256 == manifest.sha256 and [r.identity for r in dataset.records] == ["p0", "p1", "p0"]
    batch = dataset.images(dataset.records, 112)
    assert batch.shape == (3, 3, 112, 112) and 0 <= batch.min() and batch.max() <= 1
    crop = read_image(dataset.records[0].crops[112])
    for x, y in ARCFACE_TEMPLATE_112[:2]:  # the drawn eyes land on the template's eyes
        assert crop[round(y), round(x)].max() < 60
    assert read_image(dataset.records[0].crops[256]).shape == (256, 256, 3)
    assert prepare(manifest, root=tmp_path).reused == 3


def test_changed_landmarks_re_prepare_only_that_face(tmp_path, fresh_cache):
    _photos(tmp_path, 3)
    prepare(_tiny(tmp_path, [row(i) for i in range(3)]), root=tmp_path)
    old = read_image(fresh_cache / "data" / "tiny" / "crops" / "112" / "f1.png")
    moved = [[x + 6, y] for x, y in LANDMARKS]
    manifest = _tiny(tmp_path, [row(0), row(1, landmarks5=moved), row(2)])
    with pytest.raises(NotPrepared, match="another version of its manifest"):
        load_prepared(manifest)
    report = prepare(manifest, root=tmp_path)
    assert (report.prepared, report.reused) == (1, 2)
    assert not np.array_equal(old, read_image(load_prepared(manifest).by_id(["f1"])[0].crops[112]))


def test_missing_corrupt_and_changed_files_are_reported_and_skipped(tmp_path, fresh_cache):
    _photos(tmp_path, 3)
    (tmp_path / "img" / "f1.png").write_bytes(b"not a picture")
    rows = [row(0, sha256="0" * 64), row(1), row(2), row(3)]
    report = prepare(_tiny(tmp_path, rows), root=tmp_path)
    reasons = {p.id: p.reason for p in report.problems}
    assert report.prepared == 1 and set(reasons) == {"f0", "f1", "f3"}
    assert "sha256 of f0.png differs" in reasons["f0"] and "cannot read image" in reasons["f1"]
    assert "missing file" in reasons["f3"]
    assert [r.id for r in load_prepared(_tiny(tmp_path, rows)).records] == ["f2"]


def test_relative_sources_need_a_root(tmp_path, fresh_cache):
    with pytest.raises(BadInput, match="a path source needs the dataset root"):
        prepare(_tiny(tmp_path, [row(0)]))
