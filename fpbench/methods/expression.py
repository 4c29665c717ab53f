"""Differentiable facial "expressions" of aligned crops: smooth local warps anchored on the ArcFace template.

A state ``s`` in [-1, 1]^d sets d *action units*; each unit is a fixed displacement field built from Gaussian
bumps centred at (or near) the 5 template landmarks, and the field of a state is their linear combination
``sum_i s_i * B_i``. It is applied as a backward warp with ``F.grid_sample`` (output pixel p samples the input
at p + field(p)), so ``s = 0`` is the identity and every state is differentiable in the image. Magnitudes at
|s_i| = 1, in fractions of the crop side S (about 3 pixels at 112):

==============  =====================================================  ===========================================
unit            s > 0                                                  s < 0
==============  =====================================================  ===========================================
``eyes``        eyes close: vertical squeeze toward each eye's line    eyes widen
``brows``       brows raise: upward shift of a band above the eyes     brows lower
``jaw``         mouth opens: vertical stretch about the mouth line     lips press together
``smile``       corners move up and out                                corners move down and in (frown)
``lips``        lips stretch sideways                                  lips pucker
==============  =====================================================  ===========================================

These are geometric stand-ins for the facial action units that GMAA's trained expression editors produce:
they move features but cannot add texture (teeth, wrinkles, closed eyelids).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ..images import arcface_template

ACTION_UNITS = ("eyes", "brows", "jaw", "smile", "lips")

#: Fixed evaluation states (K, d): neutral, each unit alone at -1 and +1, then two mixed expressions.
EVAL_STATES = torch.cat([
    torch.zeros(1, len(ACTION_UNITS)),
    torch.cat([-torch.eye(len(ACTION_UNITS)), torch.eye(len(ACTION_UNITS))]),
    torch.tensor([[0.0, 0.8, 0.6, 0.8, 0.4],     # surprised smile
                  [0.7, -0.8, -0.5, -0.8, -0.5]]),  # squint and frown
])


def _bump(xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-0.5 * (((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2))


@lru_cache(maxsize=8)
def unit_fields(size: int) -> torch.Tensor:
    """The (d, S, S, 2) displacement of each action unit at s_i = 1, in ``grid_sample`` units ([-1, 1])."""
    t = arcface_template(size).astype(np.float64) / size  # landmarks in crop-side units
    left_eye, right_eye, _nose, left_mouth, right_mouth = t
    mouth = (left_mouth + right_mouth) / 2
    c = (np.arange(size, dtype=np.float64) + 0.5) / size  # pixel centres
    yy, xx = np.meshgrid(c, c, indexing="ij")
    fields = np.zeros((len(ACTION_UNITS), size, size, 2))
    for eye in (left_eye, right_eye):
        g = _bump(xx, yy, eye[0], eye[1], 0.09, 0.055)
        fields[0, ..., 1] += 0.6 * (yy - eye[1]) * g  # sample farther from the eye line: content squeezed
        fields[1, ..., 1] += 0.03 * _bump(xx, yy, eye[0], eye[1] - 0.10, 0.10, 0.06)  # content moves up
    g = _bump(xx, yy, mouth[0], mouth[1], 0.13, 0.08)
    fields[2, ..., 1] = -0.5 * (yy - mouth[1]) * g  # sample nearer the mouth line: content stretched
    fields[4, ..., 0] = -0.3 * (xx - mouth[0]) * g
    for corner, outward in ((left_mouth, -1.0), (right_mouth, 1.0)):
        g = _bump(xx, yy, corner[0], corner[1], 0.06, 0.06)
        fields[3, ..., 0] += -outward * 0.02 * g  # content moves outward ...
        fields[3, ..., 1] += 0.03 * g  # ... and up
    return torch.from_numpy(2 * fields).float()  # crop-side units -> grid units (the grid spans 2)


def expression_field(states: torch.Tensor, size: int) -> torch.Tensor:
    """Sampling offsets (N, S, S, 2) in ``grid_sample`` units for states (N, d)."""
    if states.ndim != 2 or states.shape[1] != len(ACTION_UNITS):
        raise ValueError(f"states must be (N, {len(ACTION_UNITS)}) for units {ACTION_UNITS}, got {tuple(states.shape)}")
    if not torch.isfinite(states).all():
        raise ValueError("expression states must be finite numbers")
    basis = unit_fields(size).to(states)
    return torch.einsum("nd,dhwc->nhwc", states, basis)


def identity_grid(size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(1, S, S, 2) grid of pixel centres, so that ``grid_sample`` with it returns the input."""
    return F.affine_grid(torch.eye(2, 3).unsqueeze(0), [1, 1, size, size], align_corners=False).to(device)


def warp_expression(x: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Canonical batch (N, 3, S, S) under expression states (N, d); differentiable in both."""
    size = x.shape[-1]
    grid = identity_grid(size, x.device) + expression_field(states.to(x), size)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def sample_states(n: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """States drawn uniformly from [-1, 1]^d (drawn on the CPU so a seeded generator is reproducible)."""
    return (torch.rand(n, len(ACTION_UNITS), generator=generator) * 2 - 1).to(device)


@torch.no_grad()
def expression_grid(x: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
    """Each image of ``x`` (N, 3, S, S) rendered under each of ``states`` (K, d; default ``EVAL_STATES``):
    a (N, K, 3, S, S) batch for measuring how protection holds across expressions."""
    states = EVAL_STATES if states is None else states
    n, k = x.shape[0], states.shape[0]
    rows = x.repeat_interleave(k, 0)
    out = warp_expression(rows, states.to(x).repeat(n, 1))
    return out.view(n, k, *x.shape[1:])


__all__ = ["ACTION_UNITS", "EVAL_STATES", "expression_field", "expression_grid", "sample_states", "unit_fields",
           "warp_expression"]
