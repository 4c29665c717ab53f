"""PMT's expected results E1-E7 on authorise runs: hand-computed gaps, paired over the same source faces."""
from __future__ import annotations

import pandas as pd
import pytest

from fpbench.claims import check_paper
from fpbench.claims.base import NOT_EVALUABLE, NOT_REPRODUCED, REPRODUCED
from fpbench.errors import BadInput
from fpbench.results import RunResult
from fpbench.results.card import SCHEMA_VERSION
from test_run_card import card_fields

SOURCES = [f"x{i}" for i in range(8)]


def run(method: str, allowed: list[str], accuracy: dict[str, float], params: dict | None = None,
        extra: list[dict] | None = None) -> RunResult:
    """An authorise run: per target, the share of the 8 source faces whose pair is decided correctly."""
    rows = []
    for target, share in accuracy.items():
        kind = "authorised" if target in allowed else "unauthorised"
        for k, source in enumerate(SOURCES):
            rows.append({"pair": f"{source}|y", "source": source, "target": target, "transform": "identity",
                         "kind": kind, "correct": k < round(8 * share), "correct_float": k < round(8 * share)})
    card = {**card_fields(), "method": {"method": method}, "protocol_name": "authorise",
            "schema_version": SCHEMA_VERSION,
            "spec": {**card_fields()["spec"], "authorised": allowed, "params": params or {}}}
    return RunResult(card=card, scores=pd.DataFrame(rows + (extra or [])))


def verdicts(runs):
    return {v.key: v for v in check_paper("pmt", runs)}


def test_reconstruction_and_up_gaps_are_the_paired_mean_differences_by_hand():
    extra = []
    for k, source in enumerate(SOURCES):
        for kind, ssim, up in (("reconstruction", 0.1, None), ("reconstruction-unprotected", 0.6, None),
                               ("reconstruction-permuted-noise", 0.1 + 0.05 * (k % 2), None),
                               ("utility-privacy", None, 1.5), ("utility-privacy-original", None, 1.0)):
            row = {"pair": source, "source": source, "target": "mobilefacenet", "transform": "identity", "kind": kind}
            extra.append({**row, **({"ssim": ssim} if ssim is not None else {"up": up})})
    v = verdicts([run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0, "sface": 0.25}, extra=extra)])
    e2 = {g.label: g.estimate for g in v["E2"].gaps}
    assert e2["level 2: SSIM x100 from z - from z~ (mobilefacenet)"].value == pytest.approx(50.0)
    assert e2["level 2: SSIM x100 from z_rn - from z~ (mobilefacenet)"].value == pytest.approx(2.5)  # half +5
    assert not any(label.startswith("level 1") for label in e2)  # no RecFace rows in this run
    assert v["E2"].status == REPRODUCED
    assert v["E3"].gaps[0].estimate.value == pytest.approx(50.0) and v["E3"].status == REPRODUCED
    assert v["E1"].status == NOT_EVALUABLE and "--attacks attributes" in v["E1"].reason


def test_attribute_gaps_compare_the_released_face_with_gaussian_noise_by_hand():
    target = "attributes (human-models, not DeepFace)"
    extra = [{"pair": src, "source": src, "target": target, "transform": "identity", "kind": kind,
              "attr_emotion": emotion, "attr_race": 0.8, "attr_gender": 0.9, "attr_age": age}
             for src in SOURCES for kind, emotion, age in (("attributes", 0.3, 9.0), ("attributes-noise-0.3", 0.8, 5.0))]
    e1 = verdicts([run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0}, extra=extra)])["E1"]
    gaps = {g.label: g.estimate.value for g in e1.gaps}
    assert gaps["emotion CosSim x100, noise 0.3 - x~"] == pytest.approx(50.0)
    assert gaps["race CosSim x100, noise 0.3 - x~"] == pytest.approx(0.0)
    assert gaps["|delta age| years (SSR-Net), x~ - noise 0.3"] == pytest.approx(4.0)
    assert e1.status == NOT_REPRODUCED and "race" in e1.reason  # a zero gap is not a reproduction


def test_up_gaps_follow_the_curve_when_the_run_has_it():
    extra = [{"pair": src, "source": src, "target": "mobilefacenet", "transform": "identity", "kind": kind,
              "sigma": sigma, "up": value + sigma}
             for src in SOURCES for sigma in (0.0, 0.2)
             for kind, value in (("up-curve", 1.2), ("up-curve-original", 1.0))]
    e3 = verdicts([run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0}, extra=extra)])["E3"]
    assert [g.label for g in e3.gaps] == ["UP x100 of x~ - of x at sigma 0 (mobilefacenet)",
                                          "UP x100 of x~ - of x at sigma 0.2 (mobilefacenet)"]
    assert all(g.estimate.value == pytest.approx(20.0) for g in e3.gaps) and e3.status == REPRODUCED


def test_mr_pmt_ablations_same_architecture_and_quantisation():
    base = run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0, "mfn512": 0.125, "sface": 0.25, "dlib-resnet29": 0.0})
    more = run("mr-pmt", ["mobilefacenet", "sface"], {"mobilefacenet": 1.0, "sface": 1.0, "mfn512": 0.5,
                                                     "dlib-resnet29": 0.25})
    affine = run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0, "mfn512": 0.5, "sface": 0.75, "dlib-resnet29": 0.5},
                 params={"augment": "affine"})
    v = verdicts([base, more, affine])
    e4 = v["E4"].gaps[0]
    assert e4.label == "unauthorised acc. with mobilefacenet+sface - with mobilefacenet"
    assert e4.estimate.value == pytest.approx(((50 - 12.5) + (25 - 0)) / 2)  # over mfn512 and dlib, shared
    assert v["E5"].gaps[0].estimate.value == pytest.approx(((50 - 12.5) + (75 - 25) + (50 - 0)) / 3)
    assert v["E6"].gaps[0].label == "25 - acc. of mfn512 (mobilefacenet authorised)"
    assert v["E6"].gaps[0].estimate.value == pytest.approx(25 - 12.5)
    assert v["E7"].status == REPRODUCED and all(g.estimate.value == pytest.approx(2.0) for g in v["E7"].gaps)


def test_quantisation_that_costs_more_than_two_points_is_not_reproduced():
    r = run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0, "sface": 0.0})
    auth = r.scores["kind"] == "authorised"
    r.scores.loc[auth & r.scores["source"].isin(["x0", "x1"]), "correct"] = False  # the PNG loses 25 points
    e7 = verdicts([r])["E7"]
    gaps = {g.label: g.estimate.value for g in e7.gaps}
    assert gaps["2 - (float - 8-bit) acc. (mobilefacenet)"] == pytest.approx(2 - 25)
    assert gaps["2 - (8-bit - float) acc. (mobilefacenet)"] == pytest.approx(2 + 25)
    assert e7.status == NOT_REPRODUCED and "2 - (float - 8-bit)" in e7.reason


def test_pmt_claims_need_authorise_runs():
    identify = run("pmt", ["mobilefacenet"], {"mobilefacenet": 1.0})
    identify.card["protocol_name"] = "identify"
    with pytest.raises(BadInput, match="authorise-protocol run"):
        check_paper("pmt", [identify])
