"""``gmaa``: an optimisation-based approximation of GMAA (Li et al., CVPR 2023, "Discrete Point-wise Attack
Is Not Enough: Generalized Manifold Adversarial Attack for Face Recognition").

GMAA trains, per target identity, a conditional generator over 17 continuous facial action units (taught by
four pretrained expression editors) so that its faces impersonate a *set* of target photos under every
expression; each training step samples one target photo and scores 5 copies of the output under input
diversity (shrink to 0.9-1 of the side and pad, p = 0.5) plus Gaussian noise (p = 0.5), with no Lp bound.
The editors' weights cannot be had here, so this method keeps the attack's structure without a generator:

* **target manifold**: each row's target set is ``target_views`` views of its one target photo (the photo
  itself, then small random similarity jitter, horizontal flips and brightness changes), plus the photos of
  ``extra_targets`` (a folder of aligned crops of one identity, used for every row) when given; one member of
  the set is drawn per row and step, as GMAA draws one target photo per step;
* **expression manifold**: expectation over states s ~ U[-1, 1]^5 of the differentiable landmark-anchored
  warps of ``fpbench.methods.expression`` (eyes, brows, jaw, smile, lips), one state per copy and step;
* **copies**: ``copies`` warped copies per step, each with GMAA's Gaussian noise (p = ``noise_prob``, standard
  deviation U(0, 1) * ``noise_std``) and random resize-and-pad (``fpbench.methods.gradient.input_diversity``:
  resized to [S, 1.1 S) and padded to 1.1 S, which after each model's resize to its input size is GMAA's shrink
  to [0.91, 1) of the side with zero padding), the loss averaged over copies and surrogates;
* **budget**: an additive perturbation of the neutral image, Linf ``eps`` = 8/255 by default (GMAA has no Lp
  bound; 8/255 is the usual budget of transfer attacks on face recognition and gives the expectation over
  expressions and noise room to work), optimised with signed momentum steps (MI-FGSM) and projected.

Dodging (goal ``dodge``) runs the same loop with each source's own views as the set to move away from.

Profiles: ``mini`` (the default: 50 steps, 2 copies) and ``paper`` (GMAA's 5 copies, 200 steps; GMAA trains a
generator for 20 epochs, so there is no step count to copy). The protected image is the neutral one; render it
under other expressions with ``expression_grid`` to test how the protection holds across them.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import BadInput
from ..images import from_uint8, read_image, tensor_sha256
from . import METHODS
from .base import DEFAULT_SURROGATES, Method, ProtectContext
from .expression import ACTION_UNITS, EVAL_STATES, expression_grid, sample_states, warp_expression
from .gradient import embedding_loss, input_diversity
from .params import MAX_STEPS, Choice, Integer, Param, PathParam, Real, check_params

#: Settings each profile fills in for the parameters left unset.
PROFILES: dict[str, dict[str, Any]] = {
    "mini": dict(steps=50, copies=2),
    "paper": dict(steps=200, copies=5),
}

#: Target-view jitter: rotation (degrees), scale and shift (fractions of the side), brightness factor range.
VIEW_ROTATION_DEG = 5.0
VIEW_SCALE = 0.05
VIEW_SHIFT = 0.03
VIEW_BRIGHTNESS = 0.1

#: GMAA's noise scale: U(0, 1) * sqrt(0.1) in its [-1, 1] pixel range, i.e. half that in [0, 1].
GMAA_NOISE_STD = math.sqrt(0.1) / 2

DEPARTURES = (
    ("no conditional generator and no trained expression editors (their weights are not obtainable): one "
     "perturbation per image is optimised instead of a generator per target identity"),
    (f"expressions are {len(ACTION_UNITS)} landmark-anchored geometric warps ({', '.join(ACTION_UNITS)}) sampled "
     "uniformly in [-1, 1], not GANimation edits over 17 action units; they move features but add no texture"),
    ("the target set is augmented views of the one target photo per source (jitter, flips, brightness), plus "
     "optional extra photos, instead of several real photos of the target identity"),
    ("Linf budget on an additive perturbation (GMAA has no Lp bound; its generator is held near the editors' "
     "outputs by MSE/SSIM losses instead)"),
    ("signed momentum steps on the perturbation instead of Adam on generator weights; no GAN, classification "
     "or perceptual losses"),
    "one expression state per copy (GMAA: one per image, shared by its 5 copies)",
    ("input diversity resizes to [S, 1.1 S) with nearest interpolation and pads to 1.1 S (equivalent after the "
     "models' resize to GMAA's bilinear shrink to [0.9 S, S) and pad)"),
)


#: Every parameter's type and range (eps and alpha: Linf budgets in the canonical [0, 1] range).
PARAMS: dict[str, Param] = dict(
    eps=Real(0, 1), steps=Integer(1, MAX_STEPS), alpha=Real(0, 1, optional=True), copies=Integer(1), momentum=Real(0),
    diversity=Real(0, 1), noise_prob=Real(0, 1), noise_std=Real(0, 1), expression_strength=Real(0),
    target_views=Integer(1), extra_targets=PathParam(optional=True),
)


class GMAA(Method):
    """GMAA approximation: impersonation over a target set and an expression manifold (Linf 8/255, mini profile)"""

    name = "gmaa"
    needs = frozenset({"surrogates", "target_images"})
    run_options = frozenset({"profile"})
    default_surrogates = DEFAULT_SURROGATES
    defaults: dict[str, Any] = dict(
        profile="mini", eps=8 / 255, steps=None, alpha=None, copies=None, momentum=1.0, diversity=0.5,
        noise_prob=0.5, noise_std=GMAA_NOISE_STD, expression_strength=1.0, target_views=4, extra_targets=None,
    )

    def __init__(self, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params), {"profile": Choice(tuple(PROFILES))})
        for key, value in PROFILES[merged["profile"]].items():
            merged[key] = value if merged[key] is None else merged[key]
        merged = check_params(self.name, merged, PARAMS)
        if merged["alpha"] is None:
            merged["alpha"] = merged["eps"] / merged["steps"] * 2.5 if merged["steps"] > 1 else merged["eps"]
        self.extra_targets = load_target_set(merged["extra_targets"]) if merged["extra_targets"] else None
        super().__init__(**merged)

    def card(self) -> dict[str, Any]:
        card = super().card()
        p = self.params
        card["profile"] = (f"{p['profile']}: {p['steps']} steps, {p['copies']} copies per step "
                           f"(profiles: {PROFILES}; mini is the default)")
        card["approximation"] = "approximation of GMAA (Li et al. 2023), see departures"
        card["departures"] = list(DEPARTURES)
        card["budget"] = f"Linf {p['eps']:.6g} on the neutral image (GMAA itself has no Lp bound)"
        card["evaluation"] = ("the protected image is the neutral state; fpbench.methods.gmaa.expression_grid "
                              f"renders it under {len(EVAL_STATES)} fixed expression states")
        if self.extra_targets is not None:
            card["extra_targets_sha256"] = tensor_sha256(self.extra_targets)
        return card

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        p = self.params
        eps, alpha = float(p["eps"]), float(p["alpha"])
        surrogates = list(ctx.surrogates)
        if not surrogates:
            raise BadInput(f"{self.name} needs at least one surrogate model (--surrogate NAME[,NAME...])")
        if ctx.goal == "impersonate" and ctx.target_images is None:
            raise BadInput(f"{self.name} impersonation needs target images in the context")
        x = x.to(ctx.device)
        n = x.shape[0]
        ref = ctx.target_images.to(ctx.device) if ctx.goal == "impersonate" else x
        extra = self.extra_targets if ctx.goal == "impersonate" else None
        views = target_set(ref, int(p["target_views"]), ctx.generator, extra)  # (V, N, 3, S, S)
        with torch.no_grad():
            anchors = [m(views.flatten(0, 1)).view(views.shape[0], n, -1) for m in surrogates]
        rows = torch.arange(n, device=ctx.device)
        delta = torch.zeros_like(x)
        velocity = torch.zeros_like(x)
        for _ in range(int(p["steps"])):
            pick = torch.randint(views.shape[0], (n,), generator=ctx.generator).to(ctx.device)
            step_anchors = [a[pick, rows] for a in anchors]
            delta.requires_grad_(True)
            x_adv = (x + delta).clamp(0, 1)
            loss = sum(embedding_loss(surrogates, self._copy(x_adv, ctx), step_anchors, ctx.goal).sum()
                       for _ in range(int(p["copies"])))
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                grad = grad / grad.abs().mean((1, 2, 3), keepdim=True).clamp_min(1e-12)
                velocity = float(p["momentum"]) * velocity + grad
                delta = (delta - alpha * velocity.sign()).clamp(-eps, eps)
                delta = (x + delta).clamp(0, 1) - x
        return (x + delta).detach().clamp(0, 1)

    def _copy(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        """One EOT copy: a random expression, then GMAA's noise and input diversity."""
        p = self.params
        states = sample_states(x.shape[0], ctx.generator, x.device) * float(p["expression_strength"])
        x = warp_expression(x, states)
        if torch.rand((), generator=ctx.generator).item() < float(p["noise_prob"]):
            std = torch.rand((), generator=ctx.generator).item() * float(p["noise_std"])
            x = x + std * torch.randn(x.shape, generator=ctx.generator).to(x)
        return input_diversity(x, float(p["diversity"]), ctx.generator)


