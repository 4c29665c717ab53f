"""Tables from runs: aggregation, the four formats, and LaTeX that a TeX parser would accept."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from fpbench.errors import BadInput
from fpbench.results import RunResult
from fpbench.results.tables import build_table, latex_escape, render


def run(method: str, successes: dict[str, list[bool]], esr: dict[str, list[bool]] | None = None) -> RunResult:
    rows = []
    for kind, table in (("impersonation", successes), ("erasion", esr or {})):
        for target, flags in table.items():
            rows += [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": target, "transform": "identity",
                      "kind": kind, "similarity": 0.5, "threshold": 0.3, "success": f} for i, f in enumerate(flags)]
    card = {"method": {"method": method}, "spec": {"goal": "impersonate"}, "reversible": bool(esr)}
    return RunResult(card=card, scores=pd.DataFrame(rows))


RUNS = [
    run("pgd", {"sface": [True, True, False, False], "mfn_512": [True, False, False, False]}),
    run("fgsm", {"sface": [True, False, False, False], "mfn_512": [False, False, False, False]}),
    run("erasablemask", {"sface": [True, True, True, False], "mfn_512": [True, True, False, False]},
        esr={"sface": [True, True, True, True], "mfn_512": [True, True, True, False]}),
]


def test_rates_are_percent_of_successes():
    table = build_table(RUNS, ["asr"])
    assert table.cells[("pgd", "sface", "asr")].value == 50.0
    assert table.cells[("erasablemask", "mfn_512", "asr")].value == 50.0
    assert table.cells[("fgsm", "mfn_512", "asr")].value == 0.0
    est = table.cells[("pgd", "sface", "asr")]
    assert est.n == 4 and 0.0 <= est.lo <= 50.0 <= est.hi <= 100.0


def test_esr_only_where_present():
    table = build_table(RUNS, ["asr", "esr"])
    assert ("erasablemask", "sface", "esr") in table.cells
    assert ("pgd", "sface", "esr") not in table.cells
    assert "-" in render(table, "csv", ci=False).splitlines()[1]  # pgd has no ESR


def test_csv_and_markdown():
    table = build_table(RUNS, ["asr"])
    csv = render(table, "csv", ci=False)
    assert csv.splitlines()[0] == "method,sface,mfn_512"
    assert "pgd,50.00,25.00" in csv
    md = render(table, "markdown", ci=True)
    assert md.splitlines()[0] == "| method | sface ASR % | mfn_512 ASR % |"  # units in headers
    assert md.count("\n") == 5 and "[" in md


def check_latex(tex: str, columns: int) -> None:
    """What a TeX run would reject: unbalanced environments/braces, wrong cell counts, bare specials."""
    begins, ends = re.findall(r"\\begin\{(\w+)\}", tex), re.findall(r"\\end\{(\w+)\}", tex)
    assert begins == list(reversed(ends))
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    spec = re.search(r"\\begin\{tabular\}\{([lcr]+)\}", tex).group(1)
    assert len(spec) == columns
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0]
    for line in body.strip().splitlines():
        assert line.endswith("\\\\")
        assert len(re.split(r"(?<!\\)&", line)) == columns
    assert re.search(r"(?<!\\)[_%#]", tex.replace("$\\uparrow$", "").replace("$\\downarrow$", "")) is None
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert tex.count(rule) == 1


def test_latex_booktabs_best_bold_second_underlined():
    tex = render(build_table(RUNS, ["asr"]), "latex", ci=False, title="ASR on mini (%)")
    check_latex(tex, columns=3)
    assert "mfn\\_512" in tex
    assert "\\textbf{75.00}" in tex  # erasablemask on sface
    assert "\\underline{50.00}" in tex  # pgd on sface
    assert "\\caption{ASR on mini (\\%). verify (impersonate); ASR in \\%" in tex


def test_latex_two_metrics_per_target_like_table2():
    tex = render(build_table(RUNS, ["asr", "esr"]), "latex", ci=True)
    check_latex(tex, columns=5)
    assert tex.count("\\multicolumn{2}{c}") == 2
    assert "ASR (\\%)$\\uparrow$ & ESR (\\%)$\\uparrow$" in tex


def test_latex_escape():
    assert latex_escape("a_b & 50% #1") == "a\\_b \\& 50\\% \\#1"


def test_bad_metric_and_axis():
    with pytest.raises(BadInput, match="unknown metric 'asx'; available: asr"):
        build_table(RUNS, ["asx"])
    with pytest.raises(BadInput, match="unknown table axis"):
        build_table(RUNS, ["asr"], rows="colour")


def test_run_view_has_a_row_per_target_and_transform_and_a_column_per_metric():
    em = RUNS[2]
    assert em.table(fmt="csv", ci=False).splitlines() == ["target,ASR,ESR", "sface,75.00,100.00", "mfn_512,50.00,75.00"]
    two = RunResult(card=em.card, scores=pd.concat([em.scores, em.scores.assign(transform="jpeg50")]))
    lines = two.table(fmt="csv", ci=False).splitlines()
    assert lines[0] == "target/transform,ASR,ESR" and lines[1:3] == ["sface · identity,75.00,100.00",
                                                                    "mfn_512 · identity,50.00,75.00"]
    assert len(lines) == 5 and lines[3].startswith("sface · jpeg50,")
    with pytest.raises(BadInput, match="unknown table axis 'dataset'"):
        build_table(RUNS, ["asr"], rows="target/dataset")


def test_latex_escapes_metric_headers_and_takes_them_from_the_registry():
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": "sface", "transform": "identity",
             "kind": kind, "similarity": 0.5, "threshold": 0.3, "success": i % 2 == 0}
            for kind in ("impersonation", "erasion-wrong-key") for i in range(4)]
    em = RunResult(card={"method": {"method": "erasablemask"}, "spec": {"goal": "impersonate"}}, scores=pd.DataFrame(rows))
    tex = render(build_table([em, RUNS[0]], ["asr", "esr_wrong"]), "latex", ci=False)
    check_latex(tex, columns=5)  # ESR_WRONG's underscore used to reach TeX bare
    assert "ASR (\\%)$\\uparrow$ & ESR\\_WRONG (\\%)$\\uparrow$" in tex


def test_identification_table_in_every_format():
    rows = [{"pair": f"{who}{i}", "identity": who, "source": f"{who}{i}", "target": target, "transform": "identity",
             "kind": "identification", "n_above": n, "hit1": n < 1, "hit5": n < 5, "hit10": n < 10}
            for target in ("sface", "irse50") for who, ns in (("a", [0, 3]), ("b", [7, 12])) for i, n in enumerate(ns)]
    run = RunResult(card={"method": {"method": "opom"}, "spec": {"goal": "dodge"}, "white_box": ["irse50"]},
                    scores=pd.DataFrame(rows))
    table = build_table([run], ["top1", "top5", "top10"])
    assert [table.cells[("opom", "sface", m)].value for m in ("top1", "top5", "top10")] == [75.0, 50.0, 25.0]
    assert render(table, "csv", ci=False).splitlines()[0] == ("method,sface Top-1 prot.,sface Top-5 prot.,"
                                                              "sface Top-10 prot.,irse50 Top-1 prot.,irse50 Top-5 prot.,"
                                                              "irse50 Top-10 prot.")
    check_latex(render(table, "latex", ci=True), columns=7)
    assert render(build_table([run], ["apsr"]), "csv", ci=False).splitlines() == ["method,black-box targets", "opom,75.00"]
