"""A dodging run through the public API (`fpbench.run`) on the example plugin's toy faces and models: every
protected source is compared with another photo of its own person and succeeds when it is no longer matched."""
from __future__ import annotations

import json

import pytest

import fpbench
from fpbench.results import RunResult

TARGETS = ["toy-fr-a", "toy-fr-b"]


@pytest.fixture
def runs(fresh_cache, tmp_path) -> dict[str, RunResult]:
    common = dict(dataset="toy-faces", transforms=["identity", "jpeg50"], goal="dodge", quality=False, batch_size=4,
                  out=tmp_path / "runs")
    return {"clean": fpbench.run("none", TARGETS, **common),
            "pgd": fpbench.run("pgd", TARGETS, surrogates=["toy-fr-a"], params={"eps": 16 / 255, "steps": 10}, **common)}


def test_dodging_rows_succeed_below_the_threshold_and_the_card_says_dodge(runs):
    for result in runs.values():
        s = result.scores
        assert set(s["kind"]) == {"dodging"} and len(s) == 4 * len(TARGETS) * 2  # 4 sources x targets x transforms
        assert (s["pair"] == s["source"]).all()  # one pair per source: no impersonation target
        assert (s["success"] == (s["similarity"] < s["threshold"])).all()
        card = json.loads((result.path / "card.json").read_text())
        assert card["spec"]["goal"] == "dodge"
        assert RunResult.load(result.path).scores.equals(s)
    both = runs["clean"].scores["success"].tolist() + runs["pgd"].scores["success"].tolist()
    assert True in both and False in both  # the success rule was tested on both sides of the threshold


def test_white_box_dodging_breaks_the_match_the_clean_faces_keep(runs):
    def white_box(name: str):
        s = runs[name].scores
        return s[(s["target"] == "toy-fr-a") & (s["transform"] == "identity")]

    clean, pgd = white_box("clean"), white_box("pgd")
    assert not clean["success"].any()  # genuine pairs of the toy set are matched...
    assert pgd["success"].all()  # ...until they are protected against the model itself
    assert (pgd["similarity"].to_numpy() < clean["similarity"].to_numpy() - 0.05).all()
