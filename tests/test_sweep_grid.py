"""Sweep grids: a parameter list is one cell per value, cells are labelled `cell k of n` with budgets as
fractions, and `fpbench table` shows the cells in the spec's order labelled by what differs."""
from __future__ import annotations

import pandas as pd
import pytest

from fpbench.errors import BadInput

from fpbench.results import RunResult, load_runs
from fpbench.results.tables import build_table
from fpbench.sweep import cell_label, load_sweep, write_index


def test_a_parameter_list_is_a_grid_in_the_specs_order(tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text("targets: [toy-fr-a]\nmethods:\n  - none\n"
                    "  - {method: pgd, params: {steps: 5, eps: [8/255, 2/255, 4/255]}}\n")
    sweep = load_sweep(spec)
    assert [s.method for s in sweep.specs] == ["none", "pgd", "pgd", "pgd"]
    assert [s.params.get("eps") for s in sweep.specs[1:]] == [8 / 255, 2 / 255, 4 / 255]
    assert sweep.param_order == ("steps", "eps")
    assert cell_label(2, 4, sweep.specs[1], sweep.param_order) == "cell 2 of 4: pgd seed=0 steps=5 eps=8/255"


def test_table_rows_follow_the_sweep_and_name_what_differs(tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text("targets: [toy-fr-a]\nmethods:\n  - {method: pgd, params: {steps: 5, eps: [8/255, 2/255]}}\n")
    sweep = load_sweep(spec, out=tmp_path / "out")
    for name, s in zip(("b", "a"), sweep.specs):  # dir names sort against the spec's order
        rows = pd.DataFrame([{"pair": "p0", "source": "s", "target_face": "t", "target": "toy-fr-a",
                              "transform": "identity", "kind": "impersonation", "similarity": 0.5,
                              "threshold": 0.3, "success": True}])
        RunResult(card={"method": {"method": "pgd"}, "spec": s.to_dict()}, scores=rows).save(sweep.out / name)
    write_index(sweep, sweep.specs)
    runs = load_runs([sweep.out])
    assert build_table(runs, ["asr"]).rows == ["pgd eps=8/255", "pgd eps=2/255"]


def test_a_method_entry_lists_mask_norms_and_inference_photo_counts(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("dataset: toy-faces\ntargets: [toy-fr-a]\nmask_l2: 3.0\nmethods:\n  - none\n"
                    "  - {method: fgsm, mask_l2: [2.0, 4.706], inference_photos: [1, 5]}\n")
    specs = load_sweep(spec).specs
    assert [(s.method, s.mask_l2, s.inference_photos) for s in specs] == [
        ("none", 3.0, None), ("fgsm", 2.0, 1), ("fgsm", 2.0, 5), ("fgsm", 4.706, 1), ("fgsm", 4.706, 5)]
    spec.write_text("dataset: toy-faces\ntargets: [toy-fr-a]\nmethods:\n  - {method: fgsm, inference_photos: [0]}\n")
    with pytest.raises(BadInput, match=r"inference_photos\[0\]"):
        load_sweep(spec)


def test_authorise_sweeps_name_the_authorised_models_and_attacks_per_method(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("dataset: toy-faces\ntargets: [toy-fr-a, toy-fr-b]\nprotocol: authorise\nauthorised: [toy-fr-a]\n"
                    "attacks: [up]\nmethods:\n  - none\n  - {method: fgsm, authorised: [toy-fr-a, toy-fr-b], attacks: []}\n")
    specs = load_sweep(spec).specs
    assert [(s.authorised, s.attacks) for s in specs] == [(("toy-fr-a",), ("up",)), (("toy-fr-a", "toy-fr-b"), ())]


def test_labels_name_the_inference_photo_count_and_all_when_unset():
    from fpbench.results.labels import run_labels

    cards = [{"method": {"method": "fi-uap"}, "spec": {"inference_photos": k}} for k in (1, None)]
    assert run_labels(cards, ["a", "b"]) == ["fi-uap inference_photos=1", "fi-uap inference_photos=all"]
