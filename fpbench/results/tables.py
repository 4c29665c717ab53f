"""Aggregate runs into paper-style tables: a grid of ``Estimate`` cells indexed by (row, column, metric).

What each metric reads and how it aggregates is in ``fpbench.metrics.registry``; rendering (rich, CSV,
Markdown, LaTeX) is in ``render.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from ..errors import BadInput
from ..metrics import Estimate
from ..metrics.registry import METRICS, QUALITY_KIND, held_metrics, parse_metrics
from . import RunResult
from .render import FORMATS, latex_escape, render, to_frame, to_latex  # noqa: F401  (the table API in one place)

AXES = ("method", "target", "transform", "run")
#: the target label of metrics averaged over a run's black-box targets (APSR)
BLACK_BOX = "black-box targets"


@dataclass
class Table:
    rows: list[str]
    cols: list[str]
    metrics: list[str]
    cells: dict[tuple[str, str, str], Estimate]
    row_axis: str
    col_axis: str


def _labels(runs: Sequence[RunResult]) -> list[str]:
    """Method labels, disambiguated with the run dir name where two runs share a method name."""
    names = [r.label for r in runs]
    return [n if names.count(n) == 1 else f"{n} ({r.path.name if r.path else i})" for i, (n, r) in enumerate(zip(names, runs))]


def _frames(runs: Sequence[RunResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All runs' score rows and quality rows, each labelled with its method and run (and score rows with
    whether their target was white-box for the run)."""
    scores, quality = [], []
    for label, run in zip(_labels(runs), runs):
        name = run.path.name if run.path else label
        if not run.scores.empty:
            white_box = run.card.get("white_box") or []
            scores.append(run.scores.assign(method=label, run=name, white_box=run.scores["target"].isin(white_box)))
        if not run.quality.empty:
            # quality compares images, not targets: its column is the kind of image ("protected", "restored")
            quality.append(run.quality.assign(method=label, run=name, target=run.quality["image"],
                                              transform="identity", kind=QUALITY_KIND))
    concat = lambda frames: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return concat(scores), concat(quality)


def build_table(runs: Sequence[RunResult], metrics: Sequence[str], rows: str = "method",
                cols: str | None = "target") -> Table:
    """Cells for every (row, col, metric) that the runs have data for. ``rows`` may join axes with "/"
    ("target/transform": one row per pair of values); ``cols=None`` gives one column per metric only.
    A metric no run has rows for is a ``BadInput`` that lists the metrics the runs hold."""
    for axis in [*rows.split("/"), *([cols] if cols else [])]:
        if axis not in AXES:
            raise BadInput(f"unknown table axis {axis!r}; available: {', '.join(AXES)}")
    metrics = parse_metrics(metrics)
    scores, quality = _frames(runs)
    if scores.empty and quality.empty:
        raise BadInput("the runs hold no scores")
    cells: dict[tuple[str, str, str], Estimate] = {}
    for name in metrics:
        m = METRICS[name]
        if m.aggregation == "set":
            cells.update(_set_level(runs, name, rows))
            continue
        if m.kinds == (QUALITY_KIND,):
            sel = quality
        else:
            sel = scores[scores["kind"].isin(m.kinds)] if "kind" in scores else scores.iloc[:0]
        if m.aggregation == "black-box-mean":
            sel = sel[~sel["white_box"]]
        if sel.empty or m.column not in sel:
            continue
        labelled = sel.assign(target=BLACK_BOX) if m.aggregation == "black-box-mean" else sel
        for (r, c), group in sel.groupby([_axis(labelled, rows), _axis(labelled, cols)], sort=False):
            est = m.estimate(group)
            if est is not None:
                cells[(str(r), str(c), name)] = est
    absent = [name for name in metrics if not any(key[2] == name for key in cells)]
    if absent:
        raise BadInput(f"the runs have no rows for {', '.join(absent)}; they hold {_holdings(runs, scores, quality)}")
    row_labels = list(dict.fromkeys(k[0] for k in cells))
    col_labels = list(dict.fromkeys(k[1] for k in cells))
    return Table(row_labels, col_labels, list(metrics), cells, rows, cols or "")


def _holdings(runs: Sequence[RunResult], scores: pd.DataFrame, quality: pd.DataFrame) -> str:
    """What the runs have values for: metrics, and the transforms of their score rows."""
    held = held_metrics(scores, quality, _set_metric_names(runs))
    transforms = list(dict.fromkeys(scores["transform"])) if "transform" in scores else []
    text = f"metrics {', '.join(held)}" if held else "no metric values"
    return text + (f" (transforms {', '.join(map(str, transforms))})" if transforms else "")


def holdings(runs: Sequence[RunResult]) -> str:
    """``"metrics asr, esr (transforms identity, jpeg50)"``: what these runs have values for."""
    return _holdings(runs, *_frames(runs))


def _set_metric_names(runs: Sequence[RunResult]) -> set[str]:
    return {k for run in runs for q in _quality_sets(run).values() for k in q if k in METRICS}


def _quality_sets(run: RunResult) -> dict:
    return (run.card.get("quality") or {}).get("sets") or {}


def _set_level(runs: Sequence[RunResult], metric: str, rows: str) -> dict[tuple[str, str, str], Estimate]:
    """Metrics of a whole set of images (one number per image kind and run, kept in the run card)."""
    out = {}
    for label, run in zip(_labels(runs), runs):
        row = run.path.name if rows == "run" and run.path else label
        for image, q in _quality_sets(run).items():
            if metric in q:
                out[(row, image, metric)] = Estimate(float(q[metric]), float("nan"), float("nan"), int(q.get("n", 0)))
    return out


def _axis(df: pd.DataFrame, axis: str | None) -> pd.Series:
    """Labels of ``axis`` per row of ``df``: "" for no axis, values joined by " · " for "a/b"."""
    if axis is None:
        return pd.Series([""] * len(df), index=df.index)
    parts = [df[a].fillna("-").astype(str) if a in df else pd.Series(["-"] * len(df), index=df.index)
             for a in axis.split("/")]
    return parts[0].str.cat(parts[1:], sep=" · ") if len(parts) > 1 else parts[0]

