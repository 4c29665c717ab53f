"""Aggregate runs into paper-style tables and render them as rich, CSV, Markdown or LaTeX (booktabs).

A table is a grid of ``Estimate`` cells indexed by (row label, column label, metric). Rates are shown in
percent; LaTeX bolds the best and underlines the second best value of every column, as the papers do.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import BadInput
from ..metrics import Estimate, mean_ci, rate_ci
from . import RunResult

#: metric -> (score kind or quality column, higher is better, shown in percent)
METRICS: dict[str, tuple[str, bool, bool]] = {
    "asr": ("impersonation", True, True),
    "psr": ("dodging", True, True),
    "esr": ("erasion", True, True),
    "esr_wrong": ("erasion-wrong-key", True, True),  # ESR when restoring with another checkpoint's restorer
    "rvr": ("restoration", True, True),  # restored face verified as the source person (FAR of the run)
    "top1": ("top1", True, True),
    "top5": ("top5", True, True),
    "sim": ("similarity", True, False),
    "lpips": ("lpips", False, False),
    "ssim": ("ssim", True, False),
    "psnr": ("psnr", True, False),
    "l1": ("l1", False, False),
    "mse": ("mse", False, False),
    "fid": ("fid", False, False),
    "kid": ("kid", False, False),
}
AXES = ("method", "target", "transform", "run")
FORMATS = ("rich", "csv", "markdown", "latex")


@dataclass
class Table:
    rows: list[str]
    cols: list[str]
    metrics: list[str]
    cells: dict[tuple[str, str, str], Estimate]
    row_axis: str
    col_axis: str


def parse_metrics(text: str | Sequence[str]) -> list[str]:
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    for m in names:
        if m not in METRICS:
            raise BadInput(f"unknown metric {m!r}; available: {', '.join(METRICS)}")
    return names


def _labels(runs: Sequence[RunResult]) -> list[str]:
    """Method labels, disambiguated with the run dir name where two runs share a method name."""
    names = [r.label for r in runs]
    return [n if names.count(n) == 1 else f"{n} ({r.path.name if r.path else i})" for i, (n, r) in enumerate(zip(names, runs))]


def build_table(runs: Sequence[RunResult], metrics: Sequence[str], rows: str = "method",
                cols: str | None = "target") -> Table:
    """Cells for every (row, col, metric) that the runs have data for. ``rows`` may join axes with "/"
    ("target/transform": one row per pair of values); ``cols=None`` gives one column per metric only."""
    for axis in [*rows.split("/"), *([cols] if cols else [])]:
        if axis not in AXES:
            raise BadInput(f"unknown table axis {axis!r}; available: {', '.join(AXES)}")
    metrics = parse_metrics(metrics)
    frames = []
    for label, run in zip(_labels(runs), runs):
        s = run.scores.copy()
        s["method"], s["run"] = label, run.path.name if run.path else label
        frames.append(s)
        q = run.quality
        if not q.empty:
            q = q.copy()
            q["method"], q["run"] = label, run.path.name if run.path else label
            # quality compares images, not targets: its column is the kind of image ("protected", "restored")
            q["target"], q["transform"] = q["image"], "identity"
            frames.append(q.assign(kind="quality"))
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if data.empty:
        raise BadInput("the runs hold no scores")
    cells: dict[tuple[str, str, str], Estimate] = {}
    for metric in metrics:
        column, _, percent = METRICS[metric]
        if metric in SET_LEVEL:
            cells.update(_set_level(runs, metric, rows))
            continue
        if column in ("impersonation", "dodging", "erasion", "erasion-wrong-key", "restoration", "top1", "top5"):
            sel = data[data["kind"] == column]
            value_col = "success"
        elif column == "similarity":
            sel = data[data["kind"].isin(["impersonation", "dodging"])]
            value_col = "similarity"
        else:
            sel = data[data["kind"] == "quality"] if "kind" in data else data
            value_col = column
            if value_col not in sel:
                continue
        for (r, c), group in sel.groupby([_axis(sel, rows), _axis(sel, cols)], sort=False):
            values = group[value_col].dropna().to_numpy()
            if len(values) == 0:
                continue
            est = rate_ci(values.astype(bool)) if value_col == "success" else mean_ci(values.astype(float))
            cells[(str(r), str(c), metric)] = est.scaled(100.0) if percent else est
    row_labels = list(dict.fromkeys(k[0] for k in cells))
    col_labels = list(dict.fromkeys(k[1] for k in cells))
    return Table(row_labels, col_labels, list(metrics), cells, rows, cols or "")


#: metrics of a whole set of images (one number per image kind and run, kept in the run card)
SET_LEVEL = ("fid", "kid")


def _set_level(runs: Sequence[RunResult], metric: str, rows: str) -> dict[tuple[str, str, str], Estimate]:
    out = {}
    for label, run in zip(_labels(runs), runs):
        row = run.path.name if rows == "run" and run.path else label
        for image, q in ((run.card.get("quality") or {}).get("sets") or {}).items():
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


def _fmt(est: Estimate | None, ci: bool, metric: str) -> str:
    """Rates (percent) with two decimals, other metrics with four significant digits."""
    if est is None:
        return "-"
    spec = ".2f" if METRICS[metric][2] else ".4g"
    if ci and est.n > 1 and np.isfinite(est.lo):
        return f"{est.value:{spec}} [{est.lo:{spec}}, {est.hi:{spec}}]"
    return f"{est.value:{spec}}"


def _header(table: Table, col: str, metric: str) -> str:
    if not col:
        return metric.upper()
    return f"{col} {metric.upper()}" if len(table.metrics) > 1 else col


def to_frame(table: Table, ci: bool = False) -> pd.DataFrame:
    data = {}
    for col in table.cols:
        for m in table.metrics:
            data[_header(table, col, m)] = [_fmt(table.cells.get((r, col, m)), ci, m) for r in table.rows]
    return pd.DataFrame(data, index=pd.Index(table.rows, name=table.row_axis))


def render(table: Table, fmt: str = "rich", ci: bool = True, title: str | None = None):
    """A rich ``Table`` for ``fmt="rich"``, otherwise a string."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; available: {', '.join(FORMATS)}")
    if fmt == "rich":
        return _rich(table, ci, title)
    if fmt == "latex":
        return to_latex(table, ci=ci, caption=title)
    frame = to_frame(table, ci)
    if fmt == "csv":
        buf = io.StringIO()
        frame.to_csv(buf)
        return buf.getvalue()
    return _markdown(frame)


