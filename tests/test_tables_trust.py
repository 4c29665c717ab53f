"""Tables a reviewer can trust: no silent aggregation, labels that say what differs, honest ranking, LaTeX
that fits its column and says what its cells are (compiled with pdflatex where it is installed)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pandas as pd
import pytest

from fpbench.errors import BadInput
from fpbench.results import RunResult
from fpbench.results.labels import format_value, run_labels
from fpbench.results.tables import build_table, render

TARGETS = ("sface", "mobilefacenet", "mfn512", "hse-faceres", "arcface[mobilefacenet]")


def fake(method: str, flags: dict[str, list[bool]], transforms=("identity",), params=None, white_box=(),
         far=0.01) -> RunResult:
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": t, "transform": tr,
             "kind": "impersonation", "similarity": 0.5, "threshold": 0.3, "success": ok}
            for tr in transforms for t, fl in flags.items() for i, ok in enumerate(fl)]
    card = {"method": {"method": method}, "spec": {"goal": "impersonate", "far": far, "params": params or {}, "seed": 0},
            "dataset": {"name": "mini", "pairs": len(next(iter(flags.values())))}, "white_box": list(white_box),
            "protocol_name": "verify"}
    return RunResult(card=card, scores=pd.DataFrame(rows))


def test_transforms_are_rows_unless_an_aggregate_is_asked_for_and_then_it_is_said():
    run = fake("pgd", {"sface": [True, False]}, transforms=("identity", "jpeg50"))
    table = build_table([run], ["asr"])
    assert table.rows == ["pgd · identity", "pgd · jpeg50"] and not table.aggregate
    mean = build_table([run], ["asr"], aggregate="mean")
    assert mean.rows == ["pgd"] and mean.aggregate == "mean over 2 transforms"
    assert render(mean, "markdown", ci=False).startswith("| method (mean over 2 transforms) |")
    caption = render(mean, "latex", ci=False).split("\\caption{")[1].split("\n")[0]
    assert "each cell is the mean over 2 transforms: identity, jpeg50" in caption
    assert "Method (mean over 2 transforms) & " in render(mean, "latex", ci=False)
    with pytest.raises(BadInput, match="unknown aggregate 'median'"):
        build_table([run], ["asr"], aggregate="median")


def test_labels_name_what_differs_in_the_methods_order_with_fractions():
    runs = [fake("pgd", {"sface": [True]}, params={"steps": 50, "eps": 8 / 255, "alpha": 1 / 255}),
            fake("pgd", {"sface": [False]}, params={"steps": 20, "eps": 4 / 255, "alpha": 1 / 255}),
            fake("fgsm", {"sface": [False]}, params={"eps": 8 / 255})]
    assert build_table(runs, ["asr"]).rows == ["pgd eps=8/255 steps=50", "pgd eps=4/255 steps=20", "fgsm"]
    assert format_value(2 / 255) == "2/255" and format_value(0.5) == "0.5" and format_value(0.03) == "0.03"
    assert format_value(12 / 255) == "12/255" and format_value(1 / 3) == "1/3"  # not 4/85
    same = [r.card for r in runs[:1]] * 2
    assert run_labels(same, ["a", "b"]) == ["pgd (a)", "pgd (b)"]
    order = run_labels([r.card for r in runs[:2]], ["a", "b"], order=("steps", "eps"))
    assert order == ["pgd steps=50 eps=8/255", "pgd steps=20 eps=4/255"]


def test_ranking_skips_controls_white_box_cells_and_marks_ties_as_said():
    runs = [fake("none", {"sface": [True, True], "mobilefacenet": [True, True]}),
            fake("pgd", {"sface": [True, False], "mobilefacenet": [True, True]}, white_box=["mobilefacenet"]),
            fake("fgsm", {"sface": [True, False], "mobilefacenet": [False, False]}),
            fake("gmaa", {"sface": [False, False], "mobilefacenet": [True, False]})]
    tex = render(build_table(runs, ["asr"]), "latex", ci=False)
    body = dict(line.split(" & ", 1) for line in tex.split("\\midrule\n")[1].splitlines() if " & " in line)
    assert body["none"] == "100.00 & 100.00 \\\\"  # a control: shown, not ranked
    assert body["pgd"] == "\\textbf{50.00} & 100.00$^\\dagger$ \\\\"  # white-box: dagger, no rank
    assert body["fgsm"] == "\\textbf{50.00} & \\underline{0.00} \\\\"  # tied with pgd: both bold, none second
    assert body["gmaa"] == "0.00 & \\textbf{50.00} \\\\"
    assert "tied values share a mark" in tex and "white-box" in tex


def test_ci_cells_underline_and_bold_the_value_only():
    runs = [fake("pgd", {"sface": [True] * 3 + [False]}), fake("fgsm", {"sface": [True, False, False, False]})]
    tex = render(build_table(runs, ["asr"]), "latex", ci=True)
    assert re.search(r"\\textbf\{75\.00\} \[[\d.]+, [\d.]+\]", tex)
    assert re.search(r"\\underline\{25\.00\} \[[\d.]+, [\d.]+\]", tex)
    assert "95\\% bootstrap CI over pairs" in tex and "n = 4 protected faces" in tex and "FAR 0.01" in tex


def test_published_rows_are_their_own_unranked_block(tmp_path, capsys):
    from fpbench.cli.main import main

    fake("pgd", {"arcface[mobilefacenet]": [True, False]}).save(tmp_path / "pgd")
    fake("fgsm", {"arcface[mobilefacenet]": [False, False]}).save(tmp_path / "fgsm")
    assert main(["table", str(tmp_path), "--format", "latex", "--baseline", "erasablemask:II:CelebA-HQ"]) == 0
    tex = capsys.readouterr().out
    ours, published = tex.split("\\emph{")
    assert "\\textbf{50.00}" in ours and "PGD (published)" not in ours
    assert "paper's own models" in published.split("}")[0] and "CelebA-HQ" in published.split("}")[0]
    assert "\\textbf" not in published and "\\underline" not in published


def layouts() -> dict[str, str]:
    """The LaTeX of every layout at its widest: Table II (ASR+ESR per target), quality with CIs, the run view."""
    wide_runs = [fake(m, {t: [True, False, True] for t in TARGETS}) for m in ("pgd", "fgsm", "erasablemask")]
    for run in wide_runs:
        erasion = run.scores.assign(kind="erasion")
        run.scores = pd.concat([run.scores, erasion], ignore_index=True)
    quality = fake("gmaa", {"sface": [True, False]})
    quality.quality = pd.DataFrame({"pair": ["p0", "p1"] * 2, "image": ["protected"] * 2 + ["protected vs edited"] * 2,
                                    **{m: [0.1, 0.2, 0.3, 0.4] for m in ("l1", "mse", "psnr", "ssim", "lpips")}})
    return {
        "table2": render(build_table(wide_runs, ["asr", "esr"]), "latex", ci=False),
        "table2-ci": render(build_table(wide_runs, ["asr", "esr"]), "latex", ci=True),
        "quality-ci": render(build_table([quality], ["l1", "mse", "psnr", "ssim", "lpips"]), "latex", ci=True),
        "run-view": wide_runs[0].to_latex(ci=True),
        "wide": render(build_table(wide_runs, ["asr", "esr"]), "latex", ci=True, wide=True),
        "transform-rows": render(build_table([fake("pgd", {t: [True, False] for t in TARGETS},
                                                   transforms=("identity", "jpeg50"))], ["asr"]), "latex", ci=True),
    }


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (texlive-latex-base)")
@pytest.mark.parametrize("name", ["table2", "table2-ci", "quality-ci", "run-view", "wide", "transform-rows"])
def test_every_layout_compiles_and_fits_a_two_column_page(name, tmp_path):
    tex = layouts()[name]
    doc = ("\\documentclass[twocolumn]{article}\n\\usepackage{booktabs,graphicx}\n\\begin{document}\n"
           f"{tex}\nText.\n\\end{{document}}\n")
    (tmp_path / "t.tex").write_text(doc)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    log = (tmp_path / "t.log").read_text(errors="replace")
    assert done.returncode == 0, log[-2000:]
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox \(([\d.]+pt) too wide\)", log)


def test_methods_are_ranked_within_each_transform_and_targets_never():
    runs = [fake("pgd", {"sface": [True, True]}, transforms=("identity", "jpeg50")),
            fake("fgsm", {"sface": [True, False]}, transforms=("identity", "jpeg50"))]
    runs[1].scores.loc[runs[1].scores["transform"] == "jpeg50", "success"] = True
    tex = render(build_table(runs, ["asr"]), "latex", ci=False)
    assert "pgd $\\cdot$ identity & \\textbf{100.00}" in tex and "fgsm $\\cdot$ identity & \\underline{50.00}" in tex
    assert "pgd $\\cdot$ jpeg50 & \\textbf{100.00}" in tex and "fgsm $\\cdot$ jpeg50 & \\textbf{100.00}" in tex
    view = runs[0].to_latex()  # rows are targets: nothing to rank
    assert "\\textbf" not in view and "\\underline" not in view
