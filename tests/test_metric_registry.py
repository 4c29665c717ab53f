"""The metric registry: hand-computed top-k protection with identity-clustered CIs, APSR over black-box
targets, PMT accuracy, the run view's metrics per protocol, and names checked against one list."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fpbench.errors import BadInput
from fpbench.metrics import clustered_rate_ci, distractors_above, rate_ci, topk_flags, verified_correctly
from fpbench.metrics.registry import METRICS, Metric, parse_metrics
from fpbench.results import RunResult, default_metrics
from fpbench.results.tables import BLACK_BOX, build_table


def identify_run(hits: dict[str, dict[str, list[tuple[bool, bool]]]], white_box: tuple[str, ...] = ()) -> RunResult:
    """target -> identity -> one (hit1, hit5) per probe."""
    rows = [{"pair": f"{who}{i}/g", "identity": who, "source": f"{who}{i}", "target": target, "transform": "identity",
             "kind": "identification", "n_above": 0 if h1 else (2 if h5 else 9), "hit1": h1, "hit5": h5, "hit10": True}
            for target, people in hits.items() for who, probes in people.items() for i, (h1, h5) in enumerate(probes)]
    card = {"method": {"method": "advcloak"}, "spec": {"goal": "dodge"}, "white_box": list(white_box),
            "protocol_name": "identify"}
    return RunResult(card=card, scores=pd.DataFrame(rows))


# identity a: found at rank 1 twice, never in the top 5 once; identity b: never at rank 1, in the top 5 once
TWO_BY_THREE = {"sface": {"a": [(True, True), (True, True), (False, False)],
                          "b": [(False, True), (False, False), (False, False)]}}


def test_topk_protection_is_100_minus_accuracy_with_an_identity_bootstrap():
    table = build_table([identify_run(TWO_BY_THREE)], ["top1", "top5"])
    top1, top5 = table.cells[("advcloak", "sface", "top1")], table.cells[("advcloak", "sface", "top5")]
    assert top1.value == pytest.approx(100 * 4 / 6) and top5.value == pytest.approx(100 * 3 / 6)
    assert top1.n == 6
    # two identities: a resample is {a,a} (1/3 protected), {a,b} (4/6) or {b,b} (1), each {a,a}/{b,b} with
    # probability 1/4, so the 2.5% and 97.5% percentiles are the two extremes
    assert (top1.lo, top1.hi) == (pytest.approx(100 / 3), pytest.approx(100.0))
    # top-5: a is protected 1/3, b 2/3
    assert (top5.lo, top5.hi) == (pytest.approx(100 / 3), pytest.approx(200 / 3))


def test_clustered_ci_of_a_constant_is_the_constant_and_clusters_widen_it():
    found = {"sface": {"a": [(True, True)] * 3, "b": [(True, True)] * 3}}
    est = build_table([identify_run(found)], ["top1"]).cells[("advcloak", "sface", "top1")]
    assert (est.value, est.lo, est.hi) == (0.0, 0.0, 0.0)
    # one identity always protected, the other never: resampling people can give 0 or 1, rows cannot
    flags, people = np.array([0, 0, 0, 1, 1, 1]), np.array(list("aaabbb"))
    clustered, rows = clustered_rate_ci(flags, people), rate_ci(flags)
    assert clustered.value == rows.value == 0.5
    assert (clustered.lo, clustered.hi) == (0.0, 1.0) and 0.0 < rows.lo and rows.hi < 1.0
    with pytest.raises(ValueError):
        clustered_rate_ci(np.array([0, 2]), np.array(["a", "b"]))


def test_apsr_averages_top1_over_black_box_targets_only():
    hits = {"irse50": {"a": [(True, True)] * 2, "b": [(True, True)] * 2},  # white-box: 0% protected
            "sface": {"a": [(False, True)] * 2, "b": [(True, True)] * 2},  # 50%
            "facenet": {"a": [(False, False)] * 2, "b": [(False, True)] * 2}}  # 100%
    table = build_table([identify_run(hits, white_box=("irse50",))], ["apsr"])
    assert table.cols == [BLACK_BOX]
    est = table.cells[("advcloak", BLACK_BOX, "apsr")]
    assert est.value == pytest.approx(75.0) and est.n == 8
    # identities drawn jointly for both targets: {a,a} -> (100 + 100) / 2, {b,b} -> (0 + 100) / 2
    assert (est.lo, est.hi) == (pytest.approx(50.0), pytest.approx(100.0))


def test_accuracy_of_authorised_and_unauthorised_models():
    correct = {("authorised", "mobileface"): [True, True, True, False], ("unauthorised", "arcface"): [False] * 3 + [True]}
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "", "target": target, "transform": "identity",
             "kind": kind, "label": i % 2, "similarity": 0.4, "threshold": 0.3, "correct": ok}
            for (kind, target), flags in correct.items() for i, ok in enumerate(flags)]
    run = RunResult(card={"method": {"method": "pmt"}, "spec": {"goal": "dodge"}}, scores=pd.DataFrame(rows))
    assert default_metrics(run) == ["accuracy"]
    table = build_table([run], ["accuracy"])
    assert table.cells[("pmt", "mobileface", "accuracy")].value == 75.0
    assert table.cells[("pmt", "arcface", "accuracy")].value == 25.0
    assert run.table(fmt="csv", ci=False).splitlines() == ["target,Acc.", "mobileface,75.00", "arcface,25.00"]


def test_run_view_metrics_per_protocol():
    run = identify_run(TWO_BY_THREE)
    assert default_metrics(run) == ["top1", "top5"]
    assert run.table(fmt="csv", ci=False).splitlines() == ["target,Top-1 prot.,Top-5 prot.", "sface,66.67,50.00"]
    verify = RunResult(card={"method": {"method": "pgd"}, "spec": {"goal": "dodge"}},
                       scores=pd.DataFrame({"pair": ["p"], "target": ["t"], "transform": ["identity"],
                                            "kind": ["dodging"], "success": [True]}))
    assert default_metrics(verify) == ["psr"]


def test_registry_entries_are_complete_and_names_checked():
    for m in METRICS.values():
        assert m.title and m.description and m.protocols and m.name == m.name.lower()
        assert (m.cluster is not None) == m.aggregation.startswith(("clustered", "black-box"))
    assert {"asr", "psr", "esr", "esr_wrong", "rvr", "top1", "top5", "top10", "apsr", "accuracy", "l1", "mse", "psnr",
            "ssim", "lpips", "fid", "kid"} <= set(METRICS)
    assert parse_metrics("top1, apsr") == ["top1", "apsr"]
    with pytest.raises(ValueError):
        Metric("x", "X", ("dodging",), "success", True, "median", ("verify",), "no such aggregation")
    with pytest.raises(BadInput, match="unknown metric 'top3'; available: asr, psr, .*top10, apsr, top1_real, top5_real, accuracy"):
        parse_metrics("top3")


def test_rank_and_decision_columns_of_the_new_protocols():
    probes = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    genuine = np.array([[1.0, 0.1], [1.0, 0.0], [1.0, 1.0]])
    distractors = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
    # p0: only the identical distractor beats its genuine entry; p1: its genuine entry is orthogonal, the
    # distractors [0, 1] and [0.6, 0.8] are closer; p2: identical to its genuine entry, nothing beats it
    n_above = distractors_above(probes, genuine, distractors)
    assert n_above.tolist() == [1, 2, 0]
    flags = topk_flags(n_above, ks=(1, 2, 5))
    assert flags["hit1"].tolist() == [False, False, True] and flags["hit2"].tolist() == [True, False, True]
    assert flags["hit5"].all()
    sim, label = np.array([0.5, 0.2, 0.5, 0.2]), np.array([1, 1, 0, 0])
    assert verified_correctly(sim, 0.3, label).tolist() == [True, False, False, True]
