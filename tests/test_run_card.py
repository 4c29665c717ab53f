"""The versioned run card: round trip, version 1 cards upgraded, other versions and malformed cards refused
in one line that names the file."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fpbench.errors import BadInput
from fpbench.results import RunResult
from fpbench.results.card import SCHEMA_VERSION, RunCard, load_card


def card_fields() -> dict:
    """A card as Runner._card writes it (version 1 had these fields, marked "fpbench_run": 1)."""
    return {
        "spec": {"method": "pgd", "goal": "impersonate", "far": 0.01, "esr_far": 0.1},
        "method": {"method": "pgd", "eps": 0.03},
        "reversible": False,
        "dataset": {"name": "mini", "manifest_sha256": "ab" * 32, "pairs": 2, "attribute_source": None},
        "protocol": {"goal": "impersonate", "far": 0.01, "esr_far": 0.1, "compared_with": {"t": "r"}},
        "targets": [{"name": "sface"}],
        "white_box": [],
        "surrogates": [{"name": "irse50", "model": "irse50", "weights_sha256": "cd" * 32}],
        "thresholds": {"sface": {"far": {"0.01": {"tau": 0.3}}}},
        "images": "protected and restored images are quantised to 8-bit PNG before evaluation",
        "quality": {},
        "work": {"protected": 2, "restored": 0, "embedded": 4},
        "stage_seconds": {"load": 0.5, "protect": 2},
        "warnings": ["a warning"],
        "environment": {"fpbench": "0.1.0"},
    }


SCORES = pd.DataFrame({"pair": ["p0", "p1"], "source": ["s0", "s1"], "target_face": ["t", "t"],
                       "target": ["sface", "sface"], "transform": ["identity", "identity"],
                       "kind": ["impersonation"] * 2, "similarity": [0.5, 0.1], "threshold": [0.3, 0.3],
                       "success": [True, False]})


def write_card(tmp_path: Path, card: dict) -> Path:
    run = tmp_path / "run"
    RunResult(card=card, scores=SCORES).save(run)
    return run


def test_round_trip_through_a_run_dir(tmp_path, fresh_cache):
    card = RunCard(**card_fields(), protocol_name="identify", threads=2, mask_l2=1.5)
    assert RunCard.from_dict(card.to_dict()) == card
    run = tmp_path / "run"
    RunResult(card=card, scores=SCORES).save(run)
    assert json.loads((run / "card.json").read_text())["schema_version"] == SCHEMA_VERSION == 2
    loaded = RunResult.load(run)
    assert loaded.card == card.to_dict() and loaded.run_card == card
    pd.testing.assert_frame_equal(loaded.scores, SCORES)


def test_version_1_card_is_upgraded(tmp_path, fresh_cache):
    run = write_card(tmp_path, {"fpbench_run": 1, **card_fields()})
    card = load_card(run / "card.json")
    assert card.schema_version == 2 and card.protocol_name == "verify" and card.threads is None
    assert card.method_name == "pgd" and card.warnings == ["a warning"]
    assert "fpbench_run" not in RunResult.load(run).card


def test_other_versions_are_refused_in_one_line(tmp_path, fresh_cache):
    run = write_card(tmp_path, {**card_fields(), "schema_version": 99})
    with pytest.raises(BadInput) as err:
        RunResult.load(run)
    message = str(err.value)
    assert "\n" not in message and str(run / "card.json") in message and "version 99 is not supported" in message


@pytest.mark.parametrize("change, problem", [
    ({"reversible": "yes"}, "reversible should be true or false, found str"),
    ({"warnings": "one"}, "warnings should be a list"),
    ({"work": None}, "work should be an object, found NoneType"),
    ({"threads": 1.5}, "threads should be an integer or null"),
    ({"method": {"eps": 1}}, "method.method"),
    ({"protocol_name": "guess"}, "protocol_name should be one of verify, identify, authorise"),
    ({"colour": "red"}, "unknown colour"),
])
def test_malformed_cards_name_the_field(tmp_path, fresh_cache, change, problem):
    run = write_card(tmp_path, {**card_fields(), "schema_version": 2, **change})
    with pytest.raises(BadInput, match="invalid run card") as err:
        load_card(run / "card.json")
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_version_2_needs_every_field_version_1_does_not(tmp_path, fresh_cache):
    partial = {k: v for k, v in card_fields().items() if k != "dataset"}
    with pytest.raises(BadInput, match="missing dataset"):
        RunCard.from_dict({**partial, "schema_version": 2}, "card.json")
    assert RunCard.from_dict(partial).dataset == {}  # version 1 (no mark): what it lacks is empty
    with pytest.raises(BadInput, match="card.json: not a run card"):
        RunCard.from_dict([1, 2], "card.json")
