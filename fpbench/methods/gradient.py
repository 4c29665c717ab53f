"""The FGSM / PGD family on face embeddings: one iterative attack whose options give each variant.

* ``fgsm``   one step of size eps (Goodfellow et al. 2015)
* ``pgd``    I-FGSM with a random start in the budget (Madry et al. 2018; Kurakin et al. 2017)
* ``mifgsm`` momentum on the L1-normalised gradient (Dong et al. 2018)
* ``difgsm`` input diversity: random resize-and-pad with probability p (Xie et al. 2019)
* ``tifgsm`` translation invariance: the gradient is smoothed with a Gaussian kernel (Dong et al. 2019)

The options combine (``--param momentum=1 --param diversity=0.5`` gives MI-DI-FGSM). Budgets are Linf or
L2 in the canonical [0, 1] space. The default budget eps = 4/255 follows the ErasableMask paper's FGSM/PGD
competitors (section V-A-3); AMT-GAN-style comparisons often use 8/255: pass ``--eps``.

Parameters are checked when the attack is built (``PARAMS``, ``BUDGETS``): eps and alpha in [0, 1] for Linf
and [0, 100] for L2, steps >= 1, diversity in [0, 1], momentum >= 0, ti_kernel 0 (off) or odd.

White-box surrogates: ``--surrogate a,b,c``; without it, ``DEFAULT_SURROGATES`` (sface, mfn512,
dlib-resnet29), so that the other embedded models stay black boxes.

Loss: impersonation minimises the mean over surrogates of 1 - cos(f(x_adv), f(x_target)); dodging
minimises the mean cosine to the clean source's own embedding.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ..errors import BadInput
from ..zoo.model import FaceModel
from . import METHODS
from .base import DEFAULT_SURROGATES, Method, ProtectContext
from .params import MAX_STEPS, Choice, Flag, Integer, Param, Real, check_params

NORMS = ("linf", "l2")

#: Largest L2 budget accepted: far beyond any published one (a few units), and still finite work.
L2_BUDGET_MAX = 100.0

#: The attack's parameters; eps and alpha are budgets whose range depends on the norm (``BUDGETS``).
PARAMS: dict[str, Param] = dict(
    norm=Choice(NORMS), steps=Integer(1, MAX_STEPS), random_start=Flag(), momentum=Real(0), diversity=Real(0, 1),
    ti_kernel=Integer(0),
)
BUDGETS: dict[str, dict[str, Param]] = {
    "linf": dict(eps=Real(0, 1), alpha=Real(0, 1, optional=True)),
    "l2": dict(eps=Real(0, L2_BUDGET_MAX), alpha=Real(0, L2_BUDGET_MAX, optional=True)),
}


def embedding_loss(
    surrogates: Sequence[FaceModel], x: torch.Tensor, anchors: Sequence[torch.Tensor], goal: str
) -> torch.Tensor:
    """Per-image loss to minimise, averaged over surrogates (``anchors[i]`` are surrogate i's embeddings
    of the target faces for impersonation, or of the clean sources for dodging)."""
    losses = [(model(x) * a).sum(1) for model, a in zip(surrogates, anchors)]
    cos = torch.stack(losses).mean(0)
    return 1 - cos if goal == "impersonate" else cos


def input_diversity(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Resize to a random side in [S, 1.1 S) and pad randomly to 1.1 S, with probability ``p``."""
    if p <= 0 or torch.rand((), generator=generator).item() >= p:
        return x
    side = x.shape[-1]
    big = int(side * 1.1)
    rnd = int(torch.randint(side, big, (), generator=generator))
    top, left = (int(torch.randint(0, big - rnd + 1, (), generator=generator)) for _ in range(2))
    x = F.interpolate(x, size=(rnd, rnd), mode="nearest")
    return F.pad(x, (left, big - rnd - left, top, big - rnd - top))


def gaussian_kernel(size: int, nsig: float = 3.0) -> torch.Tensor:
    """Normalised (3, 1, size, size) depthwise Gaussian kernel spanning +-nsig standard deviations."""
    t = torch.linspace(-nsig, nsig, size, dtype=torch.float64)
    k1 = torch.exp(-0.5 * t**2)
    k = torch.outer(k1, k1)
    return (k / k.sum()).float().expand(3, 1, size, size).contiguous()


