"""Every failure of the `fpbench` command is one line on stderr with exit 2 (the user can fix it) or 3 (a bug),
never a traceback: OS and file-format errors, wrong method parameters and wrong sweep YAML."""
from __future__ import annotations

import errno
import os

import pandas as pd
import pytest

from fpbench import cache
from fpbench.cli.main import main
from fpbench.sweep import load_sweep

TOY = ["--dataset", "toy-faces", "--target", "toy-fr-a", "--surrogate", "toy-fr-a", "--no-quality", "--quiet"]


def cli(capsys, args: list[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as e:  # argparse errors exit from parse_args
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ item 7: OS, JSON, Parquet, YAML, bugs
def test_read_only_cache_is_one_line_naming_the_cache(fresh_cache, tmp_path, capsys, monkeypatch):
    def read_only(*args, dir=None, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))

    monkeypatch.setattr(cache.tempfile, "mkstemp", read_only)
    code, _, err = cli(capsys, ["run", "--method", "none", *TOY, "--out", str(tmp_path / "runs")])
    assert code == 2
    line = one_line(err)
    assert os.strerror(errno.EROFS) in line and str(fresh_cache) in line and "FPBENCH_CACHE" in line


def test_a_cache_that_cannot_be_created_is_one_line_even_at_start_up(plugin_env, tmp_path):
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {**plugin_env, "FPBENCH_CACHE": str(blocker / "cache")}
    out = subprocess.run([sys.executable, "-m", "fpbench.cli.main", "list", "methods"], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert str(blocker / "cache") in line and "FPBENCH_CACHE" in line


def test_disk_full_on_out_is_one_line_naming_out(fresh_cache, tmp_path, capsys, monkeypatch):
    def disk_full(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a failed write() reports it: no file name

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    out = tmp_path / "runs"
    code, _, err = cli(capsys, ["run", "--method", "none", *TOY, "--out", str(out)])
    assert code == 2
    line = one_line(err)
    assert os.strerror(errno.ENOSPC) in line and str(out) in line and "pass another --out" in line


def test_a_corrupt_card_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "card.json").write_text('{"spec": ')
    code, _, err = cli(capsys, ["table", str(tmp_path)])
    assert code == 2
    line = one_line(err)
    assert str(tmp_path / "card.json") in line and "not valid JSON" in line


def test_a_binary_card_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "card.json").write_bytes(b"\xff\xfe\x00\x81 not text")
    code, _, err = cli(capsys, ["table", str(tmp_path)])
    assert code == 2
    line = one_line(err)
    assert str(tmp_path / "card.json") in line and "not UTF-8 text" in line


def test_a_corrupt_parquet_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "card.json").write_text('{"fpbench_run": 1, "spec": {"method": "none", "goal": "impersonate"}, '
                                        '"method": {"method": "none"}}')
    (tmp_path / "scores.parquet").write_bytes(b"PAR1 this is not parquet")
    code, _, err = cli(capsys, ["table", str(tmp_path)])
    assert code == 2
    line = one_line(err)
    assert str(tmp_path / "scores.parquet") in line and "Parquet" in line


def test_a_yaml_error_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    import yaml

    bad = tmp_path / "extra.yaml"
    bad.write_text("a: [1, 2\n")

    def read_yaml(paths):
        path = bad
        return yaml.safe_load(path.read_text())

    monkeypatch.setattr("fpbench.cli.table.load_runs", read_yaml)
    code, _, err = cli(capsys, ["table", "x"])
    assert code == 2
    assert str(bad) in one_line(err)


