"""End to end on the embedded mini data with real zoo models (fetched on first use)."""
from __future__ import annotations

import pytest

from fpbench.runner import Runner
from fpbench.spec import RunSpec


@pytest.fixture(scope="module")
def runs(mini, embedded, tmp_path_factory):
    for name in ("sface", "mobilefacenet"):
        embedded(name)
    out = tmp_path_factory.mktemp("runs")
    common = dict(targets=("sface", "arcface"), surrogates=("mobilefacenet",), transforms=("identity", "jpeg50"))
    specs = {
        "none": RunSpec(method="none", quality=False, **{**common, "surrogates": ()}),
        "fgsm": RunSpec(method="fgsm", params={"eps": 4 / 255}, quality=False, **common),
        "pgd": RunSpec(method="pgd", params={"eps": 4 / 255, "steps": 5}, **common),
    }
    return {name: Runner(spec, out, progress=False).execute() for name, spec in specs.items()}


def asr(result, target: str, transform: str = "identity") -> float:
    s = result.scores
    return s[(s["target"] == target) & (s["transform"] == transform) & (s["kind"] == "impersonation")]["success"].mean()


def similarity(result, target: str) -> float:
    s = result.scores
    return s[(s["target"] == target) & (s["transform"] == "identity")]["similarity"].mean()


def test_white_box_pgd_beats_fgsm_beats_clean(runs):
    """Same Linf budget: PGD's success rate is at least FGSM's, and it gets strictly closer to the target."""
    wb = "arcface[mobilefacenet]"
    assert asr(runs["pgd"], wb) >= asr(runs["fgsm"], wb) > asr(runs["none"], wb)
    assert similarity(runs["pgd"], wb) > similarity(runs["fgsm"], wb) > similarity(runs["none"], wb)
    assert runs["pgd"].card["white_box"] == [wb]


def test_card_names_what_ran_and_thresholds(runs):
    card = runs["pgd"].card
    assert [t["display"] for t in card["targets"]] == ["sface", "arcface[mobilefacenet]"]
    assert card["dataset"]["name"] == "mini" and len(card["dataset"]["manifest_sha256"]) == 64
    for display in ("sface", "arcface[mobilefacenet]"):
        tau = card["thresholds"][display]["far"]["0.01"]
        assert tau["source"].startswith("calibrated on") and tau["n_impostor"] > 100
    assert card["targets"][0]["model"]["weights_sha256"]


def test_quality_is_measured(runs):
    q = runs["pgd"].quality
    assert set(q.columns) >= {"l1", "mse", "psnr", "ssim", "lpips"}
    assert (q.psnr > 30).all() and (q.ssim > 0.8).all() and (q.lpips < 0.2).all()
    assert set(q.image) == {"protected"}  # pgd has no unperturbed output and no restorer
    s = runs["pgd"].card["quality"]
    assert s["sets"]["protected"]["fid"] > 0 and s["sets"]["protected"]["n"] == len(q)
    if s["sets"]["protected"]["kid_subset_size"] >= len(q):  # one subset, the whole set: no spread to report
        assert s["sets"]["protected"]["kid_std"] is None
    assert "package-derived" in str(s["weights"]) or "official" in str(s["weights"])
