"""Leaderboards: entries made from run cards and validated against their schema, README.md and index.html
rendered with the entries' numbers and the papers' beside them, and `leaderboard check` re-running an entry
(it passes unchanged and fails once a number is moved outside its CI)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fpbench.cli.main import main
from fpbench.leaderboard.entry import ENTRIES, load_entry
from fpbench.results import RunResult

from browser import needs_chromium, rendered_dom

REPO = Path(__file__).resolve().parents[1]
TARGET = "arcface[mobilefacenet]"


def fake_run(run_dir: Path, success: list[bool], method: str = "pgd") -> Path:
    """A finished run on one target (a schema-valid card, score and quality rows)."""
    rows = [{"pair": f"p{i}", "source": f"s{i}", "target_face": "t", "target": TARGET, "transform": "identity",
             "kind": "impersonation", "similarity": 0.5, "threshold": 0.3, "success": ok} for i, ok in enumerate(success)]
    quality = pd.DataFrame({"pair": [r["pair"] for r in rows], "image": "protected", "ssim": 0.9, "psnr": 38.0,
                            "lpips": 0.02})
    card = {
        "spec": {"method": method, "targets": ["arcface"], "dataset": "mini", "goal": "impersonate", "far": 0.01,
                 "profile": "mini", "seed": 0, "params": {}},
        "method": {"method": method, "params": {"eps": 4 / 255, "steps": 20}, "version": "1"},
        "reversible": False,
        "dataset": {"name": "mini", "manifest_sha256": "ab" * 32, "pairs": len(rows)},
        "protocol": {"goal": "impersonate", "far": 0.01},
        "targets": [{"name": "arcface", "display": TARGET, "kind": "local", "model": {"weights_sha256": "cd" * 32}}],
        "white_box": [], "surrogates": [{"name": "sface", "model": "sface", "weights_sha256": "ef" * 32}],
        "thresholds": {TARGET: {"far": {"0.01": {"tau": 0.3, "kind": "calibrated", "source": "calibrated on mini"}}}},
        "images": "", "quality": {}, "work": {}, "stage_seconds": {}, "warnings": ["a caveat the board repeats"],
        "environment": {"git_commit": "0123456789abcdef" * 2 + "01234567", "fpbench": "0.1.0", "date": "2026-01-01"},
    }
    RunResult(card=card, scores=pd.DataFrame(rows), quality=quality).save(run_dir)
    return run_dir


def test_add_then_build_renders_the_entry_and_the_papers_numbers(tmp_path, fresh_cache, capsys):
    root = tmp_path / "leaderboards"
    run = fake_run(tmp_path / "run", [True, True, True, False])
    assert main(["leaderboard", "add", str(run), "--root", str(root)]) == 0
    (path,) = (root / ENTRIES).glob("*.json")
    entry = load_entry(path)
    assert entry.key == ("pgd", "mini", "verify", "mini") and entry.commit.startswith("0123456789")
    assert entry.dataset_manifest_sha256 == "ab" * 32 and entry.targets[0]["weights_sha256"] == "cd" * 32
    assert entry.thresholds[TARGET]["0.01"]["source"] == "calibrated on mini"
    asr = next(r for r in entry.results if r["metric"] == "asr")
    assert asr["value"] == 75.0 and asr["lo"] <= 75.0 <= asr["hi"] and asr["n"] == 4
    assert main(["leaderboard", "build", "--root", str(root)]) == 0
    readme, page = (root / "README.md").read_text(), (root / "index.html").read_text()
    cell = f"75.00 [{asr['lo']:.2f}, {asr['hi']:.2f}]"
    for text in (readme, page):
        assert cell in text and f"{TARGET} ASR %" in text and "0123456789ab" in text
        assert "a caveat the board repeats" in text
        # the paper's PGD numbers beside ours, with their source (ErasableMask Table II, ArcFace column)
        assert "PGD (published: erasablemask Table II, CelebA-HQ)" in text and "65.45" in text
        assert "Shen et al., ErasableMask, Table II" in text
    assert "<script>" in page and "http" not in page.split("<script>")[1]  # sorting inline, nothing fetched
    # adding the same (method, dataset, protocol, profile) again replaces the entry
    assert main(["leaderboard", "add", str(run), "--root", str(root)]) == 0
    assert "replaced" in capsys.readouterr().out and len(list((root / ENTRIES).glob("*.json"))) == 1


@pytest.mark.parametrize("field", ["commit", "thresholds", "dataset_manifest_sha256"])
def test_an_entry_missing_a_field_is_refused_in_one_line(tmp_path, fresh_cache, capsys, field):
    root = tmp_path / "leaderboards"
    assert main(["leaderboard", "add", str(fake_run(tmp_path / "run", [True, False])), "--root", str(root)]) == 0
    (path,) = (root / ENTRIES).glob("*.json")
    data = json.loads(path.read_text())
    del data[field]
    path.write_text(json.dumps(data))
    assert main(["leaderboard", "build", "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"missing {field}" in err and path.name in err.replace("\n", "")


@pytest.mark.parametrize("change, problem", [
    (lambda row: row.update(value="75"), "results[0]: value of the wrong type"),
    (lambda row: row.pop("hi"), "results[0]: missing hi"),
    (lambda row: row.update(value=row["hi"] + 1), "results[0]: value"),
])
def test_a_malformed_result_row_is_refused_in_one_line(tmp_path, fresh_cache, capsys, change, problem):
    root = tmp_path / "leaderboards"
    assert main(["leaderboard", "add", str(fake_run(tmp_path / "run", [True, False])), "--root", str(root)]) == 0
    (path,) = (root / ENTRIES).glob("*.json")
    data = json.loads(path.read_text())
    change(data["results"][0])
    path.write_text(json.dumps(data))
    assert main(["leaderboard", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err


def test_a_run_without_a_commit_makes_no_entry(tmp_path, fresh_cache, capsys):
    run = fake_run(tmp_path / "run", [True])
    card = json.loads((run / "card.json").read_text())
    card["environment"].pop("git_commit")
    (run / "card.json").write_text(json.dumps(card))
    assert main(["leaderboard", "add", str(run), "--root", str(tmp_path / "lb")]) == 2
    assert "no git commit" in capsys.readouterr().err


@pytest.fixture(scope="module")
def fgsm_entry(mini, embedded, tmp_path_factory):
    """A real (cheap) FGSM run on mini and the leaderboard made from it."""
    from fpbench.runner import run

    for name in ("sface", "mobilefacenet"):
        embedded(name)
    tmp = tmp_path_factory.mktemp("lb")
    result = run("fgsm", "sface", surrogates="mobilefacenet", quality=False, out=tmp / "runs")
    root = tmp / "leaderboards"
    assert main(["leaderboard", "add", str(result.path), "--root", str(root)]) == 0
    (path,) = (root / ENTRIES).glob("*.json")
    return path


def test_check_passes_unchanged_and_fails_once_a_number_leaves_its_ci(fgsm_entry, tmp_path, capsys):
    assert main(["leaderboard", "check", str(fgsm_entry)]) == 0
    assert "numbers inside their CIs" in capsys.readouterr().out
    moved = tmp_path / fgsm_entry.name
    data = json.loads(fgsm_entry.read_text())
    row = next(r for r in data["results"] if r["metric"] in ("asr", "psr"))
    shift = row["hi"] - row["value"] + 5.0 if row["value"] < 50 else -(row["value"] - row["lo"] + 5.0)
    row.update(value=row["value"] + shift, lo=row["lo"] + shift, hi=row["hi"] + shift)
    moved.write_text(json.dumps(data))
    assert main(["leaderboard", "check", str(moved)]) == 1
    out = capsys.readouterr().out
    assert "moved" in out and "outside the entry's CI" in out and row["target"] in out


def test_seeded_mini_entry_reproduces_from_scratch(mini, embedded, capsys):
    """CI's sample of the shipped leaderboard: the FGSM mini entry re-run in a fresh cache stays in its CIs."""
    from fpbench.zoo.names import resolve

    entry = REPO / "leaderboards" / ENTRIES / "mini--verify-impersonate--mini--fgsm.json"
    data = json.loads(entry.read_text())
    for name in [t["display"] for t in data["targets"]] + [s["model"] for s in data["surrogates"]]:
        embedded(resolve(name.split("[")[0]).zoo_name)
    assert main(["leaderboard", "check", str(entry), "--fresh-cache"]) == 0, capsys.readouterr().out


