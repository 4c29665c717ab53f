"""The report's plots as PNG bytes (matplotlib, no display needed): similarity histograms against the
threshold, ROC points of each target's calibrations, a metric per transform, quality against the metric
across runs, and the metric against the perturbation budget of a sweep."""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

Interval = tuple[float, float, float]  # value, lo, hi


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _grid(n: int, width: float = 4.2, height: float = 3.0) -> tuple[Figure, list]:
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(width * cols, height * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def similarity_histograms(clean: dict[str, np.ndarray], protected: dict[str, np.ndarray],
                          thresholds: dict[str, float], goal: str) -> bytes:
    """Per target: cosine similarities of clean and protected faces to their reference, and the threshold."""
    names = list(protected)
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        values = [v for v in (clean.get(name), protected[name]) if v is not None and len(v)]
        bins = np.linspace(min(map(np.min, values)) - 0.05, max(map(np.max, values)) + 0.05, 24)
        if clean.get(name) is not None:
            ax.hist(clean[name], bins=bins, alpha=0.6, label="clean")
        ax.hist(protected[name], bins=bins, alpha=0.6, label="protected")
        if name in thresholds:
            ax.axvline(thresholds[name], color="black", linestyle="--", label=f"threshold {thresholds[name]:.3f}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("similarity to the " + ("target person" if goal == "impersonate" else "reference"))
        ax.set_ylabel("pairs")
        ax.legend(fontsize=7)
    return png(fig)


def roc_curves(curves: dict[str, list[tuple[str, np.ndarray, np.ndarray, list[tuple[float, float]]]]],
               far: float) -> bytes:
    """Per target: TAR against FAR of each calibration (label, FARs, TARs, calibrated points), run FAR marked."""
    names = list(curves)
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        for label, fars, tars, points in curves[name]:
            keep = fars > 0
            line, = ax.step(fars[keep], tars[keep], where="post", label=label)
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], "o", color=line.get_color())
        ax.axvline(far, color="gray", linestyle=":", label=f"run FAR {far:g}")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("false accept rate")
        ax.set_ylabel("true accept rate")
        ax.legend(fontsize=7)
    return png(fig)


def metric_by_transform(values: dict[str, dict[str, Interval]], metric: str) -> bytes:
    """Grouped bars: the metric (with its CI) per transform, one bar per target."""
    targets = list(values)
    transforms = list(dict.fromkeys(t for v in values.values() for t in v))
    fig = Figure(figsize=(max(4.5, 1.2 * len(transforms) * max(1, len(targets)) ** 0.5), 3.2))
    ax = fig.subplots()
    width = 0.8 / max(1, len(targets))
    for i, target in enumerate(targets):
        xs, ys, err = [], [], [[], []]
        for j, transform in enumerate(transforms):
            if transform in values[target]:
                v, lo, hi = values[target][transform]
                xs.append(j + i * width)
                ys.append(v)
                err[0].append(max(0.0, v - lo))
                err[1].append(max(0.0, hi - v))
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=target)
    ax.set_xticks([j + width * (len(targets) - 1) / 2 for j in range(len(transforms))], transforms, rotation=20)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per transform (95% CI)", fontsize=9)
    ax.legend(fontsize=7)
    return png(fig)


def quality_vs_metric(points: Sequence[tuple[str, float, Interval]], quality: str, metric: str) -> bytes:
    """One point per run: image quality (x) against the metric with its CI (y)."""
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    for label, q, (v, lo, hi) in points:
        ax.errorbar([q], [v], yerr=[[max(0.0, v - lo)], [max(0.0, hi - v)]], fmt="o", capsize=3, label=label)
    ax.set_xlabel(quality)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {quality} across runs", fontsize=9)
    ax.legend(fontsize=7)
    return png(fig)


def metric_vs_setting(series: dict[str, list[tuple[float, Interval]]], metric: str, axis: str) -> bytes:
    """One line per (method, target): the metric with its CI against a run setting (x already in axis units)."""
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    for label, points in series.items():
        points = sorted(points)
        xs = [x for x, _ in points]
        ax.errorbar(xs, [v for _, (v, _, _) in points], marker="o", capsize=3, label=label,
                    yerr=[[max(0.0, v - lo) for _, (v, lo, _) in points], [max(0.0, hi - v) for _, (v, _, hi) in points]])
    ax.set_xlabel(axis)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {axis}", fontsize=9)
    ax.legend(fontsize=7)
    return png(fig)
