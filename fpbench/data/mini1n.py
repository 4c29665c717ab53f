"""``mini-1n-synthetic``: a 1:N identification set built from the mini set's real faces (spec A5.1).

The mini set has one photo of most people, so intra-class variation is made synthetically: each protected
person gets 10 *inference* variants of their photo (family I of ``fpbench.data.variants``, role ``gallery``,
the photos a person mask is made from) and 5 *test* variants (the disjoint family T, role ``probe``); the real
extra photos (obama2, obama3, einstein_tongue) are test photos of their people too. Distractors are every
mini face of the other people plus 4 family-T variants of each. The mini training faces stay in split
``train`` (for methods that learn); they are also distractors (the spec's ~130-face gallery needs them).

Every variant is seeded by (seed, face id, variant), so the build is deterministic. The set is built into the
cache on first use (from the prepared mini set) and rebuilt when the mini manifest or this builder changes.
Its manifest header names the ``identification`` protocol and carries the note "synthetic intra-class
variation" that run cards and tables repeat. Identity is easier than in the paper (a genuine pair is often
two variants of one photo), so rates are not comparable with the paper's; the identify protocol's
``same_photo`` column and the ``top1_real``/``top5_real`` metrics report the real-photo pairs separately.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from ..cache import atomic_path, write_json
from ..errors import BadInput
from ..images import read_image
from .dataset import FaceDataset
from .manifest import Manifest, read_manifest, write_manifest
from .prepare import NotPrepared, crop_paths, dataset_dir, load_prepared
from .variants import apply, draw, variant_rng

BUILDER_VERSION = "2"  # 2: variants computed with one thread (1 depended on the thread count)
NOTE = "synthetic intra-class variation"
#: protected people by default: obama and einstein (the only ones with extra real photos), then the next
#: four mini source faces in manifest order
DEFAULT_PROTECTED = ("obama", "einstein", "biden", "grace_hopper", "takeo", "breakingbad_1")
REAL_EXTRA = ("obama2", "obama3", "einstein_tongue")
N_INFERENCE, N_TEST, N_DISTRACTOR_VARIANTS = 10, 5, 4


def load_mini_1n(identities: str = "default", seed: int = 0, name: str = "mini-1n-synthetic") -> FaceDataset:
    """The built dataset (building it into the cache first if needed)."""
    from . import shipped_manifest

    mini = shipped_manifest("mini")
    try:
        source = load_prepared(mini)
    except NotPrepared:
        raise NotPrepared(f"{name} is built from the mini set, which is not prepared: run `fpbench setup` "
                          "(or `fpbench data prepare mini`)") from None
    header, rows = plan(mini, identities, seed, name, {r.id for r in source.records})
    dest = dataset_dir(name)
    write_manifest(dest / "manifest.jsonl", header, rows)  # the same bytes unless mini or the builder changed
    manifest = read_manifest(dest / "manifest.jsonl")
    if not _built(dest, manifest):
        build(manifest, source)
    return load_prepared(manifest)


def plan(mini: Manifest, identities: str, seed: int, name: str,
         available: set[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Header and rows of the synthetic manifest; each row's ``source`` is its mini parent's, and
    ``variant`` names how the crop is derived: "PARENT/real", or "PARENT/FAMILY/K" (``fpbench.data.variants``)."""
    by_id = {r["id"]: r for r in mini.rows if r["id"] in available}  # faces prepare skipped are left out
    if identities == "default":
        protected = list(DEFAULT_PROTECTED)
    elif identities == "all":
        protected = [r["id"] for r in mini.rows if r["role"] == "source"]
    else:
        raise BadInput(f"identities={identities!r} is not valid for {name}: use 'default' (6 people) or 'all' (11)")
    missing = [i for i in protected if i not in by_id]
    if missing:
        raise BadInput(f"{name} needs the mini faces {', '.join(missing)}, which are not prepared; "
                       "run `fpbench data prepare mini`")
    people = {by_id[i]["identity"] for i in protected}
    rows: list[dict[str, Any]] = []

    def add(parent: str, face_id: str, role: str, variant: str, split: str = "test") -> None:
        p = by_id[parent]
        rows.append({"id": face_id, "source": p["source"], "sha256": p.get("sha256", ""), "identity": p["identity"],
                     "role": role, "split": split, "variant": f"{parent}/{variant}"})

    for face in protected:
        for k in range(N_INFERENCE):
            add(face, f"{face}.i{k}", "gallery", f"I/{k}")
        for k in range(N_TEST):
            add(face, f"{face}.t{k}", "probe", f"T/{k}")
    for face in REAL_EXTRA:
        if face in by_id and by_id[face]["identity"] in people:
            add(face, face, "probe", "real")
    for r in by_id.values():
        if r["identity"] in people:
            continue
        add(r["id"], f"d.{r['id']}", "distractor", "real")
        for k in range(N_DISTRACTOR_VARIANTS):
            add(r["id"], f"d.{r['id']}.t{k}", "distractor", f"T/{k}")
        if r["role"] == "train":
            add(r["id"], f"train.{r['id']}", "train", "real", split="train")
    counts = {role: sum(r["role"] == role for r in rows) for role in ("gallery", "probe", "distractor", "train")}
    header = {
        "name": name, "version": f"{BUILDER_VERSION}+{mini.sha256[:12]}", "note": NOTE,
        "description": f"{NOTE}: 1:N identification set built from the mini set's real faces (spec A5.1); "
                       "role gallery = inference photos, probe = test photos, distractor = other people",
        "protocol": {"name": "identification", "seed": seed, "identities": identities, "protected": protected,
                     **counts},
        "built_from": {"mini": mini.sha256, "builder": BUILDER_VERSION},
        "assumption": "faces of different mini identities are different people; the mini training faces are "
                      "also distractors",
        "packages": mini.header.get("packages", {}),
    }
    return header, rows


def build(manifest: Manifest, source: FaceDataset) -> None:
    """Write every record's crops (the parent's aligned crop, varied) and ``prepared.json``."""
    dest = dataset_dir(manifest.name)
    parents = {r.id: r for r in source.records}
    sizes = sorted(next(iter(source.records)).crops)
    seed = manifest.header["protocol"]["seed"]
    for row in manifest.rows:
        parent_id, _, variant = row["variant"].partition("/")
        parent = parents[parent_id]
        family = variant.split("/")[0]
        for size, out in crop_paths(dest, row["id"], sizes).items():
            crop = read_image(parent.crops[size])
            if family != "real":
                crop = apply(crop, draw(family, variant_rng(seed, parent_id, variant)))
            with atomic_path(out) as tmp:
                Image.fromarray(crop).save(tmp, format="PNG")
    write_json(dest / "prepared.json", {
        "name": manifest.name, "manifest_sha256": manifest.sha256, "manifest_path": str(manifest.path),
        "sizes": sizes, "records": len(manifest.rows), "skipped": [], "crops": {},
    })


def _built(dest: Path, manifest: Manifest) -> bool:
    info = dest / "prepared.json"
    return info.is_file() and json.loads(info.read_text()).get("manifest_sha256") == manifest.sha256
