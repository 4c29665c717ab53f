"""Render a ``Table`` as rich, CSV, Markdown or LaTeX (booktabs).

Headers, units, number formats and which direction is better come from the metric registry. Rates are
shown in percent; LaTeX bolds the best and underlines the second best value of every column, as the papers do.
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import BadInput
from ..metrics import Estimate
from ..metrics.registry import METRICS

if TYPE_CHECKING:
    from .tables import Table

FORMATS = ("rich", "csv", "markdown", "latex")


def _fmt(est: Estimate | None, ci: bool, metric: str) -> str:
    """A cell: the value in the metric's format, with its CI when asked and the CI exists."""
    if est is None:
        return "-"
    m = METRICS[metric]
    if ci and est.n > 1 and np.isfinite(est.lo):
        return f"{m.format(est.value)} [{m.format(est.lo)}, {m.format(est.hi)}]"
    return m.format(est.value)


def _header(table: Table, col: str, metric: str, with_unit: bool = False) -> str:
    m = METRICS[metric]
    name = m.title if with_unit else m.label
    if not col:
        return name
    if len(table.metrics) > 1:
        return f"{col} {name}"
    return f"{col} {m.unit}".rstrip() if with_unit else col


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
            rt.add_column(escape(_header(table, col, m, with_unit=True)), justify="right")
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
    vals = {r: table.cells[(r, col, metric)].value for r in table.rows if (r, col, metric) in table.cells}
    distinct = sorted(set(vals.values()), reverse=METRICS[metric].higher_is_better)
    return {r: distinct.index(v) for r, v in vals.items()}


def _arrow(metric: str) -> str:
    return latex_escape(METRICS[metric].label) + (r"$\uparrow$" if METRICS[metric].higher_is_better else r"$\downarrow$")


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
        out.append(" & ".join([""] + [_arrow(m) for _ in table.cols for m in table.metrics]) + r" \\")
    else:
        m = table.metrics[0]
        out.append(" & ".join([latex_escape(table.row_axis.capitalize())]
                              + [f"{latex_escape(c)} {_arrow(m)}".lstrip() for c in table.cols]) + r" \\")
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

