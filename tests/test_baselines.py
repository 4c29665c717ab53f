"""Published baselines: the CSVs parse, hold exactly the numbers of the papers' text (read independently by
tests/paper_tables.py), and `fpbench table --baseline` shows them."""
from __future__ import annotations

import pandas as pd
import pytest

import paper_tables
from availability import unavailable
from fpbench.cli.main import main
from fpbench.errors import BadInput
from fpbench.results import RunResult
from fpbench.results.baselines import BASELINES_DIR, add_published, paper_target, published
from fpbench.results.tables import build_table

COLUMNS = ["paper", "table", "dataset", "processing", "surrogate", "row", "column", "metric", "value", "unit",
           "source", "notes"]
#: what identifies one published value
KEY = ["dataset", "processing", "surrogate", "row", "column", "metric"]
#: every table transcribed into the CSVs
PAPER_TABLES = [(paper, table) for paper, tables in
                {"erasablemask": ["II", "III", "IV", "V", "VI"], "advcloak": ["1", "2", "3"], "pmt": ["III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]}.items()
                for table in tables]


@pytest.mark.parametrize("paper", ["erasablemask", "advcloak", "pmt"])
def test_csvs_parse_with_source_and_units(paper):
    df = published(paper)
    assert list(df.columns) == COLUMNS and len(df) > 100
    assert set(df["unit"]) <= {"percent", "raw", "s"} and (df["source"] != "").all()
    assert not df.duplicated(["table", *KEY]).any()
    assert df.loc[df["unit"] == "percent", "value"].between(0, 100).all()


@pytest.fixture(scope="module")
def papers() -> dict[str, dict[str, dict]]:
    """Every table of the three papers, read from their text in the shared folder beside the repository."""
    if not paper_tables.PAPERS.is_dir():
        unavailable(f"the papers' text is not at {paper_tables.PAPERS} (the shared folder beside the repository)")
    return {paper: read() for paper, read in paper_tables.READERS.items()}


def test_every_table_in_the_csvs_is_checked_against_its_paper():
    in_csvs = {(paper, t) for paper in ("erasablemask", "advcloak", "pmt") for t in published(paper)["table"].unique()}
    assert in_csvs == set(PAPER_TABLES)


@pytest.mark.parametrize("paper, table", PAPER_TABLES)
def test_csv_holds_exactly_the_papers_printed_values(papers, paper, table):
    """Cell for cell and as printed (trailing zeros kept): nothing missing, nothing extra, no typo."""
    df = pd.read_csv(BASELINES_DIR / f"{paper}.csv", dtype=str, keep_default_na=False)
    csv = {tuple(r[KEY]): r["value"] for _, r in df[df["table"] == table].iterrows()}
    printed = papers[paper][table]
    assert printed, f"nothing read from {paper}'s table {table}"
    assert {k: v for k, v in csv.items() if printed.get(k) != v} == {}, "in the CSV, not in the paper"
    assert {k: v for k, v in printed.items() if csv.get(k) != v} == {}, "in the paper, not in the CSV"


def test_erasablemask_tables_are_complete():
    t2 = published("erasablemask", "II")
    assert len(t2[t2["metric"] == "asr"]) == 2 * 9 * 6 and len(t2[t2["metric"] == "esr"]) == 2 * 6
    t5 = published("erasablemask", "V")
    assert set(t5["processing"]) == {"jpeg50", "gauss0.003", "resize0.5", "median5", "rotate30", "crop"}
    assert len(t5) == 6 * (7 * 6 + 6)


def test_advcloak_averages_match_their_rows():
    """The Average column is the mean of the six targets, up to the papers' rounding."""
    df = published("advcloak")
    df = df[df["table"].isin(["1", "2"])]
    keys = ["table", "surrogate", "row", "metric"]
    means = df[df["column"] != "Average"].groupby(keys)["value"].mean()
    reported = df[df["column"] == "Average"].set_index(keys)["value"]
    assert len(reported) == 2 * 3 * 10 * 2  # tables x surrogates x methods x (top1, top5)
    assert (means - reported).abs().max() <= 0.1


def test_advcloak_table3_apsr_is_the_table1_arcface_average():
    """Table 3's APSR of the methods also in Table 1 equals their ArcFace-source Top-1 Average there (within
    rounding); image-specific rows have no T_cus ("/" in the paper) and every row says its type of mask."""
    t1, t3 = published("advcloak", "1"), published("advcloak", "3")
    average = t1[(t1["surrogate"] == "ArcFace") & (t1["column"] == "Average") & (t1["metric"] == "top1")]
    average = average.set_index("row")["value"]
    apsr = t3[t3["metric"] == "apsr"].set_index("row")["value"]
    shared = [r for r in apsr.index if r in average.index]
    assert len(apsr) == 9 and sorted(shared) == sorted(["GAP", "AdvFaces+", "FI-UAP", "AdvCloak", "OPOM-ConvexHull",
                                                        "AdvCloak-ConvexHull"])
    assert (apsr[shared] - average[shared]).abs().max() <= 0.1
    image = t3[t3["notes"].str.startswith("type of mask: Image-specific")]
    assert set(image["row"]) == {"FIM", "LowKey", "AdvFaces"} and "time_customise" not in set(image["metric"])
    assert t3["notes"].str.match(r"type of mask: (Image-specific|Person-specific|Universal);").all()


def test_pmt_averages_are_the_unauthorised_models_mean():
    """Table VII: Average is the mean of the four unauthorised models (all five for Clean), up to rounding,
    except the one cell the paper itself gets wrong (AgeDB-30, authorised ArcFace: 6.7 printed, 9.4 by hand)."""
    df = published("pmt", "VII")
    models = ["MobileFace", "ArcFace", "ResNet50", "IR50-Softmax", "IR50-Sphereface"]
    wide = df.pivot_table(index=["dataset", "surrogate"], columns="column", values="value")
    assert wide.shape == (4 * 6, 6)  # datasets x (Clean + 5 authorised models), 5 models + Average
    off = []
    for (dataset, authorised), row in wide.iterrows():
        mean = row[[m for m in models if m != authorised]].mean()
        if abs(mean - row["Average"]) > 0.06:
            off.append((dataset, authorised, round(mean, 1), row["Average"]))
    assert off == [("AgeDB-30", "ArcFace", 9.4, 6.7)]


def test_paper_names():
    assert paper_target("arcface[mobilefacenet]") == "ArcFace" and paper_target("irse50") == "IRSE50"


def test_unknown_paper_or_table_is_one_clear_error():
    with pytest.raises(BadInput, match="available: advcloak, erasablemask, pmt"):
        published("nopaper")
    with pytest.raises(BadInput, match="no table 'IX'"):
        published("erasablemask", "IX")


def test_missing_package_data_is_one_clear_error(monkeypatch, tmp_path):
    import fpbench.results.baselines as baselines

    monkeypatch.setattr(baselines, "BASELINES_DIR", tmp_path / "published")
    with pytest.raises(BadInput, match="published baselines not found at .*: this fpbench install is incomplete"):
        published("erasablemask")


def fake_run(method: str, success: dict[str, list[bool]]) -> RunResult:
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": target, "transform": transform,
             "kind": "impersonation", "similarity": 0.5, "threshold": 0.3, "success": ok}
            for transform in ("identity", "jpeg50") for target, flags in success.items() for i, ok in enumerate(flags)]
    card = {"method": {"method": method}, "spec": {"goal": "impersonate"}, "reversible": False}
    return RunResult(card=card, scores=pd.DataFrame(rows))


