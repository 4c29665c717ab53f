"""LFW with its 10-fold verification pairs (for calibration) and a dodging protocol.

Layout::

    ROOT/lfw/<Name>/<Name>_0001.jpg ...
    ROOT/pairs.txt    "10 300", then per fold 300 matched "Name i j" and 300 mismatched "Name1 i Name2 j"
    ROOT/people.txt   optional: "10", then per fold a count and "Name n" lines (checks the copy is complete)

The pairs go into the manifest header as ``{"pairs": [[id_a, id_b, same], ...], "folds": [[start, end],
...]}`` (pairs fold by fold; pairs with an image missing from the copy are left out and reported).
Roles: for every person with two or more photos the first one (``_0001``) is a ``source`` and the others
``gallery`` (the genuine references a dodging run compares with); people with one photo are
``distractor``. Landmarks come from the face detector when the dataset is prepared.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

from ...errors import BadInput
from .common import Draft, Options, Progress, Skipped, fields, files_in, find_dir, find_file, finish, integer, optional_file

LAYOUT = "lfw"


def image_id(name: str, number: int) -> str:
    return f"{name}_{number:04d}"


def read_pairs(path: Path) -> tuple[list[tuple[str, str, bool, int]], int]:
    """(id_a, id_b, same, fold) of every pair in file order, and the number of folds."""
    lines = fields(path)
    first = next(lines, None)
    if first is None or first[0] != 1 or len(first[1]) not in (1, 2):
        raise BadInput(f"{path}:1: expected the number of folds and of pairs per fold, e.g. '10 300'")
    values = [integer(path, 1, v) for v in first[1]]
    folds, per_fold = values if len(values) == 2 else (1, values[0])
    if min(folds, per_fold) < 1:
        raise BadInput(f"{path}:1: the numbers of folds and of pairs per fold must be positive")
    pairs = []
    for n, parts in lines:
        fold = len(pairs) // (2 * per_fold)
        if len(parts) == 3:
            pairs.append((image_id(parts[0], integer(path, n, parts[1])), image_id(parts[0], integer(path, n, parts[2])), True, fold))
        elif len(parts) == 4:
            pairs.append((image_id(parts[0], integer(path, n, parts[1])), image_id(parts[2], integer(path, n, parts[3])), False, fold))
        else:
            raise BadInput(f"{path}:{n}: expected 'Name i j' (same person) or 'Name1 i Name2 j', got {len(parts)} fields")
    if len(pairs) != 2 * folds * per_fold:
        raise BadInput(f"{path}:1: declares {folds} folds of {per_fold}+{per_fold} pairs but the file has {len(pairs)} pairs")
    return pairs, folds


def read_people(path: Path) -> dict[str, int]:
    """Name -> number of photos, from people.txt."""
    lines = fields(path)
    n, parts = next(lines, (1, []))
    if len(parts) != 1:
        raise BadInput(f"{path}:{n}: expected the number of folds")
    people = {}
    for _ in range(integer(path, n, parts[0])):
        n, parts = next(lines, (n + 1, []))
        if len(parts) != 1:
            raise BadInput(f"{path}:{n}: expected the number of people in the next fold")
        for _ in range(integer(path, n, parts[0])):
            n, parts = next(lines, (n + 1, []))
            if len(parts) != 2:
                raise BadInput(f"{path}:{n}: expected 'Name count'")
            people[parts[0]] = integer(path, n, parts[1])
    extra = next(lines, None)
    if extra is not None:
        raise BadInput(f"{path}:{extra[0]}: more lines than the folds at the top declare")
    return people


def photos(images: Path) -> dict[str, str]:
    """Image id (``Name_0001``) -> source path relative to the root (``lfw/Name/Name_0001.jpg``) of every photo."""
    return {Path(rel).stem: f"lfw/{rel}" for rel in files_in(images, "*/*.jpg")}


def people(present: dict[str, str]) -> dict[str, list[str]]:
    """Person (folder name) -> their image ids, sorted, from ``photos``."""
    by_person: dict[str, list[str]] = defaultdict(list)
    for i, rel in present.items():
        by_person[rel.split("/")[1]].append(i)
    return {person: sorted(ids) for person, ids in sorted(by_person.items())}


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    images = find_dir(root, "lfw", LAYOUT)
    pairs, n_folds = read_pairs(find_file(root, "pairs.txt", LAYOUT))
    people_file = optional_file(root, "people.txt")
    present = photos(images)

    expected = {}
    if people_file:
        expected = {image_id(name, k): name for name, count in read_people(people_file).items() for k in range(1, count + 1)}
    expected.update({i: i.rsplit("_", 1)[0] for a, b, _, _ in pairs for i in (a, b)})
    skipped = [Skipped(f"lfw/{name}/{i}.jpg", "missing file") for i, name in sorted(expected.items()) if i not in present]

    rows: list[dict[str, Any]] = []
    for person, ids in people(present).items():
        for k, i in enumerate(ids):
            role = "distractor" if len(ids) == 1 else "source" if k == 0 else "gallery"
            rows.append({"id": i, "source": present[i], "identity": person, "role": role, "split": "test"})
    rows = finish(root, rows, skipped, progress)

    usable = {r["id"] for r in rows}
    kept = [(a, b, same, fold) for a, b, same, fold in pairs if a in usable and b in usable]
    sizes = [sum(p[3] == f for p in kept) for f in range(n_folds)]
    folds = [[end - size, end] for size, end in zip(sizes, itertools.accumulate(sizes))]
    header = {
        "description": "LFW (your copy): 10-fold verification pairs for calibration; dodging with genuine references",
        "attributes": [], "attribute_source": "none",
        "landmarks": "face detector at prepare time (YuNet)",
        "protocol": {"name": "lfw-dodging", "sources": sum(r["role"] == "source" for r in rows),
                     "pairs": len(kept), "pairs_dropped": len(pairs) - len(kept)},
        "pairs": [[a, b, same] for a, b, same, _ in kept], "folds": folds,
    }
    return Draft(header, rows, skipped)
