"""Seeded synthetic variants of one aligned face crop (spec A5.1: ``mini-1n-synthetic``).

Two disjoint families of label-preserving changes: family ``I`` (inference photos: flip, +-4 px shift, scale
0.95-1.05, rotation +-5 deg, brightness/contrast +-10 %, gamma 0.9-1.1) and family ``T`` (test photos and
distractor variants: rotation 6-10 deg, scale 0.9 or 1.1, Gaussian blur sigma 0.5-1.0, colour-temperature
shift, JPEG quality 60-80). Each variant draws all of its family's parameters from a generator seeded by the
hash of (seed, face id, variant name), so a variant is the same on every machine and run. Pixel amounts are
given at 112 px and scaled with the crop size.
"""
from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from ..threads import fixed_threads

FAMILIES = ("I", "T")
BASE = 112  # crop size the pixel amounts are given at


@dataclass(frozen=True)
class VariantParams:
    """What one variant does (identity values where a family leaves a change out)."""

    flip: bool = False
    shift: tuple[float, float] = (0.0, 0.0)  # px at 112
    scale: float = 1.0
    rotation: float = 0.0  # degrees
    brightness: float = 1.0
    contrast: float = 1.0
    gamma: float = 1.0
    blur: float = 0.0  # Gaussian sigma, px at 112
    temperature: float = 0.0  # + warmer (more red, less blue)
    jpeg: int | None = None  # quality


def variant_rng(seed: int, face_id: str, variant: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\x00{face_id}\x00{variant}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def draw(family: str, rng: np.random.Generator) -> VariantParams:
    """The parameters of one variant of ``family`` ("I" or "T")."""
    if family == "I":
        return VariantParams(flip=bool(rng.random() < 0.5), shift=tuple(rng.uniform(-4, 4, 2)),
                             scale=float(rng.uniform(0.95, 1.05)), rotation=float(rng.uniform(-5, 5)),
                             brightness=float(rng.uniform(0.9, 1.1)), contrast=float(rng.uniform(0.9, 1.1)),
                             gamma=float(rng.uniform(0.9, 1.1)))
    if family == "T":
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return VariantParams(rotation=sign * float(rng.uniform(6, 10)), scale=float(rng.choice([0.9, 1.1])),
                             blur=float(rng.uniform(0.5, 1.0)), temperature=float(rng.uniform(-0.08, 0.08)),
                             jpeg=int(rng.integers(60, 81)))
    raise ValueError(f"unknown variant family {family!r}; known: {', '.join(FAMILIES)}")


def apply(crop: np.ndarray, p: VariantParams) -> np.ndarray:
    """The variant (H, W, 3) uint8 of an aligned crop (H, W, 3) uint8: the same bytes on every machine and thread
    count (computed with one thread: the warp and the mean split their sums by thread)."""
    with fixed_threads(1):
        return _apply(crop, p)


def _apply(crop: np.ndarray, p: VariantParams) -> np.ndarray:
    size = crop.shape[0]
    x = torch.from_numpy(np.ascontiguousarray(crop).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    if p.flip:
        x = x.flip(-1)
    x = _warp(x, p, size / BASE)
    x = ((x * p.brightness - x.mean()) * p.contrast + x.mean()).clamp(0, 1) ** p.gamma
    x = x * torch.tensor([1 + p.temperature, 1.0, 1 - p.temperature], dtype=torch.float32).view(1, 3, 1, 1)
    out = Image.fromarray(x.clamp(0, 1).mul(255).round().byte()[0].permute(1, 2, 0).numpy())
    if p.blur > 0:
        out = out.filter(ImageFilter.GaussianBlur(radius=p.blur * size / BASE))
    if p.jpeg is not None:
        buf = io.BytesIO()
        out.save(buf, format="JPEG", quality=p.jpeg)
        out = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return np.asarray(out, dtype=np.uint8).copy()


def _warp(x: torch.Tensor, p: VariantParams, px: float) -> torch.Tensor:
    """Rotate by ``p.rotation``, zoom by ``p.scale`` and shift by ``p.shift`` (borders reflected)."""
    if p.rotation == 0 and p.scale == 1 and p.shift == (0.0, 0.0):
        return x
    a = math.radians(p.rotation)
    size = x.shape[-1]
    # affine_grid maps output to input coordinates in [-1, 1]: the inverse of the wanted warp
    rot = torch.tensor([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]], dtype=torch.float32) / p.scale
    shift = -torch.tensor(p.shift, dtype=torch.float32) * px * 2 / size
    theta = torch.cat([rot, (rot @ shift).unsqueeze(1)], dim=1).unsqueeze(0)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
