"""The run pipeline on the example plugin's synthetic dataset and toy models (no downloads)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import fpbench
from fpbench.errors import BadInput
from fpbench.methods.gradient import IterativeAttack
from fpbench.results import RunResult
from fpbench.runner import Runner
from fpbench.spec import RunSpec

TOY = dict(dataset="toy-faces", targets=("toy-fr-a", "toy-fr-b"), quality=False, batch_size=4)


def spec(**kw) -> RunSpec:
    return RunSpec(**{"method": "pgd", "surrogates": ("toy-fr-a",), "params": {"eps": 8 / 255, "steps": 5}, **TOY, **kw})


def counting(monkeypatch) -> dict[str, int]:
    calls = {"protect": 0}
    original = IterativeAttack.protect

    def protect(self, x, ctx):
        calls["protect"] += 1
        return original(self, x, ctx)

    monkeypatch.setattr(IterativeAttack, "protect", protect)
    return calls


def test_second_identical_run_computes_nothing(fresh_cache, tmp_path, monkeypatch):
    calls = counting(monkeypatch)
    first = Runner(spec(transforms=("identity", "jpeg50")), tmp_path / "runs", progress=False).execute()
    assert calls["protect"] > 0 and first.card["work"]["embedded"] > 0
    calls["protect"] = 0
    second = Runner(spec(transforms=("identity", "jpeg50")), tmp_path / "runs", progress=False).execute()
    assert calls["protect"] == 0
    assert second.card["work"] == {"protected": 0, "restored": 0, "embedded": 0}
    assert second.scores.equals(first.scores)


def test_changing_a_parameter_invalidates_the_protected_cache(fresh_cache, tmp_path, monkeypatch):
    Runner(spec(), tmp_path / "runs", progress=False).execute()
    calls = counting(monkeypatch)
    Runner(spec(params={"eps": 4 / 255, "steps": 5}), tmp_path / "runs", progress=False).execute()
    assert calls["protect"] > 0


def test_interrupted_run_resumes_bit_identical(fresh_cache, tmp_path, monkeypatch):
    reference = Runner(spec(), None, progress=False).execute().scores
    # fresh cache, then interrupt after the first chunk
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path / "cache2"))
    original = IterativeAttack.protect
    state = {"n": 0}

    def flaky(self, x, ctx):
        state["n"] += 1
        if state["n"] == 2:
            raise KeyboardInterrupt
        return original(self, x, ctx)

    monkeypatch.setattr(IterativeAttack, "protect", flaky)
    with pytest.raises(KeyboardInterrupt):
        Runner(spec(), None, progress=False).execute()
    monkeypatch.setattr(IterativeAttack, "protect", original)
    resumed = Runner(spec(), None, progress=False).execute()
    assert resumed.card["work"]["protected"] < len(resumed.scores) // 2  # the first chunk came from the cache
    assert resumed.scores.equals(reference)


def test_card_has_provenance_and_scores_have_columns(fresh_cache, tmp_path):
    result = Runner(spec(), tmp_path / "runs", progress=False).execute()
    card = json.loads((result.path / "card.json").read_text())
    assert card["spec"]["method"] == "pgd" and card["spec"]["seed"] == 0
    assert card["environment"]["fpbench"] == fpbench.__version__
    for key in ("git_commit", "torch", "numpy", "device"):
        assert card["environment"][key]
    assert card["dataset"]["manifest_sha256"]
    assert card["surrogates"][0]["weights_sha256"]
    assert card["white_box"] == ["toy-fr-a"]
    tau = card["thresholds"]["toy-fr-a"]["far"]["0.01"]
    assert "calibrated on this run's dataset" in tau["source"] and tau["n_impostor"] > 0
    assert set(card["stage_seconds"]) >= {"load", "protect", "embed"}
    loaded = RunResult.load(result.path)
    assert list(loaded.scores.columns) == ["pair", "source", "target_face", "target", "transform", "clean_file",
                                           "protected_file", "reference_file", "restored_file", "kind",
                                           "similarity", "threshold", "success", "outcome"]
    s = loaded.scores
    assert ((s["similarity"] > s["threshold"]) == s["success"]).all()


def test_white_box_pgd_beats_clean_baseline(fresh_cache):
    clean = Runner(spec(method="none", surrogates=()), None, progress=False).execute().scores
    adv = Runner(spec(params={"eps": 16 / 255, "steps": 10}), None, progress=False).execute().scores
    wb = lambda s: s[s["target"] == "toy-fr-a"]["similarity"].mean()
    assert wb(adv) > wb(clean) + 0.1


def test_same_seed_same_bits_other_seed_differs(fresh_cache, tmp_path, monkeypatch):
    a = Runner(spec(), None, progress=False).execute().scores
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path / "other"))
    b = Runner(spec(), None, progress=False).execute().scores
    c = Runner(spec(seed=1), None, progress=False).execute().scores
    assert np.array_equal(a["similarity"].to_numpy(), b["similarity"].to_numpy())
    assert not np.array_equal(a["similarity"].to_numpy(), c["similarity"].to_numpy())


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"method": "nope"}, "unknown method 'nope'; available: "),
        ({"targets": ("nope",)}, "unknown target 'nope'; available: "),
        ({"transforms": ("jpegg",)}, "unknown transform"),
        ({"dataset": "nope"}, "unknown dataset 'nope'; available: "),
        ({"targets": ()}, "no target given"),
        ({"params": {"eps": -1}}, "--eps must be >= 0"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"params": {"epsilon": 0.1}}, "unknown parameter"),
    ],
)
def test_bad_input_fails_before_work(fresh_cache, changes, message):
    with pytest.raises(BadInput, match=message.replace("(", r"\(")):
        Runner(spec(**changes), None, progress=False).execute()


def test_method_without_surrogates_is_refused(fresh_cache, monkeypatch):
    monkeypatch.setattr(IterativeAttack, "default_surrogates", ())
    with pytest.raises(BadInput, match="needs white-box surrogates"):
        Runner(spec(surrogates=()), None, progress=False)


def test_python_api_mirrors_cli(fresh_cache, tmp_path):
    result = fpbench.run("blur", ["toy-fr-a"], dataset="toy-faces", transforms=["identity", "resize0.5"],
                         out=tmp_path / "runs", quality=False, batch_size=4)
    assert set(result.scores["transform"]) == {"identity", "resize0.5"}
    assert "\\toprule" in result.to_latex()
    assert result.card["method"]["params"] == {"sigma": 1.5}
    shown = str(result.table())  # prints as a table, not as an object
    assert shown.startswith("| target/transform | ") and "toy-fr-a · resize0.5" in shown and "n = " in shown


def test_python_api_writes_no_runs_folder_unless_asked(fresh_cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = fpbench.run("none", ["toy-fr-a"], dataset="toy-faces", quality=False, batch_size=4)
    assert result.path is None and not (tmp_path / "runs").exists()
