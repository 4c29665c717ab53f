"""Aggregate runs into paper-style tables: a grid of ``Estimate`` cells indexed by (row, column, metric).

What each metric reads and how it aggregates is in ``fpbench.metrics.registry``; rendering (rich, CSV,
Markdown, LaTeX) is in ``render.py`` and ``latex.py``. Nothing is aggregated silently: runs over several
transforms get a row per transform unless ``aggregate="mean"`` is asked for (and then the table says so);
white-box cells, controls and published rows are marked and never ranked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from ..errors import BadInput
from ..metrics import Estimate
from ..metrics.registry import METRICS, QUALITY_KIND, held_metrics, parse_metrics
from . import RunResult, protocol
from .labels import format_value, run_labels
from .render import FORMATS, latex_escape, notes, render, to_frame, to_latex  # noqa: F401  (the table API in one place)

AXES = ("method", "target", "transform", "run")
AGGREGATES = ("mean",)
#: the target label of metrics averaged over a run's black-box targets (APSR)
BLACK_BOX = "black-box targets"
#: methods that are reference points, not protections: shown, never ranked
CONTROLS = frozenset({"none", "attributes-modified"})


@dataclass
class Table:
    rows: list[str]
    cols: list[str]
    metrics: list[str]
    cells: dict[tuple[str, str, str], Estimate]
    row_axis: str
    col_axis: str
    white_box: set[tuple[str, str]] = field(default_factory=set)  # (row, col): the target was a surrogate
    unranked: set[str] = field(default_factory=set)  # rows that take no rank (controls)
    published: list[str] = field(default_factory=list)  # rows of published values: their own block, unranked
    published_note: str = ""  # the published block's heading: source, models, data
    aggregate: str = ""  # "mean over 7 transforms" when cells pool transforms
    pooled: list[str] = field(default_factory=list)  # the transforms they pool
    context: str = ""  # dataset, protocol, FAR, n: for the caption
    over: str = "pairs"  # what the bootstrap CI resamples


def _labels(runs: Sequence[RunResult]) -> list[str]:
    """Row labels: the method, plus the spec values that differ between runs of the same method."""
    order = next((r.param_order for r in runs if r.param_order), ())
    names = [r.path.name if r.path else str(i) for i, r in enumerate(runs)]
    return run_labels([r.card for r in runs], names, order)


def _frames(runs: Sequence[RunResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All runs' score rows and quality rows, each labelled with its method and run (and score rows with
    whether their target was white-box for the run)."""
    scores, quality = [], []
    for label, run in zip(_labels(runs), runs):
        name = run.path.name if run.path else label
        if not run.scores.empty:
            white_box, controls = run.card.get("white_box") or [], run.card.get("controls") or []
            scores.append(run.scores.assign(method=label, method_name=run.label, run=name,
                                            white_box=run.scores["target"].isin(white_box),
                                            control=run.scores["target"].isin(controls)))
        if not run.quality.empty:
            # quality compares images, not targets: its column is the kind of image ("protected", "restored")
            quality.append(run.quality.assign(method=label, method_name=run.label, run=name,
                                              target=run.quality["image"], transform="identity",
                                              kind=QUALITY_KIND, white_box=False, control=False))
    concat = lambda frames: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return concat(scores), concat(quality)


