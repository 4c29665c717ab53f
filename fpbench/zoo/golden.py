"""Deterministic inputs for golden-embedding tests (no third-party images needed).

Smooth random colour fields with fine noise and a strong red/blue asymmetry, so that a swapped colour
order or a wrong normalisation changes the embedding clearly. Generated with NumPy's PCG64 and a bilinear
upsampling pinned to two threads, so the bytes are identical on every machine.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..images import from_uint8
from ..threads import fixed_threads


def golden_inputs(size: int = 112, n: int = 4, seed: int = 0) -> np.ndarray:
    """``n`` uint8 RGB images (N, size, size, 3), the same bytes for the same arguments everywhere."""
    rng = np.random.Generator(np.random.PCG64(seed))
    coarse = torch.from_numpy(rng.random((n, 3, 6, 6), dtype=np.float32))
    with fixed_threads(2):  # single-threaded bilinear rounds one pixel differently; the goldens used 2
        smooth = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=True).numpy()
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    smooth[:, 0] = 0.6 * smooth[:, 0] + 0.4 * ramp[None, None, :]  # red grows left to right
    smooth[:, 2] = 0.6 * smooth[:, 2] + 0.4 * ramp[None, :, None]  # blue grows top to bottom
    noise = rng.normal(0.0, 0.03, size=smooth.shape).astype(np.float32)
    img = np.clip(smooth + noise, 0.0, 1.0)
    return np.round(img * 255.0).astype(np.uint8).transpose(0, 2, 3, 1).copy()


def golden_batch(size: int = 112, n: int = 4, seed: int = 0) -> torch.Tensor:
    """``golden_inputs`` as a canonical batch."""
    return from_uint8(golden_inputs(size, n, seed))
