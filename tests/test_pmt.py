"""PMT / MR-PMT (spec B2, B6, C7): the optimisation on a tiny network, its pieces, the method's checks."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn as nn

from fpbench.errors import BadInput
from fpbench.methods import METHODS, ProtectContext
from fpbench.methods.pmt.algorithm import Settings, init_image, objective, obfuscate, ti_kernel
from fpbench.zoo import FaceModel, InputSpec, ModelCard, is_fetched, load
from fpbench.zoo.split import Shallow, split

PLAIN = Settings(steps=40, alpha=4 / 255, alpha_end=1 / 255, augment="none", aggregate=False, kernel="none")


def _tiny(seed: int) -> tuple[FaceModel, Shallow]:
    """A 16 px two-unit conv net and its whole trunk as E_c."""
    torch.manual_seed(seed)
    units = [nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.PReLU(8)), nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1), nn.PReLU(8))]
    card = ModelCard("tiny", "tiny conv", 8, InputSpec(size=16, mean=(127.5,) * 3, std=(128.0,) * 3))
    model = FaceModel(nn.Sequential(*units, nn.AdaptiveAvgPool2d(1)), card).eval()
    return model, Shallow(model, units).eval()


def _faces(n: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(7))


def _j(shallows, x, x_t, s) -> torch.Tensor:
    with torch.no_grad():
        return objective(shallows, x, x_t, replace(s, augment="none"))


@pytest.mark.parametrize("settings", [PLAIN, Settings(steps=40)], ids=["algorithm1", "algorithm2"])
def test_pmt_on_a_tiny_network_decreases_j_and_clips(settings):
    _, e_c = _tiny(0)
    x = _faces()
    g = torch.Generator().manual_seed(0)
    x0 = init_image(x, settings.init, torch.Generator().manual_seed(0))
    x_t = obfuscate(x, [e_c], settings, g)
    assert x_t.shape == x.shape and x_t.min() >= 0 and x_t.max() <= 1
    before, after = _j([e_c], x, x0, settings), _j([e_c], x, x_t, settings)
    assert (after < 0.5 * before).all()


def test_mr_pmt_decreases_every_models_distance():
    e_a, e_b = _tiny(0)[1], _tiny(1)[1]
    x = _faces()
    s = replace(PLAIN, squared=False)
    x0 = init_image(x, "noise", torch.Generator().manual_seed(0))
    x_t = obfuscate(x, [e_a, e_b], s, torch.Generator().manual_seed(0))
    for e in (e_a, e_b):
        assert (_j([e], x, x_t, s) < _j([e], x, x0, s)).all()


def test_ti_kernels_match_the_spec():
    w = ti_kernel("gaussian", 1)[0, 0]
    assert w.sum().item() == pytest.approx(1)
    assert w[1, 1].item() == pytest.approx(0.478, abs=1e-3)
    assert w[0, 1].item() == pytest.approx(0.107, abs=1e-3) and w[0, 0].item() == pytest.approx(0.024, abs=1e-3)
    lin = ti_kernel("linear", 2)[0, 0]
    assert lin.shape == (5, 5) and lin.sum().item() == pytest.approx(1)
    assert lin[2, 2] > lin[1, 2] > lin[0, 2] > 0
    assert ti_kernel("none", 1) is None


def test_inits():
    x = _faces(2)
    g = torch.Generator().manual_seed(0)
    noise = init_image(x, "noise", g)
    assert noise.min() >= 0 and noise.max() <= 1 and (noise - x).abs().mean() > 0.2
    sort = init_image(x, "sort", g)
    pixels = lambda t: sorted(map(tuple, t.flatten(1).T.tolist()))  # noqa: E731  the RGB triples of one image
    assert pixels(sort[0]) == pixels(x[0]) and not torch.equal(sort, x)
    blur = init_image(x, "blur", g, 2.0)
    assert blur.shape == x.shape and blur.std() < x.std()


def test_the_method_needs_one_authorised_model_and_checks_its_parameters():
    model, _ = _tiny(0)
    pmt = METHODS.get("pmt")(steps=2)
    x = _faces(1, 112)
    with pytest.raises(BadInput, match="needs an authorised local model"):
        pmt.protect(x, ProtectContext(goal="dodge"))
    with pytest.raises(BadInput, match="use --method mr-pmt"):
        pmt.protect(x, ProtectContext(goal="dodge", authorised=[model, model]))
    with pytest.raises(BadInput, match="pmt parameter init must be one of"):
        METHODS.get("pmt")(init="zeros")
    with pytest.raises(BadInput, match="normalise applies to mr-pmt only"):
        METHODS.get("pmt")(normalise=True)
    with pytest.raises(BadInput, match="unknown PMT profile"):
        METHODS.get("pmt")(profile="huge")


def test_card_states_the_profile_and_every_decision():
    mini, paper = METHODS.get("pmt")(), METHODS.get("mr-pmt")(profile="paper", normalise=True)
    assert mini.card()["settings"]["steps"] == 100 and paper.card()["settings"]["steps"] == 300
    assert any("sign slips" in d or "two slips" in d for d in mini.card()["departures"])
    assert any(d.startswith("steps: 100") for d in mini.card()["departures"])
    assert paper.card()["settings"]["squared"] is False and paper.card()["settings"]["normalise"] is True
    assert METHODS.get("pmt").goals == ("dodge",) and METHODS.get("pmt").scope == "image"


def _real(name: str) -> FaceModel:
    if not is_fetched(name):
        pytest.skip(f"{name} weights are not in this cache")
    return load(name)


def test_features_are_the_shallow_map_of_the_authorised_model():
    model = _real("mfn512")
    x = _faces(2, 112)
    z = METHODS.get("pmt")().features(x, ProtectContext(goal="dodge", authorised=[model]))
    assert len(z) == 1 and tuple(z[0].shape) == (2, 64, 28, 28)
    with torch.no_grad():
        assert torch.equal(z[0], split(model)[0](x))


def test_face_preserving_inits_keep_the_face_for_an_unauthorised_model():
    """Spec B6 check 6 (Table III direction) at a few steps: a blurred start keeps x's identity for an
    unauthorised model, a noise start does not."""
    from fpbench.data import load_dataset

    authorised, other = _real("mobilefacenet"), _real("sface")
    faces = [r for r in load_dataset("mini").records if r.role == "source"][:2]
    x = load_dataset("mini").images(faces)
    e_c = split(authorised)[0]
    cos = {}
    for init in ("noise", "blur"):
        x_t = obfuscate(x, [e_c], Settings(steps=15, init=init), torch.Generator().manual_seed(0))
        with torch.no_grad():
            cos[init] = (other(x_t) * other(x)).sum(1)
    assert (cos["blur"] > cos["noise"] + 0.3).all()


def test_pmt_runs_through_the_authorise_protocol(mini, embedded, tmp_path):
    """End to end on mini: the authorised model reaches the method, its rows are kind authorised, and a run
    without --authorised is a one-line error."""
    import fpbench

    for name in ("mobilefacenet", "sface"):
        embedded(name)
    common = dict(dataset="mini", protocol="authorise", quality=False, out=None)
    result = fpbench.run("pmt", ["mobilefacenet", "sface"], authorised=["mobilefacenet"],
                         params={"steps": 2}, **common)
    s = result.scores
    assert set(s[s["target"] == "mobilefacenet"]["kind"]) == {"authorised", "authorised-kappa"}
    assert set(s[s["target"] == "sface"]["kind"]) == {"unauthorised", "unauthorised-kappa"}
    assert (s["self_similarity"] < 0.99).all()  # x~1 is not x1
    assert s["synthetic"].any() and not s["synthetic"].all()  # mini-pmt: synthetic genuine partners flagged
    assert s["correct_float"].notna().all()  # the float x~ before quantisation is scored too (E7)
    assert (s["correct_float"] != s["correct"]).sum() <= len(s) // 4  # and mostly agrees with the 8-bit PNG
    with pytest.raises(BadInput, match="needs an authorised local model"):
        fpbench.run("pmt", ["sface"], **common)
    both = fpbench.run("mr-pmt", ["mobilefacenet", "sface"], authorised=["mobilefacenet", "sface"],
                       params={"steps": 1}, **common).scores
    assert set(both["kind"]) == {"authorised", "authorised-kappa"}


def test_mini_pmt_pairs_follow_spec_b51(mini):
    from fpbench.protocols.authorise import verification_pairs
    from fpbench.protocols.pmt_pairs import SYNTHETIC

    pairs = verification_pairs(mini)
    assert pairs == verification_pairs(mini)  # seeded: the same pairs every time
    assert len(pairs) == 48 and sum(y for _, _, y in pairs) == 24
    x1 = [a.id for a, _, _ in pairs]
    assert len(set(x1)) == 24 and sum(mini.by_id([i])[0].split == "train" for i in set(x1)) == 8
    for a, b, y in pairs:
        assert (a.identity == b.identity) == bool(y) and a.id != b.id
    real = {(a.id, b.id) for a, b, y in pairs if y and b.role != SYNTHETIC}
    assert {("obama", "obama2"), ("einstein", "einstein_tongue"), ("faceapi_s1_2", "faceapi_s3_3")} <= real
    synthetic = [(a, b) for a, b, y in pairs if b.role == SYNTHETIC]
    assert len(synthetic) == 24 - len(real)
    a, b = synthetic[0]
    xa, xb = mini.images([a]), mini.images([b])
    assert 0.005 < (xa - xb).abs().mean().item() < 0.15  # a variant of the photo, not the photo


def test_table_vii_average_is_the_mean_of_the_unauthorised_models_only():
    import pandas as pd

    from fpbench.results.table_vii import table_vii

    rows = []
    for target, kind, correct in (("a", "authorised", [1, 1, 1, 0]), ("b", "unauthorised", [0, 0, 0, 1]),
                                  ("c", "unauthorised", [0, 1, 1, 1])):
        for suffix, flip in (("", False), ("-kappa", True)):
            rows += [{"target": target, "kind": kind + suffix, "transform": "identity",
                      "correct": bool(v) != flip} for v in correct]
    df = table_vii(pd.DataFrame(rows))
    assert list(df.columns) == ["a *", "b", "c", "Average"]
    assert df.loc["calibrated"].tolist() == [75.0, 25.0, 75.0, 50.0]
    assert df.loc["kappa 0.2"].tolist() == [25.0, 75.0, 25.0, 50.0]
    clean = table_vii(pd.DataFrame(rows), clean=True)  # the Clean row averages every model, as the paper does
    assert list(clean.columns) == ["a", "b", "c", "Average"] and clean.loc["calibrated", "Average"] == 175 / 3


def test_plan_names_the_work_before_a_run():
    text = METHODS.get("pmt")().plan(24, ("mobilefacenet",))
    assert "24 images x 100 steps" in text and "mobilefacenet" in text and "1.2 CPU-min" in text