@needs_chromium
def test_index_html_sorts_in_headless_chromium(tmp_path, fresh_cache):
    """Entries are ranked best first; a click on the ASR header sorts ascending, in a real browser."""
    root = tmp_path / "leaderboards"
    for method, success in (("fgsm", [True, False, False, False]), ("pgd", [True, True, True, False])):
        assert main(["leaderboard", "add", str(fake_run(tmp_path / method, success, method)), "--root", str(root)]) == 0
    assert main(["leaderboard", "build", "--root", str(root)]) == 0
    page = (root / "index.html").read_text()
    dom = rendered_dom(page, "document.querySelectorAll('th')[2].click();"
                             "document.body.setAttribute('data-order',Array.from(document.querySelectorAll('tbody')[0]"
                             ".rows).map(function(r){return r.cells[1].textContent}).join(','))", tmp_path)
    assert page.index(">pgd<") < page.index(">fgsm<")  # ranked: higher ASR first
    assert 'data-order="fgsm,pgd"' in dom  # sorted ascending by the clicked column


def test_shipped_leaderboard_is_built_from_its_entries(tmp_path, fresh_cache):
    """leaderboards/README.md and index.html are exactly what `leaderboard build` makes of the entries."""
    shipped = REPO / "leaderboards"
    copy = tmp_path / "leaderboards"
    shutil.copytree(shipped / ENTRIES, copy / ENTRIES)
    assert main(["leaderboard", "build", "--root", str(copy)]) == 0
    for name in ("README.md", "index.html"):
        assert (copy / name).read_text() == (shipped / name).read_text(), f"run `fpbench leaderboard build` ({name})"
