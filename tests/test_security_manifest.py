"""Malformed manifests and hostile images are one-line errors or skipped faces, never tracebacks or aborts."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from fpbench.data import prepare, read_manifest
from fpbench.data.manifest import ManifestError

LANDMARKS = [[60.0, 80.0], [100.0, 78.0], [80.0, 102.0], [64.0, 124.0], [97.0, 123.0]]
HEADER = {"fpbench_manifest": 1, "name": "tiny", "version": "1", "attributes": ["Male"]}


def face(i: int = 0, **changes) -> dict:
    return {"id": f"f{i}", "source": f"img/f{i}.png", "identity": "p", "role": "source", "landmarks5": LANDMARKS,
            **changes}


def manifest(tmp_path: Path, *rows: dict) -> Path:
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in [HEADER, *rows]))
    return path


def bomb_png(path: Path, side: int = 20000) -> Path:
    """A tiny file that declares a side x side PNG (PIL refuses it as a decompression bomb on opening)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.parent.mkdir(parents=True, exist_ok=True)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (160, 180), (200, 160, 140)).save(path)
    return path


@pytest.mark.parametrize("bad, message", [
    (face(1, landmarks5=5), "landmarks5 must be five"),
    (face(1, landmarks5=[[1, "a"]] * 5), "landmarks5 must be five"),
    (face(1, landmarks5=[[1, True]] * 5), "landmarks5 must be five"),
    (face(1, attributes=["Male"]), "attributes must be an object"),
    (face(1, attributes={"Male": True}), "attribute Male must be -1 or 1"),
    (face(1, id=["f1"]), r"id \['f1'\] is not allowed"),
    (face(1, identity=["p"]), "identity must be a string"),
    (face(1, role=["source"]), "role .* is not one of"),
    (face(1, split="holdout"), "split 'holdout' is not one of train, val, test"),
    (face(1, sha256=12), "sha256 must be 64 lowercase hex digits"),
    (face(1, bbox="0 0 1 1"), r"bbox must be \[x0, y0, x1, y1\]"),
    (face(1, source={"package": ["x"], "path": "a.png"}), "package .* is not declared"),
])
def test_wrong_field_types_are_named_by_file_and_line(tmp_path, bad, message):
    with pytest.raises(ManifestError, match=rf"m\.jsonl:3: {message}"):
        read_manifest(manifest(tmp_path, face(0), bad))


@pytest.mark.parametrize("header, message", [
    ({**HEADER, "attributes": "Male"}, "attributes must be a list of names"),
    ({**HEADER, "packages": ["pypi:x==1"]}, "packages must be an object"),
    ({**HEADER, "root": ["/"]}, "root must be a string"),
])
def test_wrong_header_types_are_named_by_line_one(tmp_path, header, message):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(header) + "\n")
    with pytest.raises(ManifestError, match=rf"m\.jsonl:1: {message}"):
        read_manifest(path)


def test_non_utf8_bytes_are_named_by_line(tmp_path):
    path = manifest(tmp_path, face(0))
    path.write_bytes(path.read_bytes() + b'{"id": "caf\xe9"}\n')
    with pytest.raises(ManifestError, match=r"m\.jsonl:3: not UTF-8 text \(byte 0xe9\)"):
        read_manifest(path)


def test_a_decompression_bomb_is_skipped_not_fatal_when_preparing(tmp_path, fresh_cache):
    photo(tmp_path / "img" / "f0.png")
    bomb_png(tmp_path / "img" / "f1.png")
    report = prepare(read_manifest(manifest(tmp_path, face(0), face(1))), root=tmp_path)
    assert report.prepared == 1 and [p.id for p in report.problems] == ["f1"]
    assert "too large to decode safely" in report.problems[0].reason


def test_a_decompression_bomb_is_skipped_not_fatal_when_writing_a_manifest(tmp_path, fresh_cache):
    from fpbench.data.adapters import write_dataset_manifest

    root = tmp_path / "photos"
    photo(root / "alice.png")
    bomb_png(root / "bomb.png")
    (root / "broken.png").write_bytes(b"not a picture")
    written = write_dataset_manifest("folder", root)
    assert [r["id"] for r in written.rows] == ["alice"]
    reasons = {s.source: s.reason for s in written.skipped}
    assert "too large to decode safely" in reasons["bomb.png"]
    assert "broken.png" in reasons["broken.png"] and "BytesIO" not in reasons["broken.png"]


def test_a_corrupt_user_index_leaves_zoo_list_usable(fresh_cache, capsys):
    from fpbench.cli.main import main
    from fpbench.zoo.user import index_path, register_all, user_model

    index_path().write_bytes(b'{"models": {"x": \xff')
    with pytest.warns(UserWarning, match=r"user\.json is unreadable .*delete it and add your weights again"):
        register_all()
    assert user_model("x") is None
    assert main(["zoo", "list"]) == 0
    assert "sface" in capsys.readouterr().out
    index_path().write_text(json.dumps({"models": {"x": {"arch": "iresnet50"}}}))  # a record without its fields
    with pytest.warns(UserWarning, match="unreadable"):
        register_all()
    assert main(["zoo", "list"]) == 0


def test_huge_landmarks_are_refused_not_aligned_with_overflowing_arithmetic(tmp_path):
    huge = [[1e300, 1.0], [2e300, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]]
    with pytest.raises(ManifestError, match=r"m\.jsonl:3: landmarks5 must be five \[x, y\] points \(pixels"):
        read_manifest(manifest(tmp_path, face(0), face(1, landmarks5=huge)))
