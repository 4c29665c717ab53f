"""The ``mini-pmt`` verification pairs of spec B5.1 for the ``authorise`` protocol on the embedded mini set.

mini has only a few people with two real photos, so [decision, labelled]: x1 ranges over 24 faces (the 11
``source``, 3 ``gallery`` and 2 ``target`` faces, and 8 ``train`` faces: the four that form mini's two
face-api pairs, then four seeded others); each x1 gets one genuine partner - the next real photo of the same
person where one exists (the Obama triple, Einstein twice, the two face-api pairs), else a family-T variant of
x1 itself (rotation 6-10 deg, scale 0.9 / 1.1, Gaussian blur sigma 0.5-1.0, colour-temperature shift, JPEG
q 60-80; seeded by (seed, face id)), a record of role ``synthetic`` - and one impostor partner (a seeded photo
of another person): 48 pairs. Same-photo genuine pairs make verification easier than on real pairs.
"""
from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

from ..cache import atomic_path, json_sha256, subdir
from ..data.dataset import FaceDataset, FaceRecord
from ..images import from_uint8, read_image, to_uint8, write_png
from ..methods.pmt.algorithm import gaussian_blur
from ..transforms.jpeg import pil_jpeg

#: the synthetic genuine partners' role (rows of their pairs carry ``synthetic`` = True)
SYNTHETIC = "synthetic"
TRAIN_FACES = 8


def mini_pmt_pairs(dataset: FaceDataset, seed: int = 0) -> list[tuple[FaceRecord, FaceRecord, int]]:
    """(x1, x2, label) for 24 x1: one genuine pair (real or synthetic partner), then one impostor pair each."""
    records = sorted(dataset.records, key=lambda r: r.id)
    by_identity: dict[str, list[FaceRecord]] = {}
    for r in records:
        by_identity.setdefault(r.identity, []).append(r)
    test = [r for r in records if r.split == "test" and r.role in ("source", "gallery", "target")]
    train = [r for r in records if r.split == "train"]
    paired = [r for r in train if len(by_identity[r.identity]) > 1]
    rest = [r for r in train if r not in paired]
    chosen = paired[:TRAIN_FACES] + random.Random(f"{seed}:mini-pmt").sample(rest, max(0, TRAIN_FACES - len(paired)))
    rng = random.Random(f"{seed}:mini-pmt-impostors")
    genuine, impostor = [], []
    for x1 in test + sorted(chosen, key=lambda r: r.id):
        same = by_identity[x1.identity]
        partner = same[(same.index(x1) + 1) % len(same)] if len(same) > 1 else synthetic_partner(dataset, x1, seed)
        genuine.append((x1, partner, 1))
        others = [r for r in records if r.identity != x1.identity]
        impostor.append((x1, rng.choice(others), 0))
    return genuine + impostor


def family_t(x: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """One family-T variant of a canonical image (1, 3, S, S) (module docstring; spec A5.1's family T)."""
    angle = math.radians(rng.uniform(6, 10) * rng.choice((-1, 1)))
    scale = rng.choice((0.9, 1.1))
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    theta = torch.tensor([[[cos, -sin, 0.0], [sin, cos, 0.0]]], dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    x = gaussian_blur(x, rng.uniform(0.5, 1.0))
    t = rng.uniform(0.03, 0.08) * rng.choice((-1, 1))  # warmer (+) or cooler (-)
    x = (x * torch.tensor([1 + t, 1.0, 1 - t]).view(1, 3, 1, 1)).clamp(0, 1)
    return from_uint8(pil_jpeg(to_uint8(x)[0], rng.randint(60, 80)))


def synthetic_partner(dataset: FaceDataset, x1: FaceRecord, seed: int) -> FaceRecord:
    """A record of role ``synthetic`` for x1's family-T variant at every crop size x1 has (cached PNGs)."""
    crops = {}
    for size, path in sorted(x1.crops.items()):
        key = json_sha256({"face": x1.id, "sha256": x1.sha256, "size": size, "seed": seed, "family": "T-v1"})
        dest = subdir("pmt-pairs", dataset.manifest_sha256[:16]) / f"{key[:24]}.png"
        if not dest.is_file():
            variant = family_t(from_uint8(read_image(path)), random.Random(f"{seed}:{x1.id}"))
            with atomic_path(dest) as tmp:
                write_png(tmp, variant)
        crops[size] = dest
    return FaceRecord(f"{x1.id}~T", x1.identity, SYNTHETIC, "test", crops)
