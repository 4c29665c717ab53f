"""Any folder of photos: one identity per subfolder (``ROOT/alice/1.jpg``), else one per file (``ROOT/alice.jpg``).

``build`` writes a manifest whose landmarks come from the face detector at prepare time (its largest face
per photo); ``align_folder`` detects every face now and writes the aligned crops next to the manifest. Every
face has role ``source`` (split ``test``): these are the photos to protect. In a photo with several faces
the largest carries the photo's identity and the others are unnamed people of their own.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

from ...cache import atomic_path, file_sha256
from ...errors import BadInput
from ...images import ImageError, read_image
from ..align import align_face
from ..detect import FaceDetector
from ..prepare import inside_root
from .common import Draft, Options, Progress, Skipped, finish

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".pgm", ".tif", ".tiff"}
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_.+-]")  # see manifest.ID_PATTERN


def face_id_of(rel: Path) -> str:
    """A face id from a photo's path under the root: folders joined by ``__``, other characters than
    letters, digits, ``_.+-`` replaced by ``_`` (ids name crop files)."""
    base = _NOT_IN_ID.sub("_", rel.with_suffix("").as_posix().replace("/", "__"))[:180]
    return base if base[:1].isalnum() or base[:1] == "_" else f"_{base}"


def scan(root: Path, exclude: Path | None = None) -> list[tuple[str, str, str]]:
    """(id, source relative to ``root``, identity) of every image file, hidden files and ``exclude`` left out."""
    if not root.is_dir():
        raise BadInput(f"{root} is not a folder")
    found, taken = [], set()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.suffix.lower() not in IMAGE_SUFFIXES or any(p.startswith(".") for p in rel.parts) or not path.is_file():
            continue
        if exclude is not None and path.resolve().is_relative_to(exclude.resolve()):
            continue
        base = face_id_of(rel)
        face_id = base if base not in taken else f"{base}{path.suffix.lower().replace('.', '_')}"
        n = 1
        while face_id in taken:
            n += 1
            face_id = f"{base}_{n}"
        taken.add(face_id)
        found.append((face_id, rel.as_posix(), rel.parts[0] if len(rel.parts) > 1 else rel.stem))
    if not found:
        raise BadInput(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {root}")
    return found


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    rows: list[dict[str, Any]] = [{"id": i, "source": src, "identity": who, "role": "source", "split": "test"}
                                  for i, src, who in scan(root)]
    skipped: list[Skipped] = []
    header = {"description": f"photos from {root.name}/ (identity: subfolder, else file name)",
              "attributes": [], "attribute_source": "none", "landmarks": "face detector at prepare time (YuNet)"}
    return Draft(header, finish(root, rows, skipped, progress), skipped)


def align_folder(src: Path, out: Path, detector: FaceDetector, sizes: Iterable[int], progress: Progress | None = None) -> Draft:
    """Detect and align every face under ``src`` into ``out/<size>/<id>.png``; the manifest rows keep the landmarks."""
    files = scan(src, exclude=out)
    rows: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    for n, (base, rel, identity) in enumerate(files, start=1):
        try:
            rows += _align_photo(src, rel, base, identity, out, detector, tuple(sizes))
        except ImageError as e:
            skipped.append(Skipped(rel, f"not a readable image ({e})"))
        except ValueError as e:
            skipped.append(Skipped(rel, str(e)))
        if progress:
            progress(n, len(files))
    header = {"description": f"faces found in {src.name}/ (identity: subfolder, else file name)",
              "attributes": [], "attribute_source": "none", "landmarks": "YuNet face detector (fpbench data align)"}
    return Draft(header, rows, skipped)


def _align_photo(src: Path, rel: str, base: str, identity: str, out: Path, detector: FaceDetector,
                 sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    path = inside_root(src, rel)
    image = read_image(path)
    faces = detector.detect_all(image)
    if not faces:
        raise ValueError("no face found")
    sha, rows = file_sha256(path), []
    for k, face in enumerate(faces):
        face_id = base if k == 0 else f"{base}_face{k + 1}"
        landmarks = np.round(face.landmarks5, 2)  # as stored, so `fpbench data prepare` makes the same crops
        for size in sizes:
            with atomic_path(out / str(size) / f"{face_id}.png") as tmp:
                Image.fromarray(align_face(image, landmarks, size)).save(tmp, format="PNG")
        rows.append({"id": face_id, "source": rel, "sha256": sha, "identity": identity if k == 0 else face_id,
                     "role": "source", "split": "test", "landmarks5": landmarks.tolist(),
                     "bbox": [round(v, 1) for v in face.bbox]})
    return rows
