"""The feature-iterative loop of FIM / FI-UAP / OPOM (spec A4.3; Zhong & Deng, OPOM, TPAMI 2022).

With the K inference photos X of one person (canonical [0, 1] images; the code's 0-255 budget 8 and step 1 are
8/255 and 1/255 here) and their clean unit features F0, fixed::

    X_adv = X + U(-eps, eps) per image                       # random start
    repeat T times:
        g     = mean over the K images of grad_X_adv loss(F(X_adv), F0)   # one shared gradient
        X_adv = X_adv + alpha * sign(g)
        eta   = clip(mean_k (X_adv[k] - X[k]), -eps, eps)     # one shared perturbation
        X_adv = clip(X + eta, 0, 1)
    return eta

The loss is maximised. ``shared=False`` keeps one gradient and one perturbation per image (FIM: K = 1 each).
Losses (n = L2-normalise; MSE = mean over features and images; projections onto a subspace of F0 use weights
computed from detached features, ``fpbench.methods.subspace``):

* ``fi-uap``       MSE(n(F(X_adv)), F0)
* ``fi-uap-plus``  -mean_ij n(F(x_adv,i)) . F0_j
* ``center``       MSE(n(F(X_adv)), mean_j F0_j)
* ``affine``       MSE(n(F(X_adv)), P_aff(n(F(X_adv))))
* ``convex``       MSE(n(F(X_adv)), P_conv(n(F(X_adv)))), the class center for the first ``warmup`` steps
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ...zoo.model import FaceModel
from ..subspace import project

LOSSES = ("fi-uap", "fi-uap-plus", "center", "affine", "convex")


@dataclass(frozen=True)
class LoopSettings:
    """One run of the loop: the budget and schedule (spec A4.3: eps 8/255, 16 steps of 1/255, random start)."""

    loss: str = "fi-uap"
    eps: float = 8 / 255
    alpha: float = 1 / 255
    steps: int = 16
    random_start: bool = True
    warmup: int = 5  # convex: class-center steps first (the code's --nter 5)
    lower: float = 0.0  # convex hull weight bounds (a reduced hull when tighter than [0, 1])
    upper: float = 1.0


def subspace_loss(adv: torch.Tensor, clean: torch.Tensor, loss: str, step: int, s: LoopSettings) -> torch.Tensor:
    """The loss to maximise, for unit features ``adv`` (K, d) and ``clean`` (K, d) of one surrogate."""
    if loss == "fi-uap":
        return F.mse_loss(adv, clean)
    if loss == "fi-uap-plus":
        return -(adv @ clean.T).mean()
    if loss == "convex" and step < s.warmup:
        loss = "center"
    if loss == "center":
        return F.mse_loss(adv, clean.mean(0, keepdim=True).expand_as(adv))
    if loss in ("affine", "convex"):
        return F.mse_loss(adv, project(clean, adv.detach(), loss, s.lower, s.upper))
    raise ValueError(f"unknown loss {loss!r}; known: {', '.join(LOSSES)}")


def feature_iterative_mask(surrogates: Sequence[FaceModel], x: torch.Tensor, s: LoopSettings, shared: bool = True,
                           generator: torch.Generator | None = None,
                           on_step: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
    """The perturbation eta: (1, 3, H, W) shared by the K images of ``x`` (``shared``), else (K, 3, H, W).

    Several surrogates add their losses (the code uses one). ``on_step(i, eta)`` sees each step's eta."""
    with torch.no_grad():
        clean = [m(x) for m in surrogates]
    x_adv = x
    if s.random_start:
        x_adv = x + (torch.rand(x.shape, generator=generator) * 2 - 1).to(x) * s.eps
    eta = torch.zeros_like(x[:1] if shared else x)
    for step in range(s.steps):
        x_adv = x_adv.detach().requires_grad_(True)
        total = sum(subspace_loss(m(x_adv), f0, s.loss, step, s) for m, f0 in zip(surrogates, clean))
        (grad,) = torch.autograd.grad(total, x_adv)
        with torch.no_grad():
            if shared:
                grad = grad.mean(0, keepdim=True)
            x_adv = x_adv + s.alpha * grad.sign()
            delta = x_adv - x
            eta = (delta.mean(0, keepdim=True) if shared else delta).clamp(-s.eps, s.eps)
            x_adv = (x + eta).clamp(0, 1)
        if on_step is not None:
            on_step(step, eta)
    return eta.detach()
