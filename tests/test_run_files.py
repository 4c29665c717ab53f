"""Run dirs that are damaged or lack what a table asks for are one-line errors (exit 2) naming the file or
listing what the runs hold; a run dir that cannot be written still leaves the complete run in the cache."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.results import RunResult, load_runs


def verify_run(method: str = "pgd") -> RunResult:
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": "sface", "transform": transform,
             "kind": "impersonation", "similarity": 0.5, "threshold": 0.3, "success": i % 2 == 0}
            for transform in ("identity", "jpeg50") for i in range(4)]
    card = {"method": {"method": method}, "spec": {"goal": "impersonate"}, "reversible": False}
    return RunResult(card=card, scores=pd.DataFrame(rows))


@pytest.fixture
def run_dir(tmp_path, fresh_cache) -> Path:
    return verify_run().save(tmp_path / "runs" / "pgd")


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """Errors are one line; a narrow terminal would wrap them."""
    import fpbench.cli.main

    monkeypatch.setattr(fpbench.cli.main.console, "width", 10_000)


def table_error(capsys, *args: str) -> str:
    assert main(["table", *args, "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def one_line_error(path: Path) -> str:
    with pytest.raises(BadInput) as err:
        load_runs([path])
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("content, says", [(b"", "run card is empty"), (b'{"spec": ', "not valid JSON"),
                                           (b"\xff\xfe\x00", "not UTF-8 text"), (b"[]", "not a run card")])
def test_corrupt_card_json_is_exit_2_naming_the_file(run_dir, capsys, content, says):
    (run_dir / "card.json").write_bytes(content)
    assert says in one_line_error(run_dir) and str(run_dir / "card.json") in one_line_error(run_dir)
    assert says in table_error(capsys, str(run_dir))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "no columns"])
def test_damaged_scores_parquet_is_exit_2_naming_the_file(run_dir, capsys, damage):
    scores = run_dir / "scores.parquet"
    if damage == "truncate":
        scores.write_bytes(scores.read_bytes()[: scores.stat().st_size // 2])
    elif damage == "garbage":
        scores.write_bytes(b"PAR1 not really")
    elif damage == "delete":
        scores.unlink()
    else:
        pd.DataFrame({"x": [1]}).to_parquet(scores)
    message = one_line_error(run_dir)
    assert str(scores) in message
    assert str(scores) in table_error(capsys, str(run_dir))


def test_truncated_quality_parquet_names_the_file(run_dir):
    quality = run_dir / "quality.parquet"
    pd.DataFrame({"pair": ["p0"], "image": ["protected"], "lpips": [0.1]}).to_parquet(quality)
    quality.write_bytes(quality.read_bytes()[:-20])
    assert str(quality) in one_line_error(run_dir)


def test_metric_or_transform_without_rows_lists_what_the_runs_hold(run_dir, capsys):
    err = table_error(capsys, str(run_dir), "--metric", "asr,esr")
    assert "no rows for esr; they hold metrics asr, sim (transforms identity, jpeg50)" in err
    err = table_error(capsys, str(run_dir), "--metric", "top1")
    assert "no rows for top1" in err and "metrics asr, sim" in err
    err = table_error(capsys, str(run_dir), "--transform", "jpeg90")
    assert "no scores under --transform jpeg90; they hold metrics asr, sim (transforms identity, jpeg50)" in err
    assert main(["table", str(run_dir), "--transform", "jpeg50", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["method,sface", "pgd,50.00"] and all(line.startswith("# ") for line in lines[2:])


def test_metric_error_lists_valid_names_from_the_registry(run_dir, capsys):
    err = table_error(capsys, str(run_dir), "--metric", "asx")
    assert "unknown metric 'asx'; available: asr, psr, esr, esr_wrong, rvr, sim, top1, top5, top10, apsr" in err


def test_a_full_run_dir_keeps_the_complete_run_in_the_cache(tmp_path, fresh_cache, monkeypatch):
    out = tmp_path / "full-disk" / "pgd"
    real_replace = os.replace

    def replace(src, dst):  # the out dir's disk is full: nothing can be renamed into place there
        if Path(dst).is_relative_to(out.parent):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    verify_run("fgsm").save(out)  # an earlier run in the same dir: its card must not vouch for the new files
    monkeypatch.setattr(os, "replace", replace)
    run = verify_run()
    with pytest.raises(BadInput) as err:
        run.save(out)
    kept = fresh_cache / "runs" / "pgd"
    assert str(err.value).startswith(f"cannot write the run to {out} (No space left on device); the complete run is "
                                     f"kept in {kept} ")
    assert not (out / "card.json").exists()
    monkeypatch.setattr(os, "replace", real_replace)
    pd.testing.assert_frame_equal(RunResult.load(kept).scores, run.scores)


def test_save_writes_the_cache_then_the_run_dir_and_survives_a_full_cache(tmp_path, fresh_cache, monkeypatch):
    first = verify_run("pgd").save(tmp_path / "a" / "pgd")
    assert RunResult.load(first).label == "pgd" and RunResult.load(fresh_cache / "runs" / "pgd").label == "pgd"
    verify_run("fgsm").save(tmp_path / "b" / "pgd")  # same name: the cache's copy is replaced as a whole
    assert RunResult.load(fresh_cache / "runs" / "pgd").label == "fgsm"
    assert not [p for p in (fresh_cache / "runs").iterdir() if p.name.startswith(".")]
    real_replace = os.replace

    def replace(src, dst):  # now the cache is full, the run dir is not
        if Path(dst).is_relative_to(fresh_cache):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    saved = verify_run("gmaa").save(tmp_path / "c" / "pgd")
    monkeypatch.setattr(os, "replace", real_replace)
    assert RunResult.load(saved).label == "gmaa" and RunResult.load(fresh_cache / "runs" / "pgd").label == "fgsm"


def test_saving_to_the_current_dir_keeps_other_cached_runs(tmp_path, fresh_cache, monkeypatch):
    verify_run("pgd").save(tmp_path / "pgd")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    verify_run("fgsm").save(".")
    assert RunResult.load(fresh_cache / "runs" / "here").label == "fgsm" == RunResult.load(here).label
    assert RunResult.load(fresh_cache / "runs" / "pgd").label == "pgd"
