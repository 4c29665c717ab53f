"""CelebA-HQ as released with CelebAMask-HQ, with the AMT-GAN / CLIP2Protect impersonation protocol.

Layout::

    ROOT/CelebA-HQ-img/0.jpg ... 29999.jpg
    ROOT/CelebAMask-HQ-attribute-anno.txt   count, 40 CelebA attribute names, then "0.jpg -1 1 ..."
    ROOT/CelebA-HQ-to-CelebA-mapping.txt    "idx orig_idx orig_file" header, then "0 119613 119614.jpg"
    ROOT/identity_CelebA.txt                optional (copied from CelebA): identities of the originals

Protocol: the four target identities of AMT-GAN, which CLIP2Protect reuses (its ``get_target``): for each
a photo given to the method (role ``target``) and another photo of the same person that the papers compare
protected faces with (role ``gallery``), both named by their original CelebA file. Sources: a seeded
choice of 1,000 faces of 1,000 different people (role ``source``, split ``test``), none a target identity.
Every other face whose identity is neither a source's nor a target's has role ``train``. Without
identity_CelebA.txt each photo counts as its own person (the two photos of a target share one identity).
Landmarks come from the face detector when the dataset is prepared.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .celeba import read_attributes
from .common import (Draft, Options, Progress, Skipped, cap, files_in, find_dir, find_file, finish, integer, optional_file,
                     seeded_order, table)

LAYOUT = "celebahq"
SOURCES = 1000
#: (photo given to the method, photo compared with) of AMT-GAN's four targets, as original CelebA files
TARGETS = (("005869.jpg", "008793.jpg"), ("085807.jpg", "047073.jpg"), ("116481.jpg", "055622.jpg"), ("169284.jpg", "166607.jpg"))


def read_mapping(path: Path) -> dict[str, str]:
    """CelebA-HQ index -> original CelebA file name."""
    mapping = {}
    for n, (idx, orig_idx, orig_file) in table(path, 3, skip=1):
        mapping[str(integer(path, n, idx))] = orig_file
        integer(path, n, orig_idx)
    return mapping


def read_identities(path: Path) -> dict[str, str]:
    """identity_CelebA.txt: original CelebA file -> identity number (as text)."""
    return {file: str(integer(path, n, number)) for n, (file, number) in table(path, 2)}


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    images = find_dir(root, "CelebA-HQ-img", LAYOUT)
    attr_names, attributes = read_attributes(find_file(root, "CelebAMask-HQ-attribute-anno.txt", LAYOUT))
    mapping = read_mapping(find_file(root, "CelebA-HQ-to-CelebA-mapping.txt", LAYOUT))
    identity_file = optional_file(root, "identity_CelebA.txt")
    celeba_identity = read_identities(identity_file) if identity_file else None
    present = files_in(images, "*.jpg")

    skipped: list[Skipped] = []
    identity: dict[str, str] = {}
    for idx in sorted(mapping, key=int):
        file, orig = f"{idx}.jpg", mapping[idx]
        if file not in present:
            skipped.append(Skipped(f"CelebA-HQ-img/{file}", "missing file"))
        elif file not in attributes:
            skipped.append(Skipped(f"CelebA-HQ-img/{file}", "no entry in CelebAMask-HQ-attribute-anno.txt"))
        elif celeba_identity is not None and orig not in celeba_identity:
            skipped.append(Skipped(f"CelebA-HQ-img/{file}", f"its original {orig} has no entry in identity_CelebA.txt"))
        else:
            identity[idx] = celeba_identity[orig] if celeba_identity is not None else f"hq{idx}"

    roles, targets = _target_roles(identity, mapping, celeba_identity is None, skipped)
    target_people = {identity[i] for i in roles}
    by_identity: dict[str, list[str]] = {}
    for idx in identity:
        if idx not in roles and identity[idx] not in target_people:
            by_identity.setdefault(identity[idx], []).append(idx)
    people = seeded_order(by_identity, options.seed, "celebahq-source-identity")[:SOURCES]
    roles.update({seeded_order(by_identity[p], options.seed, "celebahq-source-image")[0]: "source" for p in people})
    protocol_people = set(people) | target_people
    train = cap([i for i in identity if i not in roles and identity[i] not in protocol_people],
                options.max_train, options.seed, "celebahq-train")
    roles.update({i: "train" for i in train})

    rows: list[dict[str, Any]] = [{
        "id": idx, "source": f"CelebA-HQ-img/{idx}.jpg", "identity": identity[idx], "role": role,
        "split": "train" if role == "train" else "test", "attributes": dict(zip(attr_names, attributes[f"{idx}.jpg"])),
    } for idx, role in roles.items()]
    header = {
        "description": "CelebA-HQ (CelebAMask-HQ release, your copy) with the AMT-GAN/CLIP2Protect impersonation protocol",
        "attributes": attr_names, "attribute_source": "CelebAMask-HQ annotations (CelebAMask-HQ-attribute-anno.txt)",
        "identity_source": "identity_CelebA.txt" if celeba_identity is not None else "none: each photo its own identity",
        "landmarks": "face detector at prepare time (YuNet)",
        "protocol": {"name": "impersonation-amtgan", "targets": targets, "sources": len(people), "train": len(train),
                     "seed": options.seed, "reference": "AMT-GAN train.py/demo.py targets; CLIP2Protect utils get_target"},
    }
    return Draft(header, finish(root, rows, skipped, progress), skipped)


def _target_roles(identity: dict[str, str], mapping: dict[str, str], own_identities: bool,
                  skipped: list[Skipped]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Roles of the target photos found in the copy; targets with a photo missing are reported and left out."""
    hq_of = {orig: idx for idx, orig in mapping.items()}
    roles, targets = {}, []
    for k, (given, compared) in enumerate(TARGETS, start=1):
        idx = [hq_of.get(given), hq_of.get(compared)]
        absent = [f for f, i in zip((given, compared), idx) if i not in identity]
        if absent:
            skipped.append(Skipped(f"target {k}", f"CelebA {', '.join(absent)} not usable in this copy of CelebA-HQ"))
            continue
        if own_identities:
            identity[idx[0]] = identity[idx[1]] = f"target{k}"
        roles[idx[0]], roles[idx[1]] = "target", "gallery"
        targets.append({"target": idx[0], "compare": idx[1], "celeba_files": f"{given} {compared}", "identity": identity[idx[0]]})
    return roles, targets