def build_table(runs: Sequence[RunResult], metrics: Sequence[str], rows: str = "method",
                cols: str | None = "target", aggregate: str | None = None) -> Table:
    """Cells for every (row, col, metric) that the runs have data for. ``rows`` may join axes with "/"
    ("target/transform": one row per pair of values); ``cols=None`` gives one column per metric only.
    Score rows of several transforms get a row per transform unless ``aggregate="mean"`` pools them.
    A metric no run has rows for is a ``BadInput`` that lists the metrics the runs hold."""
    for axis in [*rows.split("/"), *([cols] if cols else [])]:
        if axis not in AXES:
            raise BadInput(f"unknown table axis {axis!r}; available: {', '.join(AXES)}")
    if aggregate is not None and aggregate not in AGGREGATES:
        raise BadInput(f"unknown aggregate {aggregate!r}; available: {', '.join(AGGREGATES)}")
    metrics = parse_metrics(metrics)
    scores, quality = _frames(runs)
    if scores.empty and quality.empty:
        raise BadInput("the runs hold no scores")
    kinds = {k for name in metrics for k in METRICS[name].kinds}
    read = scores[scores["kind"].isin(kinds)] if "kind" in scores else scores.iloc[:0]
    transforms = list(dict.fromkeys(read["transform"].astype(str))) if "transform" in read else []
    pooled = ""
    if len(transforms) > 1 and "transform" not in [*rows.split("/"), cols]:
        if aggregate is None:
            rows = f"{rows}/transform"
        else:
            pooled = f"mean over {len(transforms)} transforms"
    cells: dict[tuple[str, str, str], Estimate] = {}
    white_box: set[tuple[str, str]] = set()
    row_methods: dict[str, set[str]] = {}
    for name in metrics:
        m = METRICS[name]
        if m.aggregation == "set":
            for key, (est, method) in _set_level(runs, name, rows).items():
                cells[key] = est
                row_methods.setdefault(key[0], set()).add(method)
            continue
        if m.kinds == (QUALITY_KIND,):
            sel = quality
        else:
            sel = scores[scores["kind"].isin(m.kinds)] if "kind" in scores else scores.iloc[:0]
        if m.aggregation == "black-box-mean":
            sel = sel[~sel["white_box"] & ~sel["control"]]
        if sel.empty or m.column not in sel:
            continue
        labelled = sel.assign(target=BLACK_BOX) if m.aggregation == "black-box-mean" else sel
        for (r, c), group in sel.groupby([_axis(labelled, rows), _axis(labelled, cols)], sort=False):
            est = m.estimate(group)
            if est is None:
                continue
            r, c = str(r), str(c)
            cells[(r, c, name)] = est
            row_methods.setdefault(r, set()).update(group["method_name"])
            if bool(group["white_box"].all()):
                white_box.add((r, c))
    absent = [name for name in metrics if not any(key[2] == name for key in cells)]
    if absent:
        raise BadInput(f"the runs have no rows for {', '.join(absent)}; they hold {_holdings(runs, scores, quality)}")
    row_labels = list(dict.fromkeys(k[0] for k in cells))
    col_labels = list(dict.fromkeys(k[1] for k in cells))
    unranked = {r for r, methods in row_methods.items() if methods and methods <= CONTROLS}
    over = "identities" if any(METRICS[m].cluster for m in metrics) else "pairs"
    return Table(row_labels, col_labels, list(metrics), cells, rows, cols or "", white_box, unranked,
                 aggregate=pooled, pooled=transforms if pooled else [], context=context(runs), over=over)


def context(runs: Sequence[RunResult]) -> str:
    """What the runs were measured on: ``mini; verify (impersonate); FAR 0.01; n = 22 protected faces``."""
    def values(get) -> str:
        return "/".join(dict.fromkeys(str(v) for v in map(get, runs) if v not in (None, "")))

    spec = lambda r: r.card.get("spec") or {}
    dataset = values(lambda r: (r.card.get("dataset") or {}).get("name"))
    setting = values(lambda r: f"{protocol(r)}{_side(spec(r))} ({spec(r)['goal']})" if spec(r).get("goal")
                     else protocol(r) + _side(spec(r)))
    fars = values(lambda r: format_value(spec(r)["far"]) if protocol(r) != "identify" and spec(r).get("far") else None)
    n = values(lambda r: (r.card.get("dataset") or {}).get("pairs"))
    parts = [dataset, setting, f"FAR {fars}" if fars else "", f"n = {n} protected faces" if n else ""]
    return "; ".join(p for p in parts if p)


def _side(spec: dict) -> str:
    """`` gallery side`` for identify runs that protect the attacker's gallery (``--side gallery``)."""
    return ", protected gallery" if spec.get("side", "probe") != "probe" else ""


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


def _set_level(runs: Sequence[RunResult], metric: str, rows: str) -> dict[tuple[str, str, str], tuple[Estimate, str]]:
    """Metrics of a whole set of images (one number per image kind and run, kept in the run card)."""
    out = {}
    for label, run in zip(_labels(runs), runs):
        row = run.path.name if rows.startswith("run") and run.path else label
        if "/" in rows:
            row = f"{row} · identity"
        for image, q in _quality_sets(run).items():
            if metric in q:
                est = Estimate(float(q[metric]), float("nan"), float("nan"), int(q.get("n", 0)))
                out[(row, image, metric)] = (est, run.label)
    return out


def _axis(df: pd.DataFrame, axis: str | None) -> pd.Series:
    """Labels of ``axis`` per row of ``df``: "" for no axis, values joined by " · " for "a/b"."""
    if axis is None:
        return pd.Series([""] * len(df), index=df.index)
    parts = [df[a].fillna("-").astype(str) if a in df else pd.Series(["-"] * len(df), index=df.index)
             for a in axis.split("/")]
    return parts[0].str.cat(parts[1:], sep=" · ") if len(parts) > 1 else parts[0]
