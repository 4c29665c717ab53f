"""`fpbench table RUNS --baseline advcloak:3`: AdvCloak's Table 3 layout (method, type of mask, T_cus, T_gen,
APSR) from identify runs' cards and scores, the paper's rows beside them."""
from __future__ import annotations

import pandas as pd
import pytest

from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.results import RunResult
from fpbench.results.table_3 import published_rows, table_3

TARGETS = {"mobilefacenet": [True, True, True, True], "sface": [True, False, False, False],
           "mfn512": [False, False, False, False]}  # hit@1 per probe pair; mobilefacenet is white-box


def identify_run(method: str, scope: str | None, seconds: dict | None = None, **card) -> RunResult:
    rows = [{"pair": f"p{i}", "identity": f"c{i % 2}", "source": f"s{i}", "genuine": f"g{i}", "target": target,
             "transform": "identity", "kind": "identification", "similarity": 0.5, "n_above": 0, "hit1": hit,
             "hit5": True, "hit10": True}
            for target, hits in TARGETS.items() for i, hit in enumerate(hits)]
    protocol = {"method_scope": scope} if scope else {}
    full = {"method": {"method": method}, "spec": {"goal": "dodge"}, "protocol_name": "identify",
            "protocol": protocol, "white_box": ["mobilefacenet"], "mask_seconds": seconds, **card}
    return RunResult(card=full, scores=pd.DataFrame(rows))


def timed(customise: float | None, generate: float) -> dict:
    out = {"generate": {"mean": generate, "n": 8, "device": "cpu"}}
    if customise is not None:
        out["customise"] = {"mean": customise, "n": 2, "device": "cpu"}
    return out


@pytest.fixture
def run_dirs(tmp_path):
    identify_run("fi-uap", "person", timed(2.5, 0.001)).save(tmp_path / "fi-uap")
    identify_run("gap", "universal", timed(0.01, 0.002), stage_seconds={"fit": 40.0}).save(tmp_path / "gap")
    identify_run("pgd", "image", None, stage_seconds={"protect": 3.0}, work={"protected": 30}).save(tmp_path / "pgd")
    identify_run("opom-convexhull", None, None).save(tmp_path / "opom")  # cached: nothing timed; older card
    return tmp_path


def test_layout_rows_times_and_apsr_from_the_runs(run_dirs, capsys):
    assert main(["table", str(run_dirs), "--format", "csv", "--baseline", "advcloak:3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "method,type,T_cus (s),T_gen (s),APSR %"
    rows = {line.split(",")[0]: line.split(",")[1:] for line in lines[1:] if not line.startswith("#")}
    # APSR: the black-box targets only (sface 75 %, mfn512 100 % protection), never the white-box surrogate
    assert rows["fi-uap"] == ["Person-specific", "2.5", "0.001", "87.50"]
    assert rows["gap"] == ["Universal", "0", "0.002", "87.50"]  # one mask for everyone: nothing to customise
    assert rows["pgd"] == ["Image-specific", "/", "0.1", "87.50"]  # 3 s over 30 protected images
    assert rows["opom-convexhull"] == ["Person-specific", "-", "-", "87.50"]  # scope from the registry; untimed
    assert rows["AdvCloak-ConvexHull (published)"] == ["Person-specific", "0.05", "0", "79.76"]
    assert rows["FIM (published)"] == ["Image-specific", "/", "1.65", "89.15"]
    assert rows["GAP (published)"] == ["Universal", "0", "0", "27.55"]
    notes = [line for line in lines if line.startswith("#")]
    assert "# gap: one mask for everyone, nothing to customise per person (T_cus 0, as in the paper); its training " \
           "took 40 s (fit stage); timed on cpu" in notes
    assert "# fi-uap: timed on cpu" in notes
    assert any("authors' GPU; not comparable" in n for n in notes)


def test_layout_in_markdown_puts_the_runs_before_the_paper():
    df, _ = table_3([identify_run("fi-uap", "person", timed(1.0, 0.0))])
    assert list(df.index)[0] == "fi-uap" and list(df.index)[1:] == list(published_rows())
    assert len(published_rows()) == 9


def test_layout_errors_are_one_line(run_dirs, tmp_path):
    assert main(["table", str(run_dirs), "--baseline", "advcloak:3", "--baseline", "advcloak:1"]) == 2
    assert main(["table", str(run_dirs), "--baseline", "advcloak:3", "--metric", "top1"]) == 2
    assert main(["table", str(run_dirs), "--baseline", "advcloak:3", "--format", "latex"]) == 2
    verify = RunResult(card={"method": {"method": "pgd"}, "spec": {"goal": "dodge"}},
                       scores=pd.DataFrame([{"pair": "p", "target": "sface", "transform": "identity", "kind": "dodging",
                                             "similarity": 0.1, "threshold": 0.3, "success": True}]))
    verify.save(tmp_path / "verify-run")
    with pytest.raises(BadInput, match="needs identify runs with black-box targets"):
        table_3([RunResult.load(tmp_path / "verify-run")])
