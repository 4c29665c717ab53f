"""gmaa: expression warps (identity at s = 0, differentiable, local) and the attack (budget, effect, seeds)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from fpbench.errors import BadInput
from fpbench.images import arcface_template, write_png
from fpbench.methods import METHODS, ProtectContext
from fpbench.methods.expression import ACTION_UNITS, EVAL_STATES, warp_expression
from fpbench.methods.gmaa import GMAA, expression_grid, target_set
from fpbench.zoo import FaceModel, InputSpec, ModelCard

SIZE = 64
FAST = dict(steps=8, copies=2)


def toy_model(seed: int) -> FaceModel:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 5, stride=2), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(512, 64),
    )
    spec = InputSpec(size=SIZE, scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    model = FaceModel(net, ModelCard(name=f"toy{seed}", architecture="toy CNN", embedding_dim=64, input=spec)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def faces(n: int, seed: int) -> torch.Tensor:
    """Smooth random RGB patterns at SIZE (stand-ins for aligned crops)."""
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(n, 3, 8, 8, generator=g), size=(SIZE, SIZE), mode="bicubic",
                         align_corners=False).clamp(0, 1)


def context(targets: torch.Tensor, seed: int = 0, surrogates=None) -> ProtectContext:
    return ProtectContext("impersonate", surrogates if surrogates is not None else [toy_model(1)], targets,
                          torch.Generator().manual_seed(seed))


def states(**units: float) -> torch.Tensor:
    return torch.tensor([[units.get(u, 0.0) for u in ACTION_UNITS]])


# ------------------------------------------------------------------------------------------- warps
def test_neutral_state_is_identity():
    x = torch.rand(2, 3, SIZE, SIZE)
    assert torch.allclose(warp_expression(x, torch.zeros(2, len(ACTION_UNITS))), x, atol=1e-5)


def test_warp_is_differentiable_in_image_and_state():
    x = torch.rand(1, 3, 24, 24, dtype=torch.float64, requires_grad=True)
    s = (torch.rand(1, len(ACTION_UNITS), generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1)
    s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda img, st: warp_expression(img, st), (x, s))


def test_mouth_units_move_pixels_near_the_mouth_not_far_from_it():
    x = torch.rand(1, 3, 112, 112, generator=torch.Generator().manual_seed(0))
    change = (warp_expression(x, states(jaw=1.0, smile=1.0, lips=1.0)) - x).abs().mean(1)[0]
    mx, my = np.round(arcface_template(112)[3:].mean(0)).astype(int)
    near = change[my - 8:my + 8, mx - 16:mx + 16].mean()
    far = change[:24, :].mean()  # forehead band
    assert near > 0.05 and far < 1e-3 and near > 50 * far


def test_eye_and_brow_units_act_above_the_mouth():
    x = torch.rand(1, 3, 112, 112, generator=torch.Generator().manual_seed(1))
    change = (warp_expression(x, states(eyes=1.0, brows=1.0)) - x).abs().mean(1)[0]
    ey = int(arcface_template(112)[0, 1])
    assert change[ey - 20:ey + 6].mean() > 20 * change[100:].mean()


def test_expression_grid_renders_each_state():
    x = torch.rand(3, 3, SIZE, SIZE)
    grid = expression_grid(x)
    assert grid.shape == (3, len(EVAL_STATES), 3, SIZE, SIZE)
    assert torch.allclose(grid[:, 0], x, atol=1e-5)  # the first state is neutral
    assert (grid[:, 1:] - x.unsqueeze(1)).abs().amax(dim=(2, 3, 4)).min() > 0.01
    custom = expression_grid(x, torch.zeros(2, len(ACTION_UNITS)))
    assert custom.shape == (3, 2, 3, SIZE, SIZE)


# ------------------------------------------------------------------------------------------ attack
def test_protect_respects_budget_range_and_shape():
    x, t = faces(3, 0), faces(3, 1)
    eps = 4 / 255
    adv = GMAA(eps=eps, **FAST).protect(x, context(t))
    assert adv.shape == x.shape and adv.dtype == torch.float32
    assert adv.min() >= 0 and adv.max() <= 1
    assert (adv - x).abs().max() <= eps + 1e-6
    assert (adv - x).abs().max() > eps / 2


def test_white_box_impersonation_gets_closer_to_the_target():
    model = toy_model(1)
    x, t = faces(4, 0), faces(4, 1)
    adv = GMAA(steps=15).protect(x, context(t, surrogates=[model]))
    with torch.no_grad():
        before, after = ((model(v) * model(t)).sum(1) for v in (x, adv))
    assert (after > before).all() and (after - before).mean() > 0.05
    with torch.no_grad():  # and it holds under held-out expressions
        warped = model(expression_grid(adv).flatten(0, 1)).view(4, len(EVAL_STATES), -1)
    assert ((warped * model(t).unsqueeze(1)).sum(-1) > before.unsqueeze(1)).all()


def test_dodging_moves_away_from_the_source():
    model = toy_model(1)
    x = faces(2, 0)
    ctx = ProtectContext("dodge", [model], None, torch.Generator().manual_seed(0))
    adv = GMAA(**FAST).protect(x, ctx)
    with torch.no_grad():
        assert ((model(adv) * model(x)).sum(1) < 0.99).all()


def test_seeded_runs_are_identical_and_seeds_matter():
    x, t = faces(2, 0), faces(2, 1)
    method = GMAA(**FAST)
    runs = []
    for global_seed, seed in ((1, 7), (2, 7), (3, 8)):
        ctx = context(t, seed=seed)  # (building the toy surrogate seeds the global RNG)
        torch.manual_seed(global_seed)  # the context's generator must be the only source of randomness
        runs.append(method.protect(x, ctx))
    a, b, c = runs
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_target_set_holds_the_photo_its_views_and_extra_photos():
    t = faces(2, 1)
    views = target_set(t, 4, torch.Generator().manual_seed(0))
    assert views.shape == (4, 2, 3, SIZE, SIZE)
    assert torch.equal(views[0], t)
    assert ((views[1:] - t).abs().mean(dim=(2, 3, 4)) > 1e-3).all()
    extra = faces(3, 5)
    with_extra = target_set(t, 2, torch.Generator().manual_seed(0), extra)
    assert with_extra.shape[0] == 5 and torch.allclose(with_extra[2, 1], extra[0], atol=1e-6)


def test_extra_targets_folder_is_loaded_and_hashed_into_the_card(tmp_path):
    for i, img in enumerate(faces(2, 9)):
        write_png(tmp_path / f"t{i}.png", img)
    card = GMAA(extra_targets=str(tmp_path), **FAST).card()
    assert len(card["extra_targets_sha256"]) == 64
    adv = GMAA(extra_targets=str(tmp_path), **FAST).protect(faces(1, 0), context(faces(1, 1)))
    assert adv.shape == (1, 3, SIZE, SIZE)
    with pytest.raises(BadInput, match="extra_targets"):
        GMAA(extra_targets=str(tmp_path / "missing"))


def test_card_parameters_and_profiles():
    assert METHODS.get("gmaa") is GMAA
    card = GMAA().card()
    assert card["params"]["profile"] == "mini" and card["params"]["steps"] == 50 and card["params"]["copies"] == 2
    assert card["params"]["eps"] == pytest.approx(8 / 255)
    assert card["approximation"].startswith("approximation of GMAA (Li et al. 2023)") and card["departures"]
    paper = GMAA(profile="paper").card()["params"]
    assert paper["steps"] == 200 and paper["copies"] == 5
    assert GMAA(profile="paper", steps=10).params["steps"] == 10


def test_bad_input_is_one_clear_error():
    with pytest.raises(BadInput, match="unknown parameter"):
        GMAA(epsilon=0.1)
    with pytest.raises(BadInput, match="profile"):
        GMAA(profile="huge")
    with pytest.raises(BadInput, match="surrogate"):
        GMAA(**FAST).protect(faces(1, 0), context(faces(1, 1), surrogates=[]))
    with pytest.raises(BadInput, match="target images"):
        GMAA(**FAST).protect(faces(1, 0), ProtectContext("impersonate", [toy_model(1)], None))
