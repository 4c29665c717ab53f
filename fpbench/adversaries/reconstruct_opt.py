"""Level-2 (white-box) reconstruction: recover x from a shallow feature z through the known E_c (PMT section
4.1.1, eq. 2-4; spec B2.6).

The attacker holds E_c (e.g. a bought client device) and minimises
J(x^) = ||E_c(x^) - z||_2 / ||z||_2 + lambda_TV * TV_beta(x^) / (H W)   (eq. 2 with a relative feature term)
TV_beta(x) = sum_ij ((x_i,j-1 - x_i,j)^2 + (x_i+1,j - x_i,j)^2)^(beta/2)   (eq. 3, beta = 2)
by signed descent steps x^ <- clip(x^ - alpha sign(grad J), 0, 1) (eq. 4 prints "+": a sign slip) from
x^_0 = 0.5 + U(-0.05, 0.05). The relative scaling and lambda_TV are not in the paper [decision]: lambda_TV is
calibrated once on unprotected features of held-out faces (largest mean SSIM over ``TV_GRID``) and reused for
every feature kind. Settings per profile: ``PROFILES``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch

#: lambda_TV values the calibration tries [decision; on mini mobilefacenet 3.0 beat 0.3, so the grid reaches 30]
TV_GRID = (0.0, 0.3, 3.0, 30.0)


@dataclass(frozen=True)
class Settings:
    """One Level-2 attack: signed steps of ``alpha`` in [0, 1] image space, TV weight and exponent."""

    steps: int = 100
    alpha: float = 1 / 255
    tv_weight: float = 0.3
    beta: float = 2.0
    init_spread: float = 0.05  # x^_0 = 0.5 + U(-spread, spread)


PROFILES = {"mini": Settings(steps=100), "paper": Settings(steps=300)}


def total_variation(x: torch.Tensor, beta: float = 2.0) -> torch.Tensor:
    """TV_beta per image (N,): eq. 3 over the pixels that have both a left and a lower neighbour, summed over
    the colour channels."""
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).pow(beta / 2).flatten(1).sum(1)


def objective(shallow: Callable[[torch.Tensor], torch.Tensor], x_hat: torch.Tensor, z: torch.Tensor,
              s: Settings) -> torch.Tensor:
    """J per image (N,): the relative feature distance plus the weighted, per-pixel TV."""
    diff = (shallow(x_hat) - z).flatten(1).norm(dim=1) / z.flatten(1).norm(dim=1).clamp_min(1e-12)
    hw = x_hat.shape[-2] * x_hat.shape[-1]
    return diff + s.tv_weight * total_variation(x_hat, s.beta) / hw


def reconstruct(shallow: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, size: int, s: Settings,
                g: torch.Generator | None = None) -> torch.Tensor:
    """x^ (N, 3, size, size) in [0, 1] whose shallow features approach ``z`` (N, ...)."""
    x_hat = 0.5 + s.init_spread * (2 * torch.rand((z.shape[0], 3, size, size), generator=g) - 1)
    x_hat = x_hat.to(z)
    for _ in range(s.steps):
        x_hat.requires_grad_(True)
        (grad,) = torch.autograd.grad(objective(shallow, x_hat, z, s).sum(), x_hat)
        with torch.no_grad():
            x_hat = (x_hat - s.alpha * grad.sign()).clamp(0, 1)
    return x_hat.detach()


def calibrate_tv(shallow: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, s: Settings,
                 ssim: Callable[[torch.Tensor, torch.Tensor], np.ndarray], grid: Sequence[float] = TV_GRID,
                 seed: int = 0) -> tuple[float, dict[float, float]]:
    """The lambda_TV of ``grid`` whose reconstructions of the unprotected features of ``x`` (held-out faces)
    have the largest mean SSIM to ``x``, and the mean SSIM of every value tried."""
    with torch.no_grad():
        z = shallow(x)
    scores = {}
    for weight in grid:
        g = torch.Generator().manual_seed(seed)
        x_hat = reconstruct(shallow, z, x.shape[-1], replace(s, tv_weight=weight), g)
        scores[weight] = float(np.mean(ssim(x_hat.cpu(), x.cpu())))
    return max(scores, key=lambda w: (scores[w], -w)), scores
