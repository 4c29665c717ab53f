"""The CLI says what it does: defaults in --help, a,b lists for --target, whole numbers in a pipe, and the run
view names what flatters its numbers (thresholds from the evaluated faces, self-comparisons, negative KID)."""
from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from fpbench.errors import BadInput
from rich.console import Console

from fpbench.cli.main import build_parser, main
from fpbench.cli.run import show_result, spec_from_args
from fpbench.results import RunResult
from fpbench.results.legend import protocol_notes


def help_text(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return re.sub(r"\s+", " ", capsys.readouterr().out)


def test_help_shows_defaults_and_no_doubled_percent(capsys):
    run = help_text("run", capsys)
    for option, default in (("--seed", "0"), ("--batch-size", "16"), ("--far", "0.01"), ("--profile", "mini")):
        assert re.search(rf"{option} \S+ .*?\(default: {re.escape(default)}\)", run), option
    assert "--goal {impersonate,dodge} impersonate" in run and "default: the protocol's" in run
    table = help_text("table", capsys)
    for option, default in (("--rows", "method"), ("--cols", "target"), ("--format", "rich")):
        assert re.search(rf"{option} \{{[^}}]+\}} [^-]*\(default: {default}\)", table), option
    assert "%%" not in run + table and "95% bootstrap" in run and "95% bootstrap" in table


def test_target_and_transform_take_comma_lists():
    args = build_parser().parse_args(["run", "--method", "none", "--target", "sface,arcface", "--target", "mfn512",
                                      "--transform", "identity,jpeg50"])
    spec = spec_from_args(args)
    assert spec.targets == ("sface", "arcface", "mfn512") and spec.transforms == ("identity", "jpeg50")


def test_authorise_runs_default_to_every_embedded_model_and_the_attribute_attack():
    parse = lambda *argv: spec_from_args(build_parser().parse_args(["run", *argv]))  # noqa: E731
    pmt = parse("--method", "pmt", "--protocol", "authorise", "--authorised", "mfn512")
    assert pmt.targets[0] == "mfn512" and set(pmt.targets) >= {"mobilefacenet", "sface", "hse-faceres"}
    assert len(set(pmt.targets)) == len(pmt.targets) and pmt.attacks == ("attributes",)
    assert parse("--method", "none", "--protocol", "authorise", "--authorised", "sface").attacks == ()
    off = parse("--method", "pmt", "--protocol", "authorise", "--authorised", "sface", "--attacks", "none")
    assert off.attacks == ()
    assert parse("--method", "pgd", "--target", "sface").attacks == ()  # other protocols: no default attack
    with pytest.raises(BadInput, match="--target is required"):
        parse("--method", "pgd")


def run_result(goal: str = "impersonate") -> RunResult:
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": t, "transform": "identity",
             "kind": "dodging" if goal == "dodge" else "impersonation", "similarity": 0.5, "threshold": 0.3,
             "success": i % 3 == 0} for t in ("sface", "mobilefacenet") for i in range(11)]
    tau = {"tau": 0.3, "kind": "calibrated", "dataset": "mini", "same_dataset_as_run": True, "n_genuine": 6,
           "n_impostor": 589}
    card = {"method": {"method": "pgd"}, "spec": {"goal": goal, "far": 0.01}, "protocol_name": "verify",
            "dataset": {"name": "mini", "pairs": 11},
            "protocol": {"compared_with": {"another photo of the same person": 2, "the clean source itself": 9}},
            "thresholds": {"sface": {"far": {"0.01": tau}}, "mobilefacenet": {"far": {"0.01": {"tau": 0.4}}}},
            "quality": {"sets": {"protected": {"fid": 50.0, "kid": -0.004, "kid_std": None, "n": 11}}}}
    quality = pd.DataFrame({"pair": [f"p{i}" for i in range(11)], "image": "protected", "ssim": 0.9})
    return RunResult(card=card, scores=pd.DataFrame(rows), quality=quality)


def test_run_view_names_what_flatters_its_numbers():
    notes = protocol_notes(run_result("dodge").card)
    assert notes[0].startswith("thresholds of sface were calibrated on mini, the very faces this run evaluates "
                               "(6 genuine, 589 impostor pairs)")
    assert notes[1].startswith("9 of 11 dodging pairs compare the protected face with its own clean image")
    out = io.StringIO()
    show_result(Console(file=out, width=80, soft_wrap=True), run_result("dodge"))
    text = out.getvalue()
    assert "| target | PSR % |" in text and "…" not in text  # not a terminal: Markdown, whole numbers
    assert "9 of 11 dodging pairs" in text and "the very faces this run evaluates" in text
    assert "KID < 0: its unbiased estimator scatters around 0" in text
    card = run_result().card
    card["protocol"]["compared_with"] = {"eileen": "eileen", "tom": "tom_2"}
    assert protocol_notes(card)[1].startswith("1 of 2 impersonation targets are compared with the very photo")


def test_table_in_a_pipe_is_markdown_with_whole_numbers(tmp_path, capsys):
    run_result().save(tmp_path / "pgd")
    assert main(["table", str(tmp_path / "pgd"), "--ci"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| method | sface ASR % | mobilefacenet ASR % |") and "…" not in out
    assert re.search(r"\| pgd \| 36\.36 \[\d+\.\d\d, \d+\.\d\d\] \|", out)
    assert "mini; verify (impersonate); FAR 0.01; n = 11 protected faces; ASR in % [95% bootstrap CI over pairs]" in out


def test_zoo_says_arcface_falls_back_without_user_weights(fresh_cache, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["zoo", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "│ arcface " in line)
    assert "until then `arcface` runs arcface[mobilefacenet]" in row
    assert main(["zoo", "card", "arcface"]) == 0
    assert "without your weights, `arcface` runs as arcface[mobilefacenet]" in capsys.readouterr().out
