"""The OPOM family (spec A4.3, C7): the feature-iterative loop on a tiny surrogate, its budget, the shared
person mask, and the methods' parameters and cards."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from fpbench.errors import BadInput
from fpbench.methods import METHODS
from fpbench.methods.base import ProtectContext
from fpbench.methods.opom.loop import LoopSettings, feature_iterative_mask
from fpbench.methods.subspace import distance
from fpbench.zoo import FaceModel, InputSpec, ModelCard

SIZE = 48
OPOM_FAMILY = ("fi-uap", "fi-uap-plus", "opom-affinehull", "opom-classcenter", "opom-convexhull")


def tiny_surrogate(seed: int = 0) -> FaceModel:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 16, 5, stride=2), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(512, 32))
    spec = InputSpec(size=SIZE, scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    model = FaceModel(net, ModelCard(name="tiny", architecture="toy CNN", embedding_dim=32, input=spec)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def person(k: int = 6, seed: int = 0) -> torch.Tensor:
    """K 'photos' of one person: one smooth pattern with small per-photo changes."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, 8, 8, generator=g)
    x = base + 0.08 * torch.randn(k, 3, 8, 8, generator=g)
    return F.interpolate(x, size=(SIZE, SIZE), mode="bicubic", align_corners=False).clamp(0, 1)


@pytest.mark.parametrize("loss,subspace", [("fi-uap", "center"), ("center", "center"), ("affine", "affine"),
                                           ("convex", "convex")])
def test_loop_pushes_features_away_from_the_subspace_over_16_steps(loss, subspace):
    model, x = tiny_surrogate(), person()
    clean = model(x)
    distances = []

    def record(step: int, eta: torch.Tensor) -> None:
        with torch.no_grad():
            distances.append(float(distance(clean, model((x + eta).clamp(0, 1)), subspace).mean()))

    feature_iterative_mask([model], x, LoopSettings(loss=loss, eps=8 / 255, alpha=1 / 255, steps=16),
                           generator=torch.Generator().manual_seed(0), on_step=record)
    d = np.array(distances)
    assert len(d) == 16 and d[-1] > d[0] > 0
    assert np.mean(np.diff(d) > 0) >= 0.75  # rises monotonically on average (most steps go up)
    assert np.corrcoef(np.arange(16), d)[0, 1] > 0.8


def test_mask_is_shared_bounded_and_deterministic():
    model, x = tiny_surrogate(), person()
    s = LoopSettings(loss="convex", steps=6, warmup=2)
    eta = feature_iterative_mask([model], x, s, generator=torch.Generator().manual_seed(3))
    again = feature_iterative_mask([model], x, s, generator=torch.Generator().manual_seed(3))
    assert eta.shape == (1, 3, SIZE, SIZE) and eta.abs().max() <= 8 / 255 + 1e-7 and torch.equal(eta, again)
    own = feature_iterative_mask([model], x, s, shared=False, generator=torch.Generator().manual_seed(3))
    assert own.shape == x.shape and not torch.equal(own[0], own[1])  # FIM: one perturbation per image


@pytest.mark.parametrize("name", OPOM_FAMILY)
def test_person_masks_of_the_family_lower_the_surrogate_similarity(name):
    model, x = tiny_surrogate(), person()
    method = METHODS.get(name)(steps=8)
    ctx = ProtectContext(goal="dodge", surrogates=[model], generator=torch.Generator().manual_seed(0))
    mask = method.person_mask(x, ctx)
    assert mask.shape == (3, SIZE, SIZE) and mask.abs().max() <= 8 / 255 + 1e-7
    with torch.no_grad():
        before = (model(x) * model(x).mean(0)).sum(1).mean()
        after = (model((x + mask).clamp(0, 1)) * model(x).mean(0)).sum(1).mean()
    assert after < before - 0.01


def test_fim_protects_each_image_within_the_budget():
    model, x = tiny_surrogate(), person(3)
    ctx = ProtectContext(goal="dodge", surrogates=[model], generator=torch.Generator().manual_seed(0))
    out = METHODS.get("fim")(steps=4).protect(x, ctx)
    assert out.shape == x.shape and (out - x).abs().max() <= 8 / 255 + 1e-6 and out.min() >= 0 and out.max() <= 1


def test_defaults_follow_the_spec_and_cards_list_departures():
    for name in (*OPOM_FAMILY, "fim"):
        method = METHODS.get(name)()
        p = method.params
        assert (p["eps"], p["alpha"], p["steps"], p["random_start"]) == (8 / 255, 1 / 255, 16, True)
        card = method.card()
        assert card["departures"] and any("surrogate" in d for d in card["departures"])
        assert METHODS.get(name).default_surrogates == ("mobilefacenet",)
    assert METHODS.get("opom-convexhull")().params["warmup"] == 5
    assert METHODS.get("fi-uap").scope == "person" and METHODS.get("fim").scope == "image"


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(BadInput, match=r"opom-convexhull parameter steps must be an integer in \[1, 100000\]"):
        METHODS.get("opom-convexhull")(steps=0)
    with pytest.raises(BadInput, match="unknown parameter"):
        METHODS.get("fi-uap")(warmup=3)
    with pytest.raises(BadInput, match="lower .* and upper .* must satisfy lower <= upper"):
        METHODS.get("opom-convexhull")(lower=0.5, upper=0.2)
    with pytest.raises(BadInput, match="needs a white-box surrogate"):
        METHODS.get("fi-uap")().person_mask(person(), ProtectContext(goal="dodge"))


def test_advcloak_example_sweep_runs_the_family_under_identify_at_l2_1200():
    from pathlib import Path

    from fpbench.sweep import load_sweep

    sweep = load_sweep(Path(__file__).parents[1] / "examples" / "advcloak_table1_mini.yaml")
    assert {s.method for s in sweep.specs} >= set(OPOM_FAMILY) | {"none", "random-mask", "gap", "advfaces-plus", "advcloak",
                                                                 "advcloak-affinehull", "advcloak-classcenter",
                                                                 "advcloak-convexhull"}
    assert all(s.protocol == "identify" and s.mask_l2 == 4.706 and s.dataset == "mini-1n-synthetic"
               for s in sweep.specs)
    assert all(s.method in METHODS for s in sweep.specs)