@pytest.fixture
def run_dirs(tmp_path):
    fake_run("pgd", {"arcface[mobilefacenet]": [True, False], "sface": [True, True]}).save(tmp_path / "pgd")
    fake_run("fgsm", {"arcface[mobilefacenet]": [False, False], "sface": [True, False]}).save(tmp_path / "fgsm")
    return tmp_path


def test_baseline_adds_published_rows_to_csv(run_dirs, capsys):
    assert main(["table", str(run_dirs), "--format", "csv", "--transform", "identity",
                 "--baseline", "erasablemask:II:CelebA-HQ"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "method,arcface[mobilefacenet],sface"
    rows = [line.split(",") for line in lines[1:] if not line.startswith("#")]
    labels = [r[0] for r in rows]
    # the runs first, then the published rows in a block of their own (other models, other data)
    assert labels[:2] == ["fgsm", "pgd"] and all("(published" in label for label in labels[2:])
    assert "ErasableMask (published)" in labels and "Clean (published)" in labels
    assert rows[labels.index("PGD (published)")][1:] == ["65.45", "-"]  # no published value for sface
    assert lines[-1] == ("# published rows: Shen et al., ErasableMask, Table II, the paper's own models (ArcFace) "
                         "and data (CelebA-HQ); not ranked against the runs above")


def test_baseline_in_markdown_labels_datasets_and_follows_transform(run_dirs, capsys):
    assert main(["table", str(run_dirs), "--format", "markdown", "--transform", "identity",
                 "--baseline", "erasablemask:II"]) == 0
    out = capsys.readouterr().out
    assert "| PGD (published, CelebA-HQ) | 65.45 | - |" in out and "| PGD (published, FFHQ) | 68.34 | - |" in out
    assert main(["table", str(run_dirs), "--format", "markdown", "--transform", "jpeg50",
                 "--baseline", "erasablemask:V"]) == 0
    assert "| PGD (published) | 24.50 | - |" in capsys.readouterr().out


def test_baseline_without_matching_values_is_an_error(run_dirs):
    table = build_table([RunResult.load(run_dirs / "pgd")], ["asr"], aggregate="mean")
    with pytest.raises(BadInput, match="publishes none of asr"):
        add_published(table, "erasablemask:VI")
    with pytest.raises(BadInput, match="PAPER:TABLE"):
        add_published(table, "erasablemask")


def test_baseline_quality_values_sit_under_the_image_kind(tmp_path, capsys):
    run = fake_run("gmaa", {"sface": [True, False]})
    run.quality = pd.DataFrame({"pair": ["p0", "p1", "p0", "p1"], "lpips": [0.1, 0.2, 0.3, 0.4],
                                "image": ["protected", "protected", "protected vs edited", "protected vs edited"]})
    run.save(tmp_path / "gmaa")
    assert main(["table", str(tmp_path), "--metric", "lpips", "--format", "csv", "--baseline", "erasablemask:VI"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:2] == ["method,protected,protected vs edited", "gmaa,0.15,0.35"]
    assert "GMAA (published),0.117,-" in lines[2:]
    # the paper compares ErasableMask's own faces with the attribute-edited ones, the others' with the clean
    assert "ErasableMask (published),-,0.0645" in lines


def test_pmt_tables_show_in_the_papers_layout_beside_the_runs(run_dirs, capsys):
    """PMT's columns are the paper's models (no fpbench target shares them): the published table is printed
    in its own layout after the runs' table; an erasablemask selector without matches stays an error."""
    from fpbench.results.paper_layout import paper_layout

    df, note = paper_layout("pmt:IX:AgeDB-30")
    assert list(df.columns) == ["MobileFace", "ResNet50", "IR50-Softmax", "IR50-Sphereface", "ArcFace"]
    assert df.loc["ResNet50+IR50-Softmax", "IR50-Sphereface"] == 33.6 and len(df) == 6
    assert "Table IX (dataset AgeDB-30)" in note
    vi, _ = paper_layout("pmt:VI:CALFW")
    assert vi.loc["PMT", "white-box reconstruction | ssim"] == 0.02 and list(vi.index) == ["Unprotected", "Random Noise", "PMT"]
    assert main(["table", str(run_dirs), "--format", "csv", "--transform", "identity", "--baseline", "pmt:X"]) == 0
    out = capsys.readouterr().out
    assert "# pmt:X (published, the paper's layout)" in out
    assert '"PMT (augmentation yes, TI yes, aggregation yes)",99.0,1.0,1.848' in out
    assert main(["table", str(run_dirs), "--format", "latex", "--transform", "identity", "--baseline", "pmt:III"]) == 2
    with pytest.raises(BadInput, match="has no dataset 'Mars'"):
        paper_layout("pmt:VI:Mars")