class IterativeAttack(Method):
    """Gradient attack on surrogate embeddings (FGSM/PGD family); see the module docstring."""

    name = "pgd"
    needs = frozenset({"surrogates", "target_images"})
    default_surrogates = DEFAULT_SURROGATES
    defaults: dict[str, Any] = dict(
        eps=4 / 255, steps=20, alpha=None, norm="linf", random_start=True, momentum=0.0, diversity=0.0, ti_kernel=0
    )

    def __init__(self, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params), PARAMS)
        merged = check_params(self.name, merged, BUDGETS[merged["norm"]])
        if merged["ti_kernel"] % 2 == 0 and merged["ti_kernel"]:
            raise BadInput(f"{self.name} parameter ti_kernel must be 0 (off) or an odd kernel size, "
                           f"got {merged['ti_kernel']}")
        if merged["alpha"] is None:
            merged["alpha"] = merged["eps"] / merged["steps"] * 2.5 if merged["steps"] > 1 else merged["eps"]
        super().__init__(**merged)

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["scale"] = "as published (pixel-space attack; no scaled-down profile needed)"
        return card

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        p = self.params
        eps, alpha, steps = float(p["eps"]), float(p["alpha"]), int(p["steps"])
        x = x.to(ctx.device)
        surrogates, anchors = ctx.surrogate_anchors(x, self.name)
        delta = torch.zeros_like(x)
        if p["random_start"] and steps > 1:
            delta = (torch.rand(x.shape, generator=ctx.generator) * 2 - 1).to(x) * eps
            if p["norm"] == "l2":
                delta = _project_l2(delta, eps)
        kernel = gaussian_kernel(int(p["ti_kernel"])).to(x) if p["ti_kernel"] else None
        velocity = torch.zeros_like(x)
        for _ in range(steps):
            delta.requires_grad_(True)
            x_in = input_diversity((x + delta).clamp(0, 1), float(p["diversity"]), ctx.generator)
            loss = embedding_loss(surrogates, x_in, anchors, ctx.goal).sum()
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                if kernel is not None:
                    grad = F.conv2d(grad, kernel, padding=kernel.shape[-1] // 2, groups=3)
                if p["momentum"]:
                    velocity = p["momentum"] * velocity + grad / grad.abs().mean((1, 2, 3), keepdim=True).clamp_min(1e-12)
                    grad = velocity
                if p["norm"] == "linf":
                    delta = (delta - alpha * grad.sign()).clamp(-eps, eps)
                else:
                    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                    delta = _project_l2(delta - alpha * grad / norm, eps)
                delta = (x + delta).clamp(0, 1) - x
        return (x + delta).detach().clamp(0, 1)


def _project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    norm = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return delta * torch.clamp(eps / norm, max=1.0)


def _variant(name: str, doc: str, **overrides: Any) -> type[IterativeAttack]:
    cls = type(name.upper(), (IterativeAttack,), {"name": name, "__doc__": doc,
                                                  "defaults": {**IterativeAttack.defaults, **overrides}})
    METHODS.add(name, cls, doc)
    return cls


FGSM = _variant("fgsm", "FGSM: one signed-gradient step of size eps (Linf 4/255 by default)", steps=1, random_start=False)
PGD = _variant("pgd", "PGD / I-FGSM: 20 signed steps with random start in the Linf ball (4/255 by default)")
MIFGSM = _variant("mifgsm", "MI-FGSM: PGD with momentum 1.0 on the normalised gradient", momentum=1.0, random_start=False)
DIFGSM = _variant("difgsm", "DI-FGSM: PGD with random resize-and-pad input diversity (p=0.5)", diversity=0.5, random_start=False)
TIFGSM = _variant("tifgsm", "TI-FGSM: PGD with a 7x7 Gaussian-smoothed gradient", ti_kernel=7, random_start=False)


@METHODS.register("none", "Clean baseline: images are not changed")
class NoProtection(Method):
    """Clean baseline: returns the images unchanged."""

    name = "none"

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        return x.clone()


__all__ = ["IterativeAttack", "NoProtection", "FGSM", "PGD", "MIFGSM", "DIFGSM", "TIFGSM", "embedding_loss"]