def test_an_unexpected_exception_is_an_internal_error_exit_3(capsys, monkeypatch):
    def bug(paths):
        raise RuntimeError("boom\nand more")

    monkeypatch.setattr("fpbench.cli.table.load_runs", bug)
    code, _, err = cli(capsys, ["table", "x"])
    assert code == 3
    assert one_line(err) == ("error: internal error in fpbench: RuntimeError: boom (re-run with FPBENCH_DEBUG=1 "
                             "for the traceback)")
    monkeypatch.setenv("FPBENCH_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["table", "x"])


def test_a_replaced_cache_entry_is_a_one_line_warning(fresh_cache, tmp_path, capsys):
    from fpbench.images import load_png, write_png

    args = ["run", "--method", "none", *TOY, "--out", str(tmp_path / "runs")]
    assert cli(capsys, args)[0] == 0
    png = sorted(fresh_cache.glob("protected/*/*.png"))[0]
    write_png(png, load_png(png).flip(-1))
    code, out, err = cli(capsys, args)
    assert code == 0
    warning_lines = [line for line in (out + err).splitlines() if "cache entry" in line]
    assert len(warning_lines) == 1 and warning_lines[0].startswith("warning: ") and str(png.name) in warning_lines[0]
    assert "warnings.warn" not in out + err


# ------------------------------------------------------------------ item 8: method parameters and options
@pytest.mark.parametrize(
    "args, message",
    [
        (["--param", "eps=abc"], "--eps must be a finite number, got 'abc'"),
        (["--param", "eps=nan"], "--eps must be a finite number, got 'nan'"),
        (["--param", "steps=abc"], "--steps must be a finite number, got 'abc'"),
        (["--param", "steps=2.5"], "pgd parameter steps must be an integer in [1, 100000], got 2.5"),
        (["--steps", "999999999999"], "pgd parameter steps must be an integer in [1, 100000], got 999999999999"),
        (["--param", "diversity=abc"], "pgd parameter diversity must be a finite number in [0, 1], got 'abc'"),
        (["--param", "diversity=1.5"], "pgd parameter diversity must be a finite number in [0, 1], got 1.5"),
        (["--param", "ti_kernel=-3"], "pgd parameter ti_kernel must be an integer >= 0, got -3"),
        (["--param", "ti_kernel=4"], "ti_kernel must be 0 (off) or an odd kernel size, got 4"),
        (["--param", "norm=l3"], "pgd parameter norm must be one of linf, l2, got 'l3'"),
        (["--param", "random_start=maybe"], "pgd parameter random_start must be true or false, got 'maybe'"),
        (["--param", "momentum=-1"], "pgd parameter momentum must be a finite number >= 0, got -1"),
        (["--eps", "1e9"], "pgd parameter eps must be a finite number in [0, 1], got 1000000000.0"),
        (["--eps", "2", "--param", "norm=l2", "--alpha", "1e9"],
         "pgd parameter alpha must be a finite number in [0, 100]"),
        (["--eps", "nan"], "argument --eps: not a finite number: 'nan'"),
        (["--eps", "inf"], "argument --eps: not a finite number: 'inf'"),
        (["--alpha=-inf"], "argument --alpha: not a finite number: '-inf'"),
        (["--channel", "--transform", "jpeg50"], "not allowed with argument --channel"),
    ],
)
def test_bad_pgd_parameters_are_one_line_exit_2(fresh_cache, tmp_path, capsys, args, message):
    code, _, err = cli(capsys, ["run", "--method", "pgd", *TOY, "--out", str(tmp_path), *args])
    assert code == 2
    assert message in one_line(err)
    assert not any(tmp_path.iterdir())  # refused before any work


@pytest.mark.parametrize(
    "method, param, message",
    [
        ("gmaa", "copies=0", "gmaa parameter copies must be an integer >= 1, got 0"),
        ("gmaa", "noise_prob=2", "gmaa parameter noise_prob must be a finite number in [0, 1], got 2"),
        ("gmaa", "expression_strength=abc", "gmaa parameter expression_strength must be a finite number >= 0"),
        ("gmaa", "extra_targets=3", "gmaa parameter extra_targets must be a path (or unset), got 3"),
        ("gmaa", "profile=huge", "gmaa parameter profile must be one of mini, paper, got 'huge'"),
        ("erasablemask", "steps_scale=nan", "steps_scale) must be a finite number > 0, got nan"),
        ("erasablemask", "steps_scale=inf", "steps_scale) must be a finite number > 0, got inf"),
    ],
)
def test_bad_parameters_of_other_methods_are_one_line_exit_2(fresh_cache, tmp_path, capsys, method, param, message):
    code, _, err = cli(capsys, ["run", "--method", method, *TOY, "--out", str(tmp_path), "--param", param])
    assert code == 2
    assert message in one_line(err)


def test_valid_parameters_are_normalised(fresh_cache):
    from fpbench.methods.gradient import PGD

    p = PGD(eps=1, steps=3.0, norm="L2", random_start=0, momentum=1).params
    assert p["eps"] == 1.0 and p["steps"] == 3 and p["norm"] == "l2" and p["random_start"] is False
    assert PGD().card() == PGD(eps=4 / 255, steps=20).card()  # defaults keep their cache keys


# ------------------------------------------------------------------ item 10: sweep YAML
SWEEP_OK = "dataset: toy-faces\ntargets: [toy-fr-a]\nsurrogates: [toy-fr-a]\nquality: false\nmethods: [none]\n"


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("targets: 5\nmethods: [none]\n", "`targets` must be a list of names, got 5"),
        ("targets: [toy-fr-a, 3]\nmethods: [none]\n", "`targets` must be a list of names, got ['toy-fr-a', 3]"),
        (SWEEP_OK + "seeds: []\n", "`seeds` must be a list of at least one integer, got []"),
        (SWEEP_OK + "seeds: [a]\n", "`seeds`[0] must be an integer, got 'a'"),
        (SWEEP_OK.replace("methods: [none]", "methods: []"), "`methods` must be a list of at least one method"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{params: {}}]"),
         "`methods`[0] must be a method name or a mapping with `method`"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{method: pgd, parms: {}}]"),
         "`methods`[0]: unknown key(s) ['parms']"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{method: pgd, params: [1, 2]}]"),
         "`methods`[0].params must be a mapping of parameter names to values"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{method: pgd, params: {eps: [[1]]}}]"),
         "`methods`[0].params.eps[0] must be a number, true/false or a string"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{method: pgd, params: {eps: []}}]"),
         "`methods`[0].params.eps must be a value or a non-empty list of values (a grid)"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{method: pgd, params: {eps: abc}}]"),
         "--eps must be a finite number, got 'abc'"),
        (SWEEP_OK.replace("methods: [none]", "methods: [{method: pgd, transforms: []}]"),
         "`methods`[0].transforms must be a list of at least one name"),
        (SWEEP_OK + "batch_size: many\n", "`batch_size` must be an integer >= 1, got 'many'"),
        (SWEEP_OK + "far: high\n", "`far` must be a finite number, got 'high'"),
        (SWEEP_OK + "quality: maybe\n", "`quality` must be true or false"),
        (SWEEP_OK + "name: [a]\n", "`name` must be a non-empty string"),
        (SWEEP_OK + "transforms: []\n", "`transforms` must be a list of at least one name"),
        ("- a\n- b\n", "a sweep spec is a mapping of keys"),
        (SWEEP_OK + "goal: win\n", "unknown goal 'win'"),
    ],
)
def test_bad_sweep_yaml_is_one_line_naming_file_and_key(tmp_path, capsys, yaml_text, message):
    spec = tmp_path / "grid.yaml"
    spec.write_text(yaml_text)
    code, out, err = cli(capsys, ["sweep", str(spec), "--quiet"])
    assert code == 2 and "done" not in out
    line = one_line(err)
    assert str(spec) in line and message in line


def test_a_bare_name_or_number_is_a_one_element_list(tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text("targets: toy-fr-a\ntransforms: jpeg50\nseeds: 3\nmethods: fgsm\n")
    (cell,) = load_sweep(spec).specs
    assert cell.targets == ("toy-fr-a",) and cell.transforms == ("jpeg50",) and cell.seed == 3
    assert cell.method == "fgsm"


def test_expression_states_must_be_finite():
    import torch

    from fpbench.methods.expression import warp_expression

    states = torch.zeros(1, 5)
    states[0, 2] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        warp_expression(torch.rand(1, 3, 16, 16), states)
