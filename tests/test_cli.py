"""The `fpbench` command as a user meets it: a real subprocess, the external plugin, errors without tracebacks."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

FPBENCH = [sys.executable, "-m", "fpbench.cli.main"]


def fpbench(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(FPBENCH + args, env={**env, "COLUMNS": "200"}, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_external_plugin_runs_through_fpbench_run(plugin_env, tmp_path):
    out = fpbench(["run", "--method", "blur", "--target", "toy-fr-a", "--target", "toy-fr-b", "--dataset", "toy-faces",
                   "--transform", "identity", "--transform", "jpeg50", "--no-quality", "--quiet"], plugin_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "toy-fr-a · identity" in out.stdout and "toy-fr-a · jpeg50" in out.stdout and "ASR %" in out.stdout
    runs = list((tmp_path / "runs").glob("*/card.json"))
    assert len(runs) == 1
    latex = fpbench(["table", str(runs[0].parent), "--format", "latex"], plugin_env, tmp_path)
    assert latex.returncode == 0 and "\\toprule" in latex.stdout and "blur" in latex.stdout


def test_list_shows_builtins_and_plugins(plugin_env, tmp_path):
    methods = fpbench(["list", "methods"], plugin_env, tmp_path)
    assert methods.returncode == 0
    for name in ("pgd", "fgsm", "gmaa", "erasablemask", "blur", "fpbench-example-plugin"):
        assert name in methods.stdout
    assert "toy-faces" in fpbench(["list", "datasets"], plugin_env, tmp_path).stdout
    assert "jpeg" in fpbench(["list", "transforms"], plugin_env, tmp_path).stdout
    targets = fpbench(["list", "targets"], plugin_env, tmp_path).stdout
    assert "sface" in targets and "arcface" in targets and "toy-fr-a" in targets


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--method", "nope", "--target", "toy-fr-a"], "unknown method 'nope'; available: "),
        (["run", "--method", "blur", "--target", "nope", "--dataset", "toy-faces"], "unknown target 'nope'; available: "),
        (["run", "--method", "blur", "--target", "toy-fr-a", "--transform", "jpgg"], "unknown transform"),
        (["run", "--method", "blur", "--target", "toy-fr-a", "--dataset", "nope"], "unknown dataset 'nope'; available: "),
        (["run", "--method", "pgd", "--target", "toy-fr-a", "--eps", "-1"], "must be >= 0"),
        (["run", "--method", "pgd", "--target", "toy-fr-a", "--device", "tpu"], "unknown device 'tpu'"),
        (["run", "--method", "pgd"], "--target is required"),
        (["table", "no-such-dir"], "is not a run directory"),
        (["list", "gizmos"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(plugin_env, tmp_path, args, message):
    out = fpbench(args, plugin_env, tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_sweep_runs_cells_once_then_skips(plugin_env, tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text(
        "name: grid\ndataset: toy-faces\ntargets: [toy-fr-a, toy-fr-b]\ntransforms: [identity, resize0.5]\n"
        "surrogates: [toy-fr-a]\nquality: false\nseeds: [0]\n"
        "methods:\n  - none\n  - blur\n  - {method: fgsm, params: {eps: 8/255}}\n"
    )
    first = fpbench(["sweep", str(spec), "--quiet"], plugin_env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(re.findall(r"^\s+done\s", first.stdout, re.M)) == 3
    second = fpbench(["sweep", str(spec), "--quiet"], plugin_env, tmp_path)
    assert len(re.findall(r"^\s+skipped\s", second.stdout, re.M)) == 3
    table = fpbench(["table", str(tmp_path / "runs" / "grid"), "--format", "csv"], plugin_env, tmp_path)
    lines = [line for line in table.stdout.strip().splitlines() if not line.startswith("#")]
    assert lines[0] == "method/transform,toy-fr-a,toy-fr-b" and len(lines) == 7  # a row per transform
    assert [line.split(",")[0] for line in lines[1:3]] == ["none · identity", "none · resize0.5"]  # the spec's order


def test_sweep_with_two_jobs_gives_the_same_tables_as_one(plugin_env, tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text(
        "name: grid\ndataset: toy-faces\ntargets: [toy-fr-a, toy-fr-b]\ntransforms: [identity]\n"
        "surrogates: [toy-fr-a]\nquality: false\nseeds: [0]\n"
        "methods:\n  - none\n  - {method: fgsm, params: {eps: 8/255}}\n  - {method: pgd, params: {eps: 4/255, steps: 3}}\n"
    )
    tables = []
    for jobs, cache in (("1", "c1"), ("2", "c2")):
        env = {**plugin_env, "FPBENCH_CACHE": str(tmp_path / cache)}
        out = fpbench(["sweep", str(spec), "--quiet", "--jobs", jobs, "--out", f"runs-{jobs}"], env, tmp_path)
        assert out.returncode == 0, out.stderr
        assert len(re.findall(r"^\s+done\s+cell \d of 3", out.stdout, re.M)) == 3
        table = fpbench(["table", f"runs-{jobs}", "--format", "csv", "--ci"], env, tmp_path)
        assert table.returncode == 0, table.stderr
        tables.append(table.stdout)
    assert tables[0] == tables[1] and len([r for r in tables[0].strip().splitlines() if r[0] != "#"]) == 4
