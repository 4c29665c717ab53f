"""Manifests cannot make fpbench write outside its cache or read outside the dataset root."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from fpbench.data import prepare, read_manifest
from fpbench.data.manifest import ManifestError
from fpbench.data.prepare import dataset_dir
from fpbench.errors import BadInput

LANDMARKS = [[60.0, 80.0], [100.0, 78.0], [80.0, 102.0], [64.0, 124.0], [97.0, 123.0]]


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (160, 180), (200, 160, 140)).save(path)
    return path


def face(face_id: str = "f0", source: object = "img/f0.png") -> dict:
    return {"id": face_id, "source": source, "identity": "p", "role": "source", "landmarks5": LANDMARKS}


def manifest(tmp_path: Path, *rows: dict, name: str = "tiny") -> Path:
    path = tmp_path / "m.jsonl"
    lines = [{"fpbench_manifest": 1, "name": name, "version": "1"}, *rows]
    path.write_text("".join(json.dumps(o) + "\n" for o in lines))
    return path


@pytest.mark.parametrize("face_id", ["../../../escaped", "a/b", "..", ".hidden", "-x", "x" * 201, ["f0"], 7])
def test_ids_that_are_not_file_names_are_refused(tmp_path, fresh_cache, face_id):
    photo(tmp_path / "img" / "f0.png")
    with pytest.raises(ManifestError, match=r"m\.jsonl:2: id .* is not allowed"):
        prepare(read_manifest(manifest(tmp_path, face(face_id))), root=tmp_path)
    assert not list(tmp_path.rglob("escaped*")) and not list(fresh_cache.rglob("escaped*"))


@pytest.mark.parametrize("name", ["../outside", "a/b", "/abs", ".", ["tiny"]])
def test_dataset_names_that_are_not_folder_names_are_refused(tmp_path, fresh_cache, name):
    with pytest.raises(ManifestError, match=r"m\.jsonl:1: dataset name .* is not allowed"):
        read_manifest(manifest(tmp_path, face(), name=name))
    with pytest.raises(BadInput, match="is not allowed"):
        dataset_dir(name)
    assert not (tmp_path / "outside").exists() and not (fresh_cache / "outside").exists()


@pytest.mark.parametrize("source", ["../outside.png", "img/../../outside.png", "/etc/passwd", ["x.png"]])
def test_sources_outside_the_root_are_refused_by_the_manifest(tmp_path, source):
    with pytest.raises(ManifestError, match=r"m\.jsonl:2: source"):
        read_manifest(manifest(tmp_path, face(source=source)))


def test_package_paths_with_dotdot_are_refused(tmp_path):
    key = "pypi:insightface==2.1"
    header = {"fpbench_manifest": 1, "name": "t", "version": "1", "packages": {key: {
        "sha256": "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399", "kind": "wheel"}}}
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(face(source={"package": key, "path": "../../x.png"})) + "\n")
    with pytest.raises(ManifestError, match=r":2: source path '\.\./\.\./x\.png' must be relative"):
        read_manifest(path)


def test_symlinks_out_of_the_root_are_skipped_with_a_reason(tmp_path, fresh_cache):
    root = tmp_path / "root"
    photo(root / "img" / "f0.png")
    secret = photo(tmp_path / "private" / "secret.png")
    (root / "img" / "f1.png").symlink_to(secret)
    (root / "img" / "passwd").symlink_to("/etc/passwd")
    rows = [face("f0"), face("f1", "img/f1.png"), face("f2", "img/passwd")]
    report = prepare(read_manifest(manifest(tmp_path, *rows)), root=root)
    reasons = {p.id: p.reason for p in report.problems}
    assert report.prepared == 1 and set(reasons) == {"f1", "f2"}
    assert all("resolves outside the dataset root" in r for r in reasons.values())
    assert not (dataset_dir("tiny") / "crops" / "112" / "f1.png").exists()


def test_folder_manifest_skips_symlinks_out_of_the_root(tmp_path, fresh_cache):
    from fpbench.data.adapters import write_dataset_manifest

    root = tmp_path / "photos"
    photo(root / "alice.png")
    (root / "bob.png").symlink_to(photo(tmp_path / "private" / "bob.png"))
    written = write_dataset_manifest("folder", root)
    assert [r["id"] for r in written.rows] == ["alice"]
    assert [(s.source, "outside the dataset root" in s.reason) for s in written.skipped] == [("bob.png", True)]


def test_folder_ids_from_unusual_file_names_are_safe(tmp_path, fresh_cache):
    from fpbench.data.adapters import write_dataset_manifest

    root = tmp_path / "photos"
    for name in ("José Ñ.png", "a b.png", "a_b.png", "-dash.png"):
        photo(root / name)
    written = write_dataset_manifest("folder", root)
    ids = sorted(r["id"] for r in written.rows)
    assert ids == ["Jos___", "_-dash", "a_b", "a_b_png"]
    assert len(read_manifest(written.path).rows) == 4  # the manifest it wrote reads back
