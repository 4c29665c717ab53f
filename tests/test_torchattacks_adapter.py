"""``torchattacks:NAME`` methods: the attack's own loss on the embedding-space wrapper impersonates or dodges,
names and parameters are checked in one line, and on mini torchattacks' PGD and fpbench's PGD agree in ASR
within their confidence intervals."""
from __future__ import annotations

import pytest
import torch

from fpbench.cli.listing import rows
from fpbench.errors import BadInput
from fpbench.methods import METHODS
from fpbench.metrics.estimate import rate_ci
from fpbench.runner import Runner
from fpbench.spec import RunSpec
from test_gradient_methods import context, faces, random_perturbation, similarity, surrogate

pytest.importorskip("torchattacks", reason="torchattacks is not installed (pip install 'fpbench[torchattacks]')")

EPS = 8 / 255


@pytest.mark.parametrize("attack, params", [("PGD", {"steps": 4, "alpha": 2 / 255}), ("FGSM", {}),
                                            ("MIFGSM", {"steps": 4})])
@pytest.mark.parametrize("goal", ["impersonate", "dodge"])
def test_the_attacks_own_loss_moves_the_embedding_the_right_way(attack, params, goal):
    method = METHODS.get(f"torchattacks:{attack}")(eps=EPS, **params)
    x, ctx = faces(4, 0), context(goal, 4)
    adv = method.protect(x, ctx)
    assert adv.shape == x.shape and 0 <= float(adv.min()) and float(adv.max()) <= 1
    assert float((adv - x).abs().max()) <= EPS + 1e-6
    after = similarity(surrogate(), adv, ctx, x)
    noise = similarity(surrogate(), random_perturbation(x, EPS, "linf"), ctx, x)  # the budget spent blindly
    better = after - noise if goal == "impersonate" else noise - after
    assert bool((better > 0).all())


@pytest.mark.parametrize("goal", ["impersonate", "dodge"])
def test_cos_threshold_is_what_a_success_seeking_attack_aims_for(goal):
    """CW keeps each image's smallest perturbation that its classifier calls a success: with the threshold
    just past every clean cosine, every image crosses it, and barely; with it already met, nothing moves."""
    x, ctx = faces(4, 0), context(goal, 4)
    before = similarity(surrogate(), x, ctx, x)
    past = float(before.max()) + 0.02 if goal == "impersonate" else float(before.min()) - 0.02
    cw = dict(steps=50, lr=0.05, c=10, logit_scale=30)
    adv = METHODS.get("torchattacks:CW")(**cw, cos_threshold=past).protect(x, ctx)
    after = similarity(surrogate(), adv, ctx, x)
    assert bool(((after > past) if goal == "impersonate" else (after < past)).all())
    assert float((after - past).abs().max()) < 0.05
    if goal == "impersonate":  # (a clean face's cosine to itself is 1: dodging's threshold is never met)
        met = METHODS.get("torchattacks:CW")(**cw, cos_threshold=-1.0).protect(x, ctx)
        assert float((met - x).abs().max()) < 1e-3


def test_the_run_generator_decides_the_random_start():
    method = METHODS.get("torchattacks:PGD")(eps=EPS, steps=2)
    x = faces(2, 0)
    same = [method.protect(x, context("impersonate", 2, seed=1)) for _ in range(2)]
    other = method.protect(x, context("impersonate", 2, seed=2))
    assert torch.equal(same[0], same[1]) and not torch.equal(same[0], other)


@pytest.mark.parametrize("name, params, message", [
    ("torchattacks:Nope", {}, "unknown torchattacks attack 'Nope'; available: "),
    ("torchattacks:PGD", {"colour": 1}, "unknown parameter(s) ['colour'] for torchattacks:PGD"),
    ("torchattacks:PGD", {"logit_scale": -1}, "torchattacks:PGD parameter logit_scale must be"),
])
def test_wrong_names_and_parameters_are_one_line_errors(name, params, message):
    with pytest.raises(BadInput) as e:
        METHODS.get(name)(**params)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_an_attack_without_a_targeted_mode_cannot_impersonate():
    method = METHODS.get("torchattacks:GN")()
    with pytest.raises(BadInput, match="no targeted mode, so it cannot impersonate; use --goal dodge"):
        method.protect(faces(1, 0), context("impersonate", 1))


def test_listed_with_the_methods():
    assert any(name == "torchattacks:NAME" for name, _, _ in rows("methods"))


def asr_ci(spec: RunSpec, out) -> dict[str, tuple[float, float, float]]:
    """Per target: identity-channel impersonation ASR with its 95% bootstrap CI."""
    scores = Runner(spec, out, progress=False).execute().scores
    pairs = scores[(scores["transform"] == "identity") & (scores["kind"] == "impersonation")]
    estimates = {}
    for target, group in pairs.groupby("target"):
        est = rate_ci(group["success"].to_numpy())
        estimates[target] = (est.value, est.lo, est.hi)
    return estimates


def test_torchattacks_pgd_and_fpbench_pgd_agree_on_mini(mini, embedded, tmp_path):
    """Same budget, steps, step size and random start; the white-box ASR is not saturated (eps 1/255), so
    the comparison can fail."""
    for name in ("sface", "mobilefacenet"):
        embedded(name)
    common = dict(targets=("mobilefacenet", "sface"), surrogates=("mobilefacenet",), quality=False)
    params = {"eps": 1 / 255, "steps": 5, "alpha": 0.5 / 255}
    ours = asr_ci(RunSpec(method="pgd", params=params, **common), tmp_path)
    theirs = asr_ci(RunSpec(method="torchattacks:PGD", params=params, **common), tmp_path)
    clean = asr_ci(RunSpec(method="none", **{**common, "surrogates": ()}), tmp_path)
    assert ours["mobilefacenet"][0] > clean["mobilefacenet"][2]  # the attack did something on the white box
    for target in ("mobilefacenet", "sface"):
        (a, a_low, a_high), (b, b_low, b_high) = ours[target], theirs[target]
        assert a_low <= b <= a_high and b_low <= a <= b_high, (target, ours[target], theirs[target])
