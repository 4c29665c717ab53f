"""FFHQ (1024x1024 PNGs): no identities, so every photo is its own person.

Layout::

    ROOT/images1024x1024/00000/00000.png ... ROOT/images1024x1024/69000/69999.png

FFHQ's own alignment (eyes and mouth to fixed points of a wide crop) is not the ArcFace crop, so landmarks
come from the face detector when the dataset is prepared. Protocol (ErasableMask evaluates on FFHQ): a
seeded choice of 4 photos with role ``target`` and 1,000 others with role ``source`` (split ``test``); all
remaining photos have role ``train``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import BadInput
from .common import Draft, Options, Progress, Skipped, cap, files_in, find_dir, finish, seeded_order

LAYOUT = "ffhq"
TARGETS, SOURCES = 4, 1000


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    images = find_dir(root, "images1024x1024", LAYOUT)
    present = {Path(rel).stem: f"images1024x1024/{rel}" for rel in files_in(images, "*/*.png")}
    if not present:
        raise BadInput(f"no PNG files in {images}/<folder>/; the ffhq layout is images1024x1024/00000/00000.png")
    order = seeded_order(present, options.seed, "ffhq-protocol")
    roles = {i: "target" for i in order[:TARGETS]}
    roles.update({i: "source" for i in order[TARGETS : TARGETS + SOURCES]})
    train = cap(order[TARGETS + SOURCES :], options.max_train, options.seed, "ffhq-train")
    roles.update({i: "train" for i in train})
    rows: list[dict[str, Any]] = [{
        "id": i, "source": present[i], "identity": i, "role": role, "split": "train" if role == "train" else "test",
    } for i, role in roles.items()]
    skipped: list[Skipped] = []
    header = {
        "description": "FFHQ (your copy): every photo its own identity; seeded impersonation targets and sources",
        "attributes": [], "attribute_source": "none", "identity_source": "none: each photo its own identity",
        "landmarks": "face detector at prepare time (YuNet)",
        "protocol": {"name": "ffhq-seeded", "targets": sum(r == "target" for r in roles.values()),
                     "sources": sum(r == "source" for r in roles.values()), "train": len(train), "seed": options.seed},
    }
    return Draft(header, finish(root, rows, skipped, progress), skipped)
