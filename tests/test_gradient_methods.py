"""The FGSM / PGD family on a toy surrogate: every variant and combination stays in its budget and in [0, 1]
for both goals and moves the right way; PGD beats FGSM at equal budget; seeds decide all randomness."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fpbench.methods import METHODS, ProtectContext
from fpbench.zoo import FaceModel
from fpbench_example_plugin import toy_fr_a, toy_fr_b

SIDE = 64
#: (method, parameters beyond the budget): the five registered variants and their combinations
VARIANTS = [
    ("fgsm", {}),
    ("pgd", {"steps": 4}),
    ("mifgsm", {"steps": 4}),
    ("difgsm", {"steps": 4}),
    ("tifgsm", {"steps": 4, "ti_kernel": 5}),
    ("pgd", {"steps": 4, "momentum": 1.0, "diversity": 0.5}),  # MI-DI-FGSM with a random start
    ("mifgsm", {"steps": 4, "ti_kernel": 5}),  # MI-TI-FGSM
    ("difgsm", {"steps": 4, "ti_kernel": 5}),  # DI-TI-FGSM
    ("mifgsm", {"steps": 4, "diversity": 0.7, "ti_kernel": 3}),  # MI-DI-TI-FGSM
]
#: budgets in the canonical [0, 1] space: Linf per pixel, L2 per image
BUDGETS = {"linf": 8 / 255, "l2": 1.0}
#: the variants that draw random numbers (random start, input diversity), and so depend on the seed
RANDOM = {"pgd", "difgsm"}


def surrogate() -> FaceModel:
    return toy_fr_a(torch.device("cpu")).model


def faces(n: int, seed: int) -> torch.Tensor:
    """Smooth random patterns pushed past [0, 1] and clipped: many pixels sit at 0 or 1, where a step that
    is not clipped would leave the valid range."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 6, 6, generator=g) * 1.6 - 0.3
    return F.interpolate(coarse, size=(SIDE, SIDE), mode="bicubic", align_corners=False).clamp(0, 1)


def context(goal: str, n: int, seed: int = 0, model: FaceModel | None = None) -> ProtectContext:
    """Impersonation targets paired with the ``n`` sources, one white-box surrogate and a seeded generator."""
    targets = faces(n, 100) if goal == "impersonate" else None
    return ProtectContext(goal=goal, surrogates=[model or surrogate()], target_images=targets,
                          generator=torch.Generator().manual_seed(seed))


def similarity(model: FaceModel, x: torch.Tensor, ctx: ProtectContext, clean: torch.Tensor) -> torch.Tensor:
    """Per image: cosine to the target (impersonation) or to the clean face itself (dodging)."""
    with torch.no_grad():
        anchor = ctx.target_images if ctx.goal == "impersonate" else clean
        return (model(x) * model(anchor)).sum(1)


def random_perturbation(x: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    """``x`` moved by random noise of the full budget: what an attack must beat to have aimed at all."""
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    step = eps * noise.sign() if norm == "linf" else eps * noise / noise.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    return (x + step).clamp(0, 1)


def variant_id(v: tuple[str, dict]) -> str:
    return "-".join([v[0], *(k for k in v[1] if k != "steps")])


@pytest.mark.parametrize("goal", ["impersonate", "dodge"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_stays_in_budget_and_range_and_moves_the_right_way(variant, norm, goal):
    """Inside the eps-ball and [0, 1], every image perturbed, and closer to the target (or further from the
    source) than random noise of the full budget gets it."""
    name, params = variant
    eps = BUDGETS[norm]
    x = faces(3, 0)
    ctx = context(goal, len(x))
    adv = METHODS.get(name)(eps=eps, norm=norm, **params).protect(x, ctx)
    assert adv.shape == x.shape and adv.dtype == torch.float32
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0
    delta = (adv - x).flatten(1)
    size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert (size <= eps * (1 + 1e-5)).all(), size
    assert (size > eps / 4).all(), size  # it did perturb every image
    model = ctx.surrogates[0]
    noise, after = similarity(model, random_perturbation(x, eps, norm), ctx, x), similarity(model, adv, ctx, x)
    sign = 1 if goal == "impersonate" else -1
    assert (sign * (after - noise) > 0).all(), (noise, after)


@pytest.mark.parametrize("goal", ["impersonate", "dodge"])
def test_pgd_beats_fgsm_at_equal_budget(goal):
    """Same Linf budget, white box: iterating gets further than one step on every image (by over 5% of the
    way FGSM moved it; the toy net is nearly linear, which is FGSM's best case)."""
    x = faces(4, 1)
    model = toy_fr_b(torch.device("cpu")).model
    ctx = context(goal, len(x), model=model)
    one = METHODS.get("fgsm")(eps=4 / 255).protect(x, ctx)
    many = METHODS.get("pgd")(eps=4 / 255, steps=10).protect(x, ctx)
    clean, fgsm, pgd = (similarity(model, v, ctx, x) for v in (x, one, many))
    sign = 1 if goal == "impersonate" else -1
    fgsm_gain, pgd_gain = sign * (fgsm - clean), sign * (pgd - clean)
    assert (fgsm_gain > 0).all() and (pgd_gain > 1.05 * fgsm_gain).all(), (fgsm_gain, pgd_gain)


@pytest.mark.parametrize("option", [{"random_start": True}, {"momentum": 1.0}, {"diversity": 0.5}, {"ti_kernel": 5}],
                         ids=lambda o: next(iter(o)))
def test_each_option_changes_the_attack(option):
    """Against plain I-FGSM (L2 steps, which do not saturate at the budget's corners as signed steps do)."""
    x = faces(2, 3)
    plain, other = (METHODS.get("pgd")(eps=1.0, norm="l2", steps=4, **{"random_start": False, **extra}).protect(
        x, context("dodge", 2)) for extra in ({}, option))
    assert (other - plain).abs().max() > 1e-3


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_same_seed_same_bits_other_seed_differs_where_random(variant):
    """The context's generator is the only source of randomness: the global RNG is stirred between the runs
    (L2 steps, so that any difference in a gradient shows in the output)."""
    name, params = variant
    method = METHODS.get(name)(eps=1.0, norm="l2", **params)
    x = faces(2, 2)
    runs = []
    for global_seed, seed in ((1, 7), (2, 7), (3, 8)):
        ctx = context("impersonate", len(x), seed=seed)  # (building the toy surrogate seeds the global RNG)
        torch.manual_seed(global_seed)
        runs.append(method.protect(x, ctx))
    a, b, c = runs
    assert torch.equal(a, b)
    uses_randomness = name in RANDOM or params.get("diversity", 0) > 0
    assert torch.equal(a, c) is not uses_randomness
