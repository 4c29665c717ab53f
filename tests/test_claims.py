"""Papers' expected orderings: paired contrasts with identity-resampled CIs, and their verdicts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fpbench.claims import check_paper
from fpbench.claims.base import NOT_EVALUABLE, NOT_REPRODUCED, REPRODUCED, Claim, Evidence, ordering
from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.metrics.estimate import contrast_ci
from fpbench.results import RunResult
from fpbench.results.card import SCHEMA_VERSION
from fpbench.sweep import load_sweep
from test_run_card import card_fields

TARGETS = ("mobilefacenet", "sface", "dlib-resnet29", "mobileface256")  # white-box, same family, other, control
PEOPLE = [f"p{i}" for i in range(8)]


def run(method: str, protected: dict[str, float], mask_l2: float = 4.706, inference_photos: int | None = None) -> RunResult:
    """An identify run: per target, the share of each person's 4 probes that are protected (hit1 false)."""
    rows = []
    for target in TARGETS:
        for person in PEOPLE:
            n_protected = round(4 * protected.get(target, 0.0))
            for k in range(4):
                rows.append({"pair": f"{person}_{k}", "identity": person, "target": target, "transform": "identity",
                             "kind": "identification", "hit1": k >= n_protected})
    card = {**card_fields(), "method": {"method": method}, "protocol_name": "identify", "mask_l2": mask_l2,
            "inference_photos": inference_photos,
            "schema_version": SCHEMA_VERSION, "white_box": ["mobilefacenet"], "controls": ["mobileface256"],
            "dataset": {"name": "mini-1n-synthetic", "manifest_sha256": "ab" * 32}}
    return RunResult(card=card, scores=pd.DataFrame(rows))


def test_contrast_is_the_weighted_difference_of_stratum_means_by_hand():
    # stratum a: 1, 0, 1, 1 (mean 0.75); stratum b: 0, 0, 1, 0 (mean 0.25); a - b = 0.5
    values = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=float)
    clusters = np.array(["x", "y", "z", "w"] * 2)
    strata = np.array(["a"] * 4 + ["b"] * 4)
    est = contrast_ci(values, clusters, strata, {"a": 1.0, "b": -1.0})
    assert est.value == pytest.approx(0.5)
    assert est.lo <= 0.5 <= est.hi and est.n == 8
    half = contrast_ci(values, clusters, strata, {"a": 0.5, "b": 0.5})  # the mean of the two means
    assert half.value == pytest.approx(0.5)


def test_a_clear_gap_is_reproduced_and_white_box_and_control_cells_do_not_count():
    strong = run("opom-convexhull", {"sface": 1.0, "dlib-resnet29": 0.75})
    weak = run("fi-uap", {"mobilefacenet": 1.0, "mobileface256": 1.0})  # protects only where it must not count
    claim = Claim("X", "convexhull > fi-uap", ordering([["opom-convexhull"], ["fi-uap"]]))
    verdict = claim.check(Evidence([strong, weak]))
    assert verdict.status == REPRODUCED
    assert verdict.gaps[0].estimate.value == pytest.approx((100 + 75) / 2)


def test_equal_or_reversed_gaps_are_not_reproduced_and_say_why():
    a, b = run("opom-convexhull", {"sface": 0.5}), run("fi-uap", {"sface": 0.5})
    claim = Claim("X", "a > b", ordering([["opom-convexhull"], ["fi-uap"]]))
    same = claim.check(Evidence([a, b]))
    assert same.status == NOT_REPRODUCED and "CI includes 0" in same.reason
    flipped = claim.check(Evidence([run("opom-convexhull", {}), run("fi-uap", {"sface": 1.0, "dlib-resnet29": 1.0})]))
    assert flipped.status == NOT_REPRODUCED and "reversed" in flipped.reason


def test_missing_runs_make_a_claim_not_evaluable_naming_them():
    verdicts = {v.key: v for v in check_paper("advcloak", [run("fi-uap", {"sface": 0.25})])}
    assert verdicts["E3"].status == NOT_EVALUABLE and "advcloak, advfaces-plus" in verdicts["E3"].reason
    assert verdicts["E7"].status == NOT_EVALUABLE
    assert set(verdicts) == {f"E{k}" for k in range(1, 8)}


def test_e4_compares_the_drops_to_other_architectures():
    fi = run("fi-uap", {"sface": 1.0, "dlib-resnet29": 0.25})  # drops 75 points
    ac = run("advcloak", {"sface": 1.0, "dlib-resnet29": 1.0})  # drops none
    e4 = {v.key: v for v in check_paper("advcloak", [fi, ac])}["E4"]
    assert e4.status == REPRODUCED and e4.gaps[0].estimate.value == pytest.approx(75.0)


def test_e6_reads_runs_of_one_method_at_several_mask_norms():
    runs = [run("fi-uap", {"sface": 0.25}, 2.0), run("fi-uap", {"sface": 0.5, "dlib-resnet29": 0.5}, 4.706)]
    e6 = {v.key: v for v in check_paper("advcloak", runs)}["E6"]
    assert [g.label for g in e6.gaps] == ["fi-uap L2 4.706 - 2"]
    assert e6.gaps[0].estimate.value == pytest.approx((25 + 50) / 2)


def test_e6_reads_runs_at_several_inference_photo_counts_and_other_claims_use_all_photos():
    runs = [run("advcloak", {"sface": 0.25}, inference_photos=1), run("advcloak", {"sface": 0.5}, inference_photos=5),
            run("advcloak", {"sface": 1.0}), run("fi-uap", {"sface": 0.5})]
    verdicts = {v.key: v for v in check_paper("advcloak", runs)}
    assert [g.label for g in verdicts["E6"].gaps] == ["advcloak K 5 - 1"]
    assert verdicts["E6"].gaps[0].estimate.value == pytest.approx((25 + 0) / 2)  # sface +25, dlib 0
    e3 = verdicts["E3"]  # advfaces-plus is missing, but advcloak's run is the one with all inference photos
    assert e3.status == NOT_EVALUABLE and "advfaces-plus" in e3.reason


def test_fpbench_claims_prints_every_claim(tmp_path, fresh_cache, capsys):
    for k, r in enumerate([run("opom-convexhull", {"sface": 1.0, "dlib-resnet29": 1.0}), run("fi-uap", {})]):
        r.save(tmp_path / f"r{k}")
    assert main(["claims", "advcloak", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| E") == 7 and "not evaluable (no run of opom-classcenter, opom-affinehull)" in out


def test_a_sweep_names_only_known_papers(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("dataset: toy-faces\ntargets: [toy-fr-a]\nmethods: [none]\nclaims: nobody\n")
    with pytest.raises(BadInput, match="no claims for paper 'nobody'; available: advcloak"):
        load_sweep(spec)


def test_apsr_leaves_out_white_box_targets_and_weak_controls_as_the_claims_do():
    from fpbench.results.tables import build_table

    r = run("fi-uap", {"mobilefacenet": 1.0, "sface": 1.0, "dlib-resnet29": 0.5, "mobileface256": 0.0})
    table = build_table([r], ["apsr"])
    (cell,) = table.cells.values()
    assert cell.value == pytest.approx(75.0)  # (100 + 50) / 2: not the white-box 100, not the control's 0
