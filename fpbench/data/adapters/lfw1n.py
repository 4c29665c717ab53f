"""``lfw-1n``: a 1:N identification set from your LFW copy, like AdvCloak's Privacy-Celebrities (spec A5.1).

Layout: the lfw adapter's image tree, ``ROOT/lfw/<Name>/<Name>_0001.jpg`` (``pairs.txt`` is not needed).

Protocol: every person with at least 12 photos is protected; a seeded 10 of their photos have role
``gallery`` (the inference photos a person-specific mask is made from) and the others role ``probe`` (the
test photos it must protect; at least 2, so every person has probe/genuine pairs). Every person with a
single photo is a ``distractor``. People with 2 to 11 photos are left out (the header counts them): they are
neither protected nor distractors, so no distractor is ever another photo of a protected person.
Landmarks come from the face detector when the dataset is prepared, as for ``lfw``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import BadInput
from . import lfw
from .common import Draft, Options, Progress, Skipped, find_dir, finish, seeded_order

MIN_PHOTOS, INFERENCE = 12, 10


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    present = lfw.photos(find_dir(root, "lfw", lfw.LAYOUT))
    people = lfw.people(present)
    protected = [p for p, ids in people.items() if len(ids) >= MIN_PHOTOS]
    if not protected:
        raise BadInput(f"{root / 'lfw'} has no person with {MIN_PHOTOS} or more photos: lfw-1n protects those "
                       f"({INFERENCE} inference photos + the rest as test photos)")
    rows: list[dict[str, Any]] = []
    for person in protected:
        order = seeded_order(people[person], options.seed, "lfw-1n-inference")
        rows += [{"id": i, "source": present[i], "identity": person, "split": "test",
                  "role": "gallery" if k < INFERENCE else "probe"} for k, i in enumerate(order)]
    singles = [ids[0] for ids in people.values() if len(ids) == 1]
    rows += [{"id": i, "source": present[i], "identity": i.rsplit("_", 1)[0], "role": "distractor", "split": "test"}
             for i in singles]
    skipped: list[Skipped] = []
    rows = finish(root, rows, skipped, progress)
    roles = {role: sum(r["role"] == role for r in rows) for role in ("gallery", "probe", "distractor")}
    header = {
        "description": "LFW (your copy) as a 1:N identification set like AdvCloak's Privacy-Celebrities: people "
                       f"with >= {MIN_PHOTOS} photos protected ({INFERENCE} inference photos, role gallery; the rest "
                       "test photos, role probe), people with one photo as distractors",
        "attributes": [], "attribute_source": "none",
        "landmarks": "face detector at prepare time (YuNet)",
        "protocol": {"name": "identification", "identities": len(protected), "inference_per_identity": INFERENCE,
                     "min_photos": MIN_PHOTOS, **roles,
                     "left_out_people": sum(1 < len(ids) < MIN_PHOTOS for ids in people.values()),
                     "seed": options.seed},
    }
    return Draft(header, rows, skipped)