def target_set(
    ref: torch.Tensor, views: int, generator: torch.Generator | None, extra: torch.Tensor | None = None
) -> torch.Tensor:
    """(V, N, 3, S, S): each row's target photo, ``views - 1`` jittered views of it, then ``extra`` photos."""
    n, size = ref.shape[0], ref.shape[-1]
    out = [ref]
    for _ in range(views - 1):
        angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(VIEW_ROTATION_DEG)
        scale = 1 + (torch.rand(n, generator=generator) * 2 - 1) * VIEW_SCALE
        shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * VIEW_SHIFT * 2  # grid units span 2
        flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
        gain = 1 + (torch.rand(n, generator=generator) * 2 - 1) * VIEW_BRIGHTNESS
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                             torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1).to(ref)
        grid = F.affine_grid(theta, [n, 3, size, size], align_corners=False)
        view = F.grid_sample(ref, grid, mode="bilinear", padding_mode="border", align_corners=False)
        out.append((view * gain.view(n, 1, 1, 1).to(ref)).clamp(0, 1))
    if extra is not None:
        photos = F.interpolate(extra.to(ref), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out += [photo.expand(n, -1, -1, -1) for photo in photos.clamp(0, 1).unsqueeze(1)]
    return torch.stack(out)


def load_target_set(folder: str | Path) -> torch.Tensor:
    """Aligned crops (PNG/JPEG, square, one identity) in ``folder`` as a canonical batch, in name order."""
    path = Path(folder)
    files = sorted(f for f in path.glob("*") if f.suffix.lower() in (".png", ".jpg", ".jpeg")) if path.is_dir() else []
    if not files:
        raise BadInput(f"extra_targets {folder!r} is not a folder of aligned face crops (.png/.jpg)")
    arrays = [read_image(f) for f in files]
    sizes = {a.shape[:2] for a in arrays}
    if len(sizes) != 1 or next(iter(sizes))[0] != next(iter(sizes))[1]:
        raise BadInput(f"extra_targets in {folder!r} must be square aligned crops of one size, got {sorted(sizes)}")
    return torch.cat([from_uint8(a) for a in arrays])


METHODS.add("gmaa", GMAA, "GMAA approximation (Li et al. 2023): impersonation over a target set and expression "
                           "warps, Linf 8/255, mini profile")

__all__ = ["EVAL_STATES", "GMAA", "expression_grid", "load_target_set", "target_set"]