def _rich(table: Table, ci: bool, title: str | None):
    from rich.markup import escape
    from rich.table import Table as RichTable

    rt = RichTable(title=escape(title) if title else None, header_style="bold")
    rt.add_column(table.row_axis, no_wrap=True)
    for col in table.cols:
        for m in table.metrics:
            rt.add_column(escape(_header(table, col, m) + (" %" if METRICS[m][2] else "")), justify="right")
    for r in table.rows:
        rt.add_row(escape(r), *[_fmt(table.cells.get((r, c, m)), ci, m) for c in table.cols for m in table.metrics])
    return rt


def _markdown(frame: pd.DataFrame) -> str:
    head = [frame.index.name or ""] + list(frame.columns)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(frame.columns)) + "|"]
    lines += ["| " + " | ".join([str(i)] + [str(v) for v in row]) + " |" for i, row in zip(frame.index, frame.values)]
    return "\n".join(lines) + "\n"


LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def _ranks(table: Table, col: str, metric: str) -> dict[str, int]:
    """Rank 0 (best) and 1 (second) of each row in one column; ties share a rank."""
    higher = METRICS[metric][1]
    vals = {r: table.cells[(r, col, metric)].value for r in table.rows if (r, col, metric) in table.cells}
    distinct = sorted(set(vals.values()), reverse=higher)
    return {r: distinct.index(v) for r, v in vals.items()}


def to_latex(table: Table, ci: bool = False, caption: str | None = None) -> str:
    """A booktabs tabular (in a table float when ``caption`` is given); best bold, second underlined."""
    multi = len(table.metrics) > 1
    ncols = 1 + len(table.cols) * len(table.metrics)
    out = []
    if caption:
        out += [r"\begin{table}[t]", r"\centering", rf"\caption{{{latex_escape(caption)}}}"]
    out.append(r"\begin{tabular}{l" + "r" * (ncols - 1) + "}")
    out.append(r"\toprule")
    if multi:
        span = len(table.metrics)
        out.append(" & ".join([latex_escape(table.row_axis.capitalize())]
                              + [rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(c)}}}" for c in table.cols]) + r" \\")
        rules = [rf"\cmidrule(lr){{{2 + i * span}-{1 + (i + 1) * span}}}" for i in range(len(table.cols))]
        out.append(" ".join(rules))
        arrows = {m: (r"$\uparrow$" if METRICS[m][1] else r"$\downarrow$") for m in table.metrics}
        out.append(" & ".join([""] + [f"{m.upper()}{arrows[m]}" for _ in table.cols for m in table.metrics]) + r" \\")
    else:
        m = table.metrics[0]
        arrow = r"$\uparrow$" if METRICS[m][1] else r"$\downarrow$"
        out.append(" & ".join([latex_escape(table.row_axis.capitalize())]
                              + [f"{latex_escape(c)} {m.upper()}{arrow}" for c in table.cols]) + r" \\")
    out.append(r"\midrule")
    ranks = {(c, m): _ranks(table, c, m) for c in table.cols for m in table.metrics}
    for r in table.rows:
        cells = [latex_escape(r)]
        for c in table.cols:
            for m in table.metrics:
                est = table.cells.get((r, c, m))
                text = latex_escape(_fmt(est, ci, m))
                rank = ranks[(c, m)].get(r)
                if est is not None and len(ranks[(c, m)]) > 1:
                    text = rf"\textbf{{{text}}}" if rank == 0 else rf"\underline{{{text}}}" if rank == 1 else text
                cells.append(text)
        out.append(" & ".join(cells) + r" \\")
    out.append(r"\bottomrule")
    out.append(r"\end{tabular}")
    if caption:
        out.append(r"\end{table}")
    return "\n".join(out) + "\n"
