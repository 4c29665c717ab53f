"""What the report's plots show, read from runs: each function returns ``Figure``s (title, PNG, caption)
or, where a run has nothing to plot, a caption saying why (never a silent gap)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from ..errors import BadInput
from ..images import load_png
from ..metrics.registry import METRICS
from ..results import RunResult, default_metrics
from ..results.files import resolve
from ..results.labels import run_labels
from ..results.pairs import MAIN_KINDS
from . import plots

Interval = tuple[float, float, float]


@dataclass
class Figure:
    title: str
    png: bytes | None  # None: nothing to plot, the caption says why
    caption: str


def main_metric(run: RunResult) -> str | None:
    """The run's headline metric (asr, psr, top1, accuracy): its protocol's first default metric."""
    names = default_metrics(run)
    return names[0] if names else None


def _interval(metric: str, rows: pd.DataFrame) -> Interval | None:
    est = METRICS[metric].estimate(rows)
    return None if est is None else (est.value, est.lo if np.isfinite(est.lo) else est.value,
                                     est.hi if np.isfinite(est.hi) else est.value)


def _rows(run: RunResult, metric: str, transform: str | None = "identity") -> pd.DataFrame:
    s = run.scores
    rows = s[s["kind"].isin(METRICS[metric].kinds)] if "kind" in s else s.iloc[:0]
    return rows[rows["transform"] == transform] if transform is not None else rows


def clean_similarities(run: RunResult, rows: pd.DataFrame) -> tuple[dict[str, np.ndarray], str]:
    """Per local target: similarity of each pair's clean face to its reference (embeddings are cached);
    targets without a local model (APIs) are left out, and the note says so."""
    from ..targets import make_target

    out, skipped = {}, []
    for t in run.card.get("targets") or []:
        display = t.get("display", "")
        group = rows[rows["target"] == display]
        if group.empty:
            continue
        if t.get("kind") != "local":
            skipped.append(display)
            continue
        files = [(resolve(c), resolve(r)) for c, r in zip(group["clean_file"], group["reference_file"])]
        if not all(c and r and c.is_file() and r.is_file() for c, r in files):
            skipped.append(display)
            continue
        target = make_target(t["name"])
        clean = _stack([c for c, _ in files])
        refs = _stack([r for _, r in files])
        out[display] = target.score(clean, refs)
    note = f"; no clean similarities for {', '.join(skipped)} (no local model, or images gone from the cache)" \
        if skipped else ""
    return out, note


def _stack(paths: list) -> torch.Tensor:
    return torch.stack([load_png(p) for p in paths])


def similarity_figure(run: RunResult) -> Figure:
    title = "Similarity to the reference: clean vs protected"
    s = run.scores
    if "similarity" not in s or "kind" not in s:
        return Figure(title, None, "this run's protocol scores no pair similarities (identify / authorise)")
    rows = s[s["kind"].isin(MAIN_KINDS) & (s["transform"] == "identity") & s["similarity"].notna()]
    if rows.empty:
        return Figure(title, None, "no protection scores under the identity transform")
    goal = (run.card.get("spec") or {}).get("goal", "")
    protected = {t: g["similarity"].to_numpy() for t, g in rows.groupby("target", sort=False)}
    taus = {t: float(g["threshold"].iloc[0]) for t, g in rows.groupby("target", sort=False) if "threshold" in g}
    note = ""
    try:
        clean, note = clean_similarities(run, rows) if "clean_file" in rows else ({}, "; no clean image files")
    except BadInput as e:
        clean, note = {}, f"; clean similarities unavailable ({e})"
    caption = (f"{len(rows) // max(1, len(protected))} pairs per target, identity transform; dashed: the run's "
               f"threshold at FAR {(run.card.get('spec') or {}).get('far')}" + note)
    return Figure(title, plots.similarity_histograms(clean, protected, taus, goal), caption)


def roc_figure(run: RunResult) -> Figure:
    """ROC curve of each target on the data of its stored calibrations, calibrated thresholds marked."""
    from .roc import target_curves

    title = "ROC of each target from its calibration"
    far = float((run.card.get("spec") or {}).get("far", 0.01))
    curves = {t.get("display", ""): c for t in run.card.get("targets") or [] if (c := target_curves(t))}
    if not curves:
        return Figure(title, None, "no stored calibration of these targets' weights (published thresholds come "
                                   "without their scores); `fpbench calibrate --model NAME --dataset SET` stores one")
    return Figure(title, plots.roc_curves(curves, far),
                  "true against false accept rate over the calibration set's genuine and impostor pairs (log FAR; "
                  "a small set gives a coarse curve); dots: the calibrated thresholds; dotted: the run's FAR")


def transform_figure(run: RunResult) -> Figure:
    metric = main_metric(run)
    title = "Metric per transform"
    if metric is None:
        return Figure(title, None, "no scores of the run's protocol")
    rows = _rows(run, metric, None)
    values: dict[str, dict[str, Interval]] = {}
    for (target, transform), group in rows.groupby(["target", "transform"], sort=False):
        interval = _interval(metric, group)
        if interval is not None:
            values.setdefault(str(target), {})[str(transform)] = interval
    if not values:
        return Figure(title, None, f"no {metric} values")
    transforms = {t for v in values.values() for t in v}
    caption = f"{METRICS[metric].title} per transform with 95% bootstrap CIs" + \
        ("; this run used only the identity transform (run with --channel for the full channel)" if len(transforms) < 2 else "")
    return Figure(f"{METRICS[metric].label} per transform", plots.metric_by_transform(values, METRICS[metric].title), caption)


def _labels(runs: Sequence[RunResult]) -> list[str]:
    return run_labels([r.card for r in runs], [r.path.name if r.path else str(i) for i, r in enumerate(runs)])


def quality_figure(runs: Sequence[RunResult], quality: str = "lpips") -> Figure:
    """One point per run: mean quality of its protected faces against its headline metric (pooled targets)."""
    title = f"{quality.upper()} against the protection metric across runs"
    points, metrics = [], set()
    for label, run in zip(_labels(runs), runs):
        metric = main_metric(run)
        q = run.quality
        if metric is None or q.empty or quality not in q:
            continue
        interval = _interval(metric, _rows(run, metric))
        mean_q = q[q["image"] == "protected"][quality].mean()
        if interval is not None and np.isfinite(mean_q):
            points.append((label, float(mean_q), interval))
            metrics.add(METRICS[metric].title)
    if len(points) < 2 or len(metrics) != 1:
        return Figure(title, None, "needs two or more runs with quality scores and the same headline metric")
    return Figure(title, plots.quality_vs_metric(points, f"mean {quality.upper()} of protected faces", metrics.pop()),
                  "identity transform, every target's pairs pooled; bars: 95% bootstrap CI")


@dataclass(frozen=True)
class Setting:
    """A run setting a sweep varies, read from the card, and how its axis is drawn."""

    title: str  # "the budget (eps)"
    axis: str  # x-axis label
    scale: float  # card value x scale = axis value
    read: Callable[[dict[str, Any]], Any]
    sweep: str  # what a sweep varies to make the figure


SETTINGS = (
    Setting("the budget (eps)", "eps (/255)", 255.0,
            lambda card: ((card.get("method") or {}).get("params") or {}).get("eps"), "eps"),
    Setting("the mask norm (AdvCloak Fig. 3b)", "mask L2 ([0,1] units)", 1.0, lambda card: card.get("mask_l2"),
            "mask_l2"),
    Setting("the number of inference photos (AdvCloak Fig. 4b)", "inference photos per mask", 1.0,
            lambda card: card.get("inference_photos"), "inference_photos"),
)


def setting_figure(runs: Sequence[RunResult], setting: Setting) -> Figure:
    """The headline metric against ``setting`` for methods run at two or more of its values (a sweep)."""
    title = f"Protection metric against {setting.title}"
    series: dict[str, list[tuple[float, Interval]]] = {}
    metrics = set()
    for run in runs:
        value = setting.read(run.card)
        metric = main_metric(run)
        if value is None or metric is None:
            continue
        metrics.add(METRICS[metric].title)
        for target, group in _rows(run, metric).groupby("target", sort=False):
            interval = _interval(metric, group)
            if interval is not None:
                series.setdefault(f"{run.label} vs {target}", []).append((float(value) * setting.scale, interval))
    series = {k: v for k, v in series.items() if len({x for x, _ in v}) > 1}
    if not series or len(metrics) != 1:
        return Figure(title, None, f"needs runs of one method at two or more {setting.sweep} values "
                                   f"(e.g. `fpbench sweep` over {setting.sweep})")
    return Figure(title, plots.metric_vs_setting(series, metrics.pop(), setting.axis),
                  "identity transform; bars: 95% bootstrap CI")


def setting_figures(runs: Sequence[RunResult]) -> list[Figure]:
    """One figure per setting the runs vary (the eps one always, saying what it needs when nothing varies)."""
    figures = [setting_figure(runs, s) for s in SETTINGS]
    return [f for k, f in enumerate(figures) if k == 0 or f.png is not None]


def up_curve_figure(run: RunResult) -> Figure | None:
    """PMT's UP(sigma, 0.3) curves (Fig. 8/10) of the released x~ and of the original faces, per authorised
    target; None when the run has no curve (``--attacks up``)."""
    s = run.scores
    curves = s[s["kind"].isin(["up-curve", "up-curve-original"])] if "kind" in s else s.iloc[:0]
    if curves.empty:
        return None
    series: dict[str, list[tuple[float, Interval]]] = {}
    for (target, kind), group in curves.groupby(["target", "kind"], sort=False):
        name = "x~" if kind == "up-curve" else "original x"
        for sigma, rows in group.groupby("sigma"):
            interval = _interval("up", rows)
            if interval is not None:
                series.setdefault(f"{name} ({target})", []).append((float(sigma), interval))
    return Figure("UP against environmental noise sigma (PMT Fig. 8/10)",
                  plots.metric_vs_setting(series, METRICS["up"].title, "noise sigma"),
                  "kappa 0.3, privacy term AlexNet LPIPS (the paper: VGG); PMT expects x~ above x for sigma in "
                  "[0, 0.2]; bars: 95% CI over faces")
