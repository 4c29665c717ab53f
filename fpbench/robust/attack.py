"""PGD-Linf on embedding cosines: the inner maximisation of adversarial training and the white-box attack of
the robustness report. ``eps`` may be one budget or one per image (the report's binary search)."""
from __future__ import annotations

from typing import Callable

import torch

#: per-image objective to maximise, from the (N, D) unit embeddings of the perturbed batch
Objective = Callable[[torch.Tensor], torch.Tensor]


def pgd_linf(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, objective: Objective,
             eps: float | torch.Tensor, steps: int, alpha: float | torch.Tensor | None = None,
             generator: torch.Generator | None = None, random_start: bool = True) -> torch.Tensor:
    """``x + delta`` with ``|delta|_inf <= eps`` (per image when ``eps`` is a tensor) and pixels in [0, 1], after
    ``steps`` signed-gradient ascent steps of size ``alpha`` (default eps/4) on ``objective(model(x + delta))``.
    Gradients reach only ``delta``: the model's parameters are left untouched."""
    eps_t = torch.as_tensor(eps, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    step = eps_t / 4 if alpha is None else torch.as_tensor(alpha, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    x = x.detach()
    delta = torch.zeros_like(x)
    if random_start:
        delta = (torch.rand(x.shape, generator=generator).to(x) * 2 - 1) * eps_t
        delta = (x + delta).clamp(0, 1) - x
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = objective(model(x + delta)).sum()
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = torch.maximum(torch.minimum(delta + step * grad.sign(), eps_t), -eps_t)
            delta = (x + delta).clamp(0, 1) - x
    return (x + delta).detach()


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine of unit embeddings."""
    return (a * b).sum(1)
