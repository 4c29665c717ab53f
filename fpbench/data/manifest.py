"""Dataset manifests: one JSONL file per dataset, validated with line numbers.

Line 1 is a header object, every further line one face::

    {"fpbench_manifest": 1, "name": "mini", "version": "1.0", "description": "...",
     "attributes": ["Male", "Smiling"], "attribute_source": "hand-set", "sources": {...}}
    {"id": "obama", "source": {"package": "pypi:face_recognition==1.3.0", "path": "tests/test_images/obama.jpg"},
     "sha256": "...", "identity": "barack_obama", "role": "source", "split": "test",
     "attributes": {"Male": 1, "Smiling": 1}, "landmarks5": [[x, y], ...], "bbox": [x0, y0, x1, y1]}

``source`` is a path relative to the dataset root, or a file inside a registry package. ``landmarks5`` are in
source-image pixels in the order left eye, right eye, nose tip, left mouth corner, right mouth corner (image
left first). The sha256 of the manifest file is what run cards record.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import atomic_path
from ..errors import BadInput
from .dataset import ROLES

FORMAT_VERSION = 1
RECORD_KEYS = {"id", "source", "sha256", "identity", "role", "split", "attributes", "landmarks5", "bbox"}
REQUIRED = ("id", "source", "identity", "role")


class ManifestError(BadInput):
    """A manifest that does not follow the format; the message names the file and line."""


@dataclass
class Manifest:
    name: str
    header: dict[str, Any]
    rows: list[dict[str, Any]]
    sha256: str = ""
    path: Path | None = None

    @property
    def attributes(self) -> list[str]:
        return list(self.header.get("attributes", []))


def read_manifest(path: str | Path) -> Manifest:
    """Parse and validate a manifest; ``ManifestError`` with "file:line: problem" on the first error."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    raw = path.read_bytes()
    lines = raw.decode("utf-8").splitlines()
    if not lines:
        raise ManifestError(f"{path}:1: empty manifest")
    header = _json(path, 1, lines[0])
    if header.get("fpbench_manifest") != FORMAT_VERSION:
        raise ManifestError(f"{path}:1: header must have \"fpbench_manifest\": {FORMAT_VERSION}")
    for key in ("name", "version"):
        if not header.get(key):
            raise ManifestError(f"{path}:1: header needs {key!r}")
    known_attrs = set(header.get("attributes", []))
    rows, seen = [], set()
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        row = _json(path, n, line)
        _check_row(path, n, row, known_attrs)
        if row["id"] in seen:
            raise ManifestError(f"{path}:{n}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        rows.append(row)
    return Manifest(header["name"], header, rows, hashlib.sha256(raw).hexdigest(), path)


def write_manifest(path: str | Path, header: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """Write a manifest atomically (header first, one compact JSON object per line); returns its sha256."""
    header = {"fpbench_manifest": FORMAT_VERSION, **header}
    text = "\n".join(json.dumps(obj, separators=(", ", ": ")) for obj in [header, *rows]) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def _json(path: Path, n: int, line: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}:{n}: not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ManifestError(f"{path}:{n}: expected a JSON object")
    return obj


def _check_row(path: Path, n: int, row: dict[str, Any], known_attrs: set[str]) -> None:
    where = f"{path}:{n}"
    missing = [k for k in REQUIRED if not row.get(k)]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = set(row) - RECORD_KEYS
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(RECORD_KEYS))}")
    if row["role"] not in ROLES:
        raise ManifestError(f"{where}: role {row['role']!r} is not one of {', '.join(ROLES)}")
    src = row["source"]
    if not isinstance(src, str) and not (isinstance(src, dict) and {"package", "path"} <= set(src)):
        raise ManifestError(f"{where}: source must be a relative path or {{\"package\": ..., \"path\": ...}}")
    for name, value in row.get("attributes", {}).items():
        if name not in known_attrs:
            raise ManifestError(f"{where}: unknown attribute {name!r}; the header declares: {', '.join(sorted(known_attrs)) or 'none'}")
        if value not in (-1, 1):
            raise ManifestError(f"{where}: attribute {name} must be -1 or 1, got {value!r}")
    lm = row.get("landmarks5")
    if lm is not None and (len(lm) != 5 or any(len(p) != 2 for p in lm)):
        raise ManifestError(f"{where}: landmarks5 must be five [x, y] points")
    if lm is not None and lm[0][0] >= lm[1][0]:
        raise ManifestError(f"{where}: landmarks5 must list the image-left eye first (x {lm[0][0]} >= {lm[1][0]})")
