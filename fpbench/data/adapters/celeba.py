"""CelebA (aligned-and-cropped release) with the OPOM / AdvCloak 1:N identification protocol.

Layout (annotation files at the root or in the archive's Anno/ and Eval/ folders)::

    ROOT/img_align_celeba/000001.jpg ...
    ROOT/list_attr_celeba.txt             count, 40 attribute names, then "000001.jpg -1 1 ..."
    ROOT/identity_CelebA.txt              "000001.jpg 2880"
    ROOT/list_eval_partition.txt          "000001.jpg 0"   (0 train, 1 val, 2 test)
    ROOT/list_landmarks_align_celeba.txt  count, lefteye_x lefteye_y righteye_x ... rightmouth_y, rows

Protocol (as OPOM / AdvCloak build Privacy-Commons, on CelebA's test partition, whose identities appear in
no other partition): a seeded choice of 500 identities with at least 15 test images; per identity a seeded
10 images with role ``gallery`` (the "inference" images a person-specific mask is made from) and 5 with role
``probe`` (the unseen photos it must protect); 10,000 seeded test images of the other identities with role
``distractor``. Train and val partitions have role ``train`` (split ``train`` / ``val``). Test images left
over are not in the manifest, so no face of a protocol identity is ever trained on.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from ...errors import BadInput
from .common import Draft, Options, Progress, Skipped, cap, counted_table, files_in, find_dir, find_file, finish, integer, seeded_order, table

#: CelebA's 40 binary attributes, in the order of its annotation files.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
LANDMARK_COLUMNS = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y".split()
PARTITIONS = {0: "train", 1: "val", 2: "test"}
LAYOUT = "celeba"

IDENTITIES, GALLERY, PROBES, DISTRACTORS = 500, 10, 5, 10_000


def read_attributes(path: Path) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """Attribute names and per-file values (-1 / 1, in the names' order) of a CelebA-style attribute file
    (CelebA's list_attr_celeba.txt, CelebAMask-HQ's attribute file)."""
    names, rows = counted_table(path)
    unknown = [a for a in names if a not in CELEBA_ATTRIBUTES]
    if unknown:
        raise BadInput(f"{path}:2: unknown attribute {unknown[0]!r}; CelebA's attributes are {', '.join(CELEBA_ATTRIBUTES)}")
    return names, {parts[0]: tuple(integer(path, n, v, (-1, 1)) for v in parts[1:]) for n, parts in rows}


def read_landmarks(path: Path) -> dict[str, list[list[int]]]:
    """Five points per file in the manifest's order: image-left eye, image-right eye, nose, left and right mouth.

    CelebA's "lefteye" is the one on the image's left; a row with the eyes the other way round (an
    annotation slip) is put in image order, eyes and mouth corners alike.
    """
    _, rows = counted_table(path, LANDMARK_COLUMNS)
    out = {}
    for n, parts in rows:
        v = [integer(path, n, t) for t in parts[1:]]
        pts = [v[i : i + 2] for i in range(0, 10, 2)]
        if pts[0][0] > pts[1][0]:
            pts = [pts[1], pts[0], pts[2], pts[4], pts[3]]
        out[parts[0]] = pts
    return out


def read_file_values(path: Path, allowed: tuple[int, ...] | None = None) -> dict[str, int]:
    """Two-column "file value" files: identity_CelebA.txt, list_eval_partition.txt."""
    return {file: integer(path, n, value, allowed) for n, (file, value) in table(path, 2)}


def build(root: Path, options: Options, progress: Progress | None = None) -> Draft:
    images = find_dir(root, "img_align_celeba", LAYOUT)
    partition = read_file_values(find_file(root, "list_eval_partition.txt", LAYOUT), tuple(PARTITIONS))
    identity = read_file_values(find_file(root, "identity_CelebA.txt", LAYOUT))
    attr_names, attributes = read_attributes(find_file(root, "list_attr_celeba.txt", LAYOUT))
    landmarks = read_landmarks(find_file(root, "list_landmarks_align_celeba.txt", LAYOUT))
    present = files_in(images, "*.jpg")

    skipped: list[Skipped] = []
    usable = []
    for name in sorted(partition):
        source = f"img_align_celeba/{name}"
        missing = [file for file, entries in (("identity_CelebA.txt", identity), ("list_attr_celeba.txt", attributes),
                                              ("list_landmarks_align_celeba.txt", landmarks)) if name not in entries]
        if name not in present:
            skipped.append(Skipped(source, "missing file"))
        elif missing:
            skipped.append(Skipped(source, f"no entry in {', '.join(missing)}"))
        elif landmarks[name][0][0] == landmarks[name][1][0]:
            skipped.append(Skipped(source, "landmarks put both eyes at the same x"))
        else:
            usable.append(name)

    roles, protocol = _opom_roles([n for n in usable if partition[n] == 2], identity, options.seed)
    train = cap([n for n in usable if partition[n] != 2], options.max_train, options.seed, "celeba-train")
    roles.update({n: "train" for n in train})
    rows: list[dict[str, Any]] = [{
        "id": Path(name).stem, "source": f"img_align_celeba/{name}", "identity": str(identity[name]), "role": role,
        "split": PARTITIONS[partition[name]], "attributes": dict(zip(attr_names, attributes[name])),
        "landmarks5": landmarks[name],
    } for name, role in roles.items()]
    header = {
        "description": "CelebA aligned-and-cropped faces (your copy) with the OPOM/AdvCloak 1:N protocol on its test partition",
        "attributes": attr_names, "attribute_source": "CelebA annotations (list_attr_celeba.txt)",
        "landmarks": "CelebA list_landmarks_align_celeba.txt (lefteye = image-left)",
        "protocol": {"name": "opom-1toN", **protocol, "train": len(train), "seed": options.seed},
    }
    return Draft(header, finish(root, rows, skipped, progress), skipped)


def _opom_roles(test: list[str], identity: dict[str, int], seed: int) -> tuple[dict[str, str], dict[str, Any]]:
    by_identity: dict[int, list[str]] = defaultdict(list)
    for name in test:
        by_identity[identity[name]].append(name)
    eligible = [str(i) for i, names in by_identity.items() if len(names) >= GALLERY + PROBES]
    chosen = {int(i) for i in seeded_order(eligible, seed, "opom-identity")[:IDENTITIES]}
    roles = {}
    for i in sorted(chosen):
        order = seeded_order(by_identity[i], seed, "opom-image")
        roles.update({n: "gallery" for n in order[:GALLERY]})
        roles.update({n: "probe" for n in order[GALLERY : GALLERY + PROBES]})
    others = [n for i, names in by_identity.items() if i not in chosen for n in names]
    roles.update({n: "distractor" for n in seeded_order(others, seed, "opom-distractor")[:DISTRACTORS]})
    return roles, {"identities": len(chosen), "gallery_per_identity": GALLERY, "probes_per_identity": PROBES,
                   "distractors": min(DISTRACTORS, len(others))}

