"""Render a ``Table`` as rich, CSV or Markdown (LaTeX: ``latex.py``), and the notes that go under it.

Headers, units, number formats and which direction is better come from the metric registry. Rates are
shown in percent; white-box cells carry a dagger; what the cells are (data, protocol, FAR, n, CI, any
aggregation) is said by ``notes`` (under the table) or in the LaTeX caption.
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import BadInput
from ..metrics import Estimate
from ..metrics.registry import METRICS
from .latex import latex_escape, to_latex  # noqa: F401  (re-exported: the table API in one place)

if TYPE_CHECKING:
    from .tables import Table

FORMATS = ("rich", "csv", "markdown", "latex")
DAGGER = "†"
WHITE_BOX_NOTE = "white-box: the target was also the method's surrogate; not ranked, not averaged"


def fmt_value(est: Estimate | None, ci: bool, metric: str) -> tuple[str, str]:
    """A cell as (value, CI suffix): the value in the metric's format, and " [lo, hi]" when asked and known."""
    if est is None:
        return "-", ""
    m = METRICS[metric]
    if ci and est.n > 1 and np.isfinite(est.lo):
        return m.format(est.value), f" [{m.format(est.lo)}, {m.format(est.hi)}]"
    return m.format(est.value), ""


def _fmt(table: Table, row: str, col: str, metric: str, ci: bool, mark: bool = True) -> str:
    value, interval = fmt_value(table.cells.get((row, col, metric)), ci, metric)
    dagger = DAGGER if mark and (row, col) in table.white_box and value != "-" else ""
    return value + dagger + interval


def _header(table: Table, col: str, metric: str, with_unit: bool = False) -> str:
    """A column's header: target (or image kind) and metric, with the unit where asked (``sface ASR %``)."""
    m = METRICS[metric]
    name = m.title if with_unit else m.label
    return f"{col} {name}" if col else name


def row_header(table: Table) -> str:
    """The row axis, and how cells pool transforms when they do."""
    return table.row_axis + (f" ({table.aggregate})" if table.aggregate else "")


def to_frame(table: Table, ci: bool = False) -> pd.DataFrame:
    """Cells as text; CSV headers keep the bare column names, values carry no marks (notes say them)."""
    data = {}
    for col in table.cols:
        for m in table.metrics:
            head = col if len(table.metrics) == 1 and col else _header(table, col, m)
            data[head] = [_fmt(table, r, col, m, ci, mark=False) for r in table.rows]
    return pd.DataFrame(data, index=pd.Index(table.rows, name=row_header(table)))


def notes(table: Table, ci: bool) -> list[str]:
    """What the cells are, one line each: data and protocol, metric and CI, aggregation, marks, published."""
    units = ", ".join(f"{METRICS[m].label}{' in %' if METRICS[m].percent else ''}" for m in table.metrics)
    what = f"{units}" + (f" [95% bootstrap CI over {table.over}]" if ci else "")
    lines = [f"{table.context}; {what}" if table.context else what]
    if table.aggregate:
        lines.append(f"each cell is the {table.aggregate}: {', '.join(table.pooled)} (pooled pairs)")
    if any((r, c) in table.white_box for r, c, _ in table.cells):
        lines.append(f"{DAGGER} {WHITE_BOX_NOTE}")
    if table.published:
        lines.append(table.published_note)
    return lines


def render(table: Table, fmt: str = "rich", ci: bool = True, title: str | None = None, wide: bool = False):
    """A rich ``Table`` for ``fmt="rich"``, otherwise a string."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; available: {', '.join(FORMATS)}")
    if fmt == "rich":
        return _rich(table, ci, title)
    if fmt == "latex":
        return to_latex(table, ci=ci, caption=title, wide=wide)
    if fmt == "csv":
        buf = io.StringIO()
        to_frame(table, ci).to_csv(buf)
        return buf.getvalue()
    return _markdown(table, ci)


def _rich(table: Table, ci: bool, title: str | None):
    from rich.markup import escape
    from rich.table import Table as RichTable

    rt = RichTable(title=escape(title) if title else None, header_style="bold")
    rt.add_column(escape(row_header(table)), overflow="fold")  # a narrow terminal folds text, never cuts it
    for col in table.cols:
        for m in table.metrics:
            rt.add_column(escape(_header(table, col, m, with_unit=True)), justify="right", overflow="fold")
    for r in table.rows:
        if table.published and r == table.published[0]:
            rt.add_section()
        rt.add_row(escape(r), *[_fmt(table, r, c, m, ci) for c in table.cols for m in table.metrics])
    return rt


def _markdown(table: Table, ci: bool) -> str:
    head = [row_header(table)] + [_header(table, c, m, with_unit=True) for c in table.cols for m in table.metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join([r] + [_fmt(table, r, c, m, ci) for c in table.cols for m in table.metrics]) + " |"
              for r in table.rows]
    return "\n".join(lines) + "\n"


class TableView:
    """A table that prints itself: rich in a console or notebook, Markdown with its notes as a string."""

    def __init__(self, table: Table, ci: bool = True) -> None:
        self.table, self.ci = table, ci

    def __rich__(self):
        return _rich(self.table, self.ci, None)

    def __str__(self) -> str:
        return _markdown(self.table, self.ci) + "".join(f"{line}\n" for line in notes(self.table, self.ci))

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return str(self)
