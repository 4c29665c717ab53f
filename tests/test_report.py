"""`fpbench report`: one self-contained HTML file with the run's faces and plots embedded, its table and
card; across runs, quality against ASR and ASR against eps; and it opens in a real headless Chromium."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fpbench.cli.main import main
from fpbench.results import RunResult

from browser import needs_chromium, rendered_dom

TARGET = "facepp"


def face(path: Path, seed: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (112, 112, 3), dtype=np.uint8)).save(path)
    return str(path)


def fake_run(root: Path, cache: Path, eps: float, success: list[bool]) -> Path:
    """A finished verify run whose rows name real image files (in the test's cache)."""
    n = len(success)
    files = {kind: [face(cache / "img" / f"{kind}-{eps:.4f}-{i}.png", i + 100 * k) for i in range(n)]
             for k, kind in enumerate(("clean", "protected", "reference"))}
    scores = pd.DataFrame({"pair": [f"s{i}->t" for i in range(n)], "source": [f"s{i}" for i in range(n)],
                           "target_face": "t", "target": TARGET, "transform": "identity", "kind": "impersonation",
                           "clean_file": files["clean"], "protected_file": files["protected"],
                           "reference_file": files["reference"], "restored_file": "",
                           "similarity": np.linspace(0.1, 0.6, n), "threshold": 0.35, "success": success})
    quality = pd.DataFrame({"pair": scores["pair"], "image": "protected", "lpips": eps * 2, "ssim": 1 - eps,
                            "file": files["protected"], "reference_file": files["clean"]})
    card = {"spec": {"method": "pgd", "targets": [TARGET], "dataset": "mini", "goal": "impersonate", "far": 0.01,
                     "profile": "mini", "seed": 0, "params": {"eps": eps}, "transforms": ["identity"]},
            "method": {"method": "pgd", "params": {"eps": eps, "steps": 10}, "version": "1"}, "reversible": False,
            "dataset": {"name": "mini", "manifest_sha256": "ab" * 32, "pairs": n},
            "protocol": {"goal": "impersonate", "far": 0.01}, "targets": [{"name": TARGET, "display": TARGET, "kind": "api"}],
            "white_box": [], "surrogates": [], "images": "8-bit PNG", "quality": {}, "work": {"protected": n},
            "thresholds": {TARGET: {"far": {"0.01": {"tau": 0.35, "source": "the vendor's documented threshold"}}}},
            "stage_seconds": {"protect": 1.0}, "warnings": ["a warning a person should read"],
            "environment": {"git_commit": "feedface" * 5}}
    return RunResult(card=card, scores=scores, quality=quality).save(root / f"run-{eps:.4f}")


@pytest.fixture
def runs(tmp_path, fresh_cache) -> list[Path]:
    return [fake_run(tmp_path / "runs", fresh_cache, eps, ok)
            for eps, ok in ((2 / 255, [False, False, True, False]), (4 / 255, [True, False, True, False]),
                            (8 / 255, [True, True, True, False]))]


def images(page: str) -> list[str]:
    return re.findall(r"<img[^>]*src='(data:image/png;base64,[^']+)'", page)


def test_one_run_report_embeds_faces_plots_table_and_card(runs, capsys):
    assert main(["report", str(runs[0]), "--pairs", "3"]) == 0
    page = (runs[0] / "report.html").read_text()
    assert "report.html" in capsys.readouterr().out
    # 3 pairs x (clean, protected, reference) + the similarity histogram and ASR-per-transform plots
    assert len(images(page)) == 3 * 3 + 2
    assert all(len(src) > 200 for src in images(page))
    assert "s0-&gt;t" in page and f"{TARGET}: 0.100 vs 0.350 no" in page
    assert "<table" in page and "25.00" in page  # the run's ASR (1 of 4) in its table
    assert "the vendor&#x27;s documented threshold" in page and "a warning a person should read" in page
    assert "no clean similarities for facepp" in page  # an API target is never called for a report
    assert "no stored calibration" in page  # the ROC says why it is absent
    assert not re.search(r"(src|href)=['\"]?https?:", page)  # self-contained


def test_several_runs_plot_quality_against_asr_and_asr_against_eps(runs, tmp_path):
    out = tmp_path / "all.html"
    assert main(["report", *map(str, runs), "--out", str(out), "--pairs", "2"]) == 0
    page = out.read_text()
    assert "LPIPS against the protection metric across runs" in page and "against the budget (eps)" in page
    assert page.count("needs ") == 0  # both cross-run plots are drawn
    assert len(images(page)) == 2 + 3 * (2 * 3 + 2)
    for label in ("pgd eps=2/255", "pgd eps=4/255", "pgd eps=8/255"):
        assert label in page


def test_runs_at_several_mask_norms_or_inference_photo_counts_get_their_own_plot(runs):
    from fpbench.report.figures import setting_figures
    from fpbench.results import load_runs

    loaded = load_runs(runs)
    for k, run in enumerate(loaded):  # the same method at three mask norms, all inference photos
        run.card["method"]["params"].pop("eps")
        run.card["mask_l2"] = [2.0, 4.706, 8.0][k]
    titles = {f.title: f for f in setting_figures(loaded)}
    assert titles["Protection metric against the mask norm (AdvCloak Fig. 3b)"].png is not None
    assert titles["Protection metric against the budget (eps)"].png is None  # says what it needs instead
    assert not any("inference photos" in t for t in titles)  # nothing varies it: no empty plot


def test_a_run_whose_images_left_the_cache_still_reports(runs):
    for png in (runs[0].parent.parent / "cache").rglob("*.png"):
        png.unlink()
    assert main(["report", str(runs[0])]) == 0
    assert "is not in the cache any more" in (runs[0] / "report.html").read_text()


@needs_chromium
def test_report_opens_in_headless_chromium(runs, tmp_path):
    assert main(["report", str(runs[1]), "--pairs", "2"]) == 0
    page = (runs[1] / "report.html").read_text()
    # count, in the browser, the images that decoded (a copy of the page with a probe appended)
    dom = rendered_dom(page, "var ok=Array.from(document.images).filter(function(i){return i.complete&&"
                             "i.naturalWidth>0}).length;document.body.setAttribute('data-decoded',ok)", tmp_path)
    assert "<table" in dom and "Sample pairs" in dom
    assert dom.count("<img") == len(images(page)) == 2 * 3 + 2
    assert f'data-decoded="{len(images(page))}"' in dom


def test_a_pmt_run_with_the_up_curve_plots_it():
    from fpbench.report.figures import up_curve_figure

    rows = [{"pair": f"p{i}", "source": f"p{i}", "target": "mobilefacenet", "transform": "identity", "kind": kind,
             "sigma": sigma, "up": base + sigma + 0.01 * i}
            for i in range(4) for sigma in (0.0, 0.1, 0.2) for kind, base in (("up-curve", 1.5), ("up-curve-original", 1.0))]
    fig = up_curve_figure(RunResult(card={}, scores=pd.DataFrame(rows)))
    assert fig is not None and fig.png.startswith(b"\x89PNG") and "Fig. 8/10" in fig.title
    assert up_curve_figure(RunResult(card={}, scores=pd.DataFrame(rows[:0]))) is None
