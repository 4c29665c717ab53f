"""PMT's optimisation (Pu et al., arXiv 2310.15590): Algorithm 1 with the Algorithm 2 enhancements.

x~ starts from noise and is moved, by signed steps in the canonical [0, 1] space, until the authorised
models' shallow features of x~ match those of x: J = sum_m D_m with D_m = ||z_m - z~_m||^2 (PMT, eq. 7) or
||z_m - z~_m||_2 (MR-PMT, eq. 8). Enhancements (Algorithm 2): an initialisation (``init_image``), an
augmentation T applied to x and x~ before every iteration (``augment``), layer aggregation (``features``),
and a translation-invariant gradient (``ti_kernel``). The two sign slips of the paper are corrected: the
update descends, x~ <- clip(x~ - alpha * sign(delta), 0, 1) (spec B2.1, B2.5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from ...zoo.split import Shallow

INITS = ("noise", "sort", "blur")
AUGMENTS = ("noise", "affine", "mix", "none")
KERNELS = ("gaussian", "linear", "none")


@dataclass(frozen=True)
class Settings:
    """Every number that shapes one PMT run (spec B2.5 defaults; see ``profiles``)."""

    steps: int = 100
    alpha: float = 4 / 255  # step at the first iteration
    alpha_end: float = 1 / 255  # step at the last iteration (linear in between)
    init: str = "noise"
    augment: str = "noise"
    noise_std: float = 0.05  # Random Noise augmentation: N(0, noise_std^2), fresh for x and x~
    aggregate: bool = True  # layer aggregation over every shallow unit
    pool: int = 2  # AvgPool2d kernel = stride on each unit's output (aggregation only)
    kernel: str = "gaussian"
    kernel_length: int = 1  # k: the kernel spans i, j in {-k..k}
    blur_sigma: float = 4.0  # Random Blur init, pixels
    squared: bool = True  # PMT eq. 7 (squared distance); MR-PMT eq. 8 uses the plain L2 distance
    normalise: bool = False  # MR-PMT [extra]: divide each model's distance by ||z_m||_2


def init_image(x: torch.Tensor, kind: str, g: torch.Generator | None, blur_sigma: float = 4.0) -> torch.Tensor:
    """x~_0: ``noise`` clip(0.5 + 0.5 N(0, I)) (randn in the [-1, 1] space FR models use), ``sort`` x's pixel
    positions permuted (RGB triples kept), ``blur`` x blurred with a Gaussian of ``blur_sigma`` pixels."""
    if kind == "noise":
        return (0.5 + 0.5 * torch.randn(x.shape, generator=g).to(x)).clamp(0, 1)
    if kind == "sort":
        flat = x.flatten(2)
        perms = torch.stack([torch.randperm(flat.shape[-1], generator=g) for _ in range(x.shape[0])]).to(x.device)
        return torch.gather(flat, 2, perms.unsqueeze(1).expand_as(flat)).view_as(x).clone()
    if kind == "blur":
        return gaussian_blur(x, blur_sigma)
    raise ValueError(f"unknown init {kind!r}")


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, radius 3 sigma, reflected borders."""
    radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = (k / k.sum()).to(x)
    c = x.shape[1]
    x = F.pad(x, (radius,) * 4, mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ti_kernel(kind: str, k: int) -> torch.Tensor | None:
    """TI-FGSM kernel W = W^/sum(W^) over i, j in {-k..k} (3, 1, 2k+1, 2k+1); None for ``none``.
    Linear: (1 - |i|/(k+1))(1 - |j|/(k+1)); Gaussian: exp(-(i^2 + j^2)/(2 sigma^2)), sigma = k / sqrt(3)."""
    if kind == "none" or k < 1:
        return None
    i = torch.arange(-k, k + 1, dtype=torch.float64)
    if kind == "linear":
        w1 = 1 - i.abs() / (k + 1)
        w = torch.outer(w1, w1)
    elif kind == "gaussian":
        sigma = k / math.sqrt(3)
        w = torch.exp(-(i.view(-1, 1) ** 2 + i.view(1, -1) ** 2) / (2 * sigma**2))
    else:
        raise ValueError(f"unknown kernel {kind!r}")
    return (w / w.sum()).float().expand(3, 1, 2 * k + 1, 2 * k + 1).contiguous()


def _affine(x: torch.Tensor, x_t: torch.Tensor, g: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random affine (rotation +-10 deg, translation +-5 %, scale 0.9-1.1) on x and x~, per image."""
    n = x.shape[0]
    u = torch.rand(n, 4, generator=g, dtype=torch.float64)
    angle = (u[:, 0] * 2 - 1) * math.radians(10)
    scale = 0.9 + 0.2 * u[:, 1]
    shift = (u[:, 2:] * 2 - 1) * 0.1  # 5 % of the side = 0.1 in affine_grid's [-1, 1] coordinates
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    warp = lambda v: F.grid_sample(v, grid, mode="bilinear", padding_mode="reflection", align_corners=False)  # noqa: E731
    return warp(x), warp(x_t)


def augment(x: torch.Tensor, x_t: torch.Tensor, kind: str, noise_std: float,
            g: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """T(x), T(x~) for one iteration (spec B2.5): ``noise`` fresh N(0, std^2) on each, ``affine`` the same
    random affine on both, ``mix`` one of the two at random, ``none`` unchanged."""
    if kind == "mix":
        kind = "noise" if torch.rand((), generator=g).item() < 0.5 else "affine"
    if kind == "noise":
        return (x + noise_std * torch.randn(x.shape, generator=g).to(x),
                x_t + noise_std * torch.randn(x.shape, generator=g).to(x))
    if kind == "affine":
        return _affine(x, x_t, g)
    return x, x_t


def features(shallow: Shallow, x: torch.Tensor, aggregate: bool, pool: int) -> torch.Tensor:
    """z: every shallow unit's output average-pooled (kernel = stride = ``pool``) and concatenated (layer
    aggregation), or the last unit's output unpooled (Algorithm 1); (N, D)."""
    if not aggregate:
        return shallow(x).flatten(1)
    return torch.cat([F.avg_pool2d(h, pool, pool).flatten(1) if pool > 1 else h.flatten(1)
                      for h in shallow.layers(x)], dim=1)


def objective(shallows: Sequence[Shallow], x: torch.Tensor, x_t: torch.Tensor, s: Settings,
              z: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
    """Per-image J: the sum over models of ||z_m - z~_m||^2 (``s.squared``) or ||z_m - z~_m||_2."""
    if z is None:
        with torch.no_grad():
            z = [features(m, x, s.aggregate, s.pool) for m in shallows]
    total = torch.zeros(x.shape[0], device=x.device)
    for m, zm in zip(shallows, z):
        diff = features(m, x_t, s.aggregate, s.pool) - zm
        d = diff.pow(2).sum(1) if s.squared else diff.norm(dim=1)
        if s.normalise:
            d = d / zm.norm(dim=1).clamp_min(1e-12)
        total = total + d
    return total


def obfuscate(x: torch.Tensor, shallows: Sequence[Shallow], s: Settings,
              g: torch.Generator | None = None) -> torch.Tensor:
    """x~ for canonical images ``x`` (N, 3, H, W) in [0, 1]: Algorithm 1 + 2 (module docstring)."""
    kernel = ti_kernel(s.kernel, s.kernel_length)
    kernel = kernel.to(x) if kernel is not None else None
    x_t = init_image(x, s.init, g, s.blur_sigma)
    for i in range(s.steps):
        alpha = s.alpha + (s.alpha_end - s.alpha) * (i / (s.steps - 1) if s.steps > 1 else 0.0)
        x_t.requires_grad_(True)
        tx, tx_t = augment(x, x_t, s.augment, s.noise_std, g)
        loss = objective(shallows, tx.detach(), tx_t, s).sum()
        (grad,) = torch.autograd.grad(loss, x_t)
        with torch.no_grad():
            delta = grad / grad.abs().sum(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
            if kernel is not None:
                delta = F.conv2d(delta, kernel, padding=kernel.shape[-1] // 2, groups=3)
            x_t = (x_t - alpha * delta.sign()).clamp(0, 1)
    return x_t.detach()
