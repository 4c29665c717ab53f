"""Privacy-Commons from the authors' lists (OPOM / AdvCloak evaluation data), if you have them.

Layout: the authors' ``data/`` folder (``query_image_dir`` and ``gallery_noise_dir`` of their
``test_common.sh``), the lists at its top or in ``list/``::

    ROOT/privacy_train_v3_10.lst   one relative path per line: the 10 inference photos of each person
    ROOT/privacy_test_v3_5.lst     one relative path per line: the 5 test photos of each person
    ROOT/common_distractor.lst     MegaFace-2 distractor lines "<x> <path>"; the first 10,000 are used (--lenth)

Paths are relative to ROOT; a photo's person is its folder (``<set>/<person>/<file>``). Roles: inference
photos ``gallery``, test photos ``probe``, distractors ``distractor`` (all split ``test``), as the celeba
adapter writes them. The photos are the authors' 112 x 112 ArcFace-aligned crops, so their landmarks are the
ArcFace template (scaled to the image size); no detector runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from ...errors import BadInput
from ...images import arcface_template
from .common import Draft, Options, Progress, Skipped, fields, finish
from .folder import face_id_of

LAYOUT = "privacy-commons"
INFERENCE_LIST, TEST_LIST, DISTRACTOR_LIST = "privacy_train_v3_10.lst", "privacy_test_v3_5.lst", "common_distractor.lst"
DISTRACTORS = 10_000


def find_list(root: Path, name: str) -> Path:
    for folder in (root, root / "list"):
        if (folder / name).is_file():
            return folder / name
    raise BadInput(f"{name} not found in {root} (nor in {root / 'list'}); the {LAYOUT} layout needs the authors' lists")


def read_list(path: Path, distractors: bool = False, limit: int | None = None) -> list[tuple[int, str]]:
    """(line number, relative path) of a list: one path per line, or ``<x> <path>`` for MF2 distractors."""
    out = []
    for n, parts in fields(path):
        if len(parts) != (2 if distractors else 1):
            expected = "'<x> <path>' (MF2 distractor line)" if distractors else "one relative path"
            raise BadInput(f"{path}:{n}: expected {expected}, got {len(parts)} fields")
        rel = parts[-1]
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise BadInput(f"{path}:{n}: {rel!r} must be a path relative to the dataset root, inside it")
        if not distractors and len(Path(rel).parts) < 2:
            raise BadInput(f"{path}:{n}: {rel!r} has no folder naming its person (<set>/<person>/<file>)")
        out.append((n, rel))
        if limit is not None and len(out) == limit:
            break
    if not out:
        raise BadInput(f"{path} lists no photos")
    return out


def person(rel: str) -> str:
    return Path(rel).parent.name


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    lists = {name: find_list(root, name) for name in (INFERENCE_LIST, TEST_LIST, DISTRACTOR_LIST)}
    inference = read_list(lists[INFERENCE_LIST])
    test = read_list(lists[TEST_LIST])
    distractors = read_list(lists[DISTRACTOR_LIST], distractors=True, limit=DISTRACTORS)
    have_inference = {person(rel) for _, rel in inference}
    seen: dict[str, str] = {}  # path -> the list naming it
    ids: dict[str, str] = {}  # face id -> path
    rows: list[dict[str, Any]] = []
    for name, entries, role in ((INFERENCE_LIST, inference, "gallery"), (TEST_LIST, test, "probe"),
                                (DISTRACTOR_LIST, distractors, "distractor")):
        for n, rel in entries:
            if rel in seen:
                raise BadInput(f"{lists[name]}:{n}: {rel} is already listed in {seen[rel]}; inference, test and "
                               "distractor photos must be disjoint")
            seen[rel] = name
            if role == "probe" and person(rel) not in have_inference:
                raise BadInput(f"{lists[name]}:{n}: person {person(rel)!r} has no inference photo in {INFERENCE_LIST}")
            identity = person(rel) if role != "distractor" else f"distractor.{person(rel) or Path(rel).stem}"
            face_id = face_id_of(Path(rel))
            if face_id in ids:
                raise BadInput(f"{lists[name]}:{n}: {rel} and {ids[face_id]} give the same face id {face_id!r}")
            ids[face_id] = rel
            rows.append({"id": face_id, "source": rel, "identity": identity, "role": role, "split": "test"})
    skipped: list[Skipped] = []
    rows = finish(root, rows, skipped, progress)
    for row in rows:
        with Image.open(root / row["source"]) as im:
            width, height = im.size
        row["landmarks5"] = (arcface_template(112) * [width / 112, height / 112]).round(4).tolist()
    roles = {role: sum(r["role"] == role for r in rows) for role in ("gallery", "probe", "distractor")}
    header = {
        "description": "Privacy-Commons (OPOM / AdvCloak), your copy of the authors' lists: 10 inference (gallery) "
                       "+ 5 test (probe) photos per person, MegaFace-2 distractors",
        "attributes": [], "attribute_source": "none",
        "landmarks": "ArcFace template: the authors' photos are already 112 x 112 aligned crops",
        "protocol": {"name": "privacy-commons", "identities": len({r["identity"] for r in rows if r["role"] == "probe"}),
                     **roles, "distractor_lines_used": len(distractors), "lists": list(lists)},
    }
    return Draft(header, rows, skipped)
