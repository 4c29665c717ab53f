"""A ``Table`` as LaTeX (booktabs + graphicx): a table float whose caption states data, protocol, FAR, n and
the CI; units in the headers; best bold and second underlined among the methods run (controls, published
rows and white-box cells take no rank; white-box cells carry a dagger); shrunk to the column when wider."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..metrics.registry import METRICS

if TYPE_CHECKING:
    from .tables import Table

LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "·": r"$\cdot$"}
#: shrinks the tabular to the line width only when it is wider (``\width`` is its natural width)
FIT = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{"
RANK_NOTE = "bold: best, underlined: second best among the methods run"


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def ranks(table: Table, col: str, metric: str) -> dict[str, int]:
    """Competition rank (0 best; tied values share it and the next rank is skipped) of each ranked row in
    one column: methods against methods (within each transform when rows are method / transform), without
    controls, published rows or white-box cells. Tables whose rows are not methods are not ranked."""
    axes = table.row_axis.split("/")
    if not {"method", "run"} & set(axes):
        return {}
    lead = axes.index("method") if "method" in axes else axes.index("run")
    groups: dict[tuple[str, ...], dict[str, float]] = {}
    for r in table.rows:
        if (r, col, metric) in table.cells and r not in table.unranked and r not in table.published \
                and (r, col) not in table.white_box:
            parts = r.split(" · ")
            groups.setdefault(tuple(parts[:lead] + parts[lead + 1:]), {})[r] = table.cells[(r, col, metric)].value
    better = (lambda a, b: a > b) if METRICS[metric].higher_is_better else (lambda a, b: a < b)
    return {r: sum(better(o, v) for o in vals.values())
            for vals in groups.values() if len(vals) > 1 for r, v in vals.items()}


def _head(metric: str) -> str:
    m = METRICS[metric]
    unit = f" ({latex_escape(m.unit)})" if m.unit else ""
    return latex_escape(m.label) + unit + (r"$\uparrow$" if m.higher_is_better else r"$\downarrow$")


def _header(table: Table) -> list[str]:
    span, cols = len(table.metrics), [c for c in table.cols]
    first = latex_escape(table.row_axis.replace("/", " / ").capitalize()
                         + (f" ({table.aggregate})" if table.aggregate else ""))
    if not any(cols):  # one column per metric (the run view)
        return [" & ".join([first] + [_head(m) for m in table.metrics]) + r" \\"]
    if span == 1:
        n = len(cols)
        return [" & ".join([""] + [rf"\multicolumn{{{n}}}{{c}}{{{_head(table.metrics[0])}}}"]) + r" \\",
                rf"\cmidrule(lr){{2-{1 + n}}}", " & ".join([first] + [latex_escape(c) for c in cols]) + r" \\"]
    rules = " ".join(rf"\cmidrule(lr){{{2 + i * span}-{1 + (i + 1) * span}}}" for i in range(len(cols)))
    return [" & ".join([first] + [rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(c)}}}" for c in cols]) + r" \\",
            rules, " & ".join([""] + [_head(m) for _ in cols for m in table.metrics]) + r" \\"]


def _cell(table: Table, r: str, c: str, m: str, ci: bool, rank: int | None) -> str:
    from .render import fmt_value

    value, interval = (latex_escape(t) for t in fmt_value(table.cells.get((r, c, m)), ci, m))
    if rank == 0:
        value = rf"\textbf{{{value}}}"
    elif rank == 1:
        value = rf"\underline{{{value}}}"
    if (r, c) in table.white_box and value != "-":
        value += r"$^\dagger$"
    return value + interval


def caption_text(table: Table, ci: bool, caption: str | None, tied: bool, ranked: bool) -> str:
    from .render import notes

    parts = [caption.rstrip(". ")] if caption else []
    parts += notes(table, ci)
    if ranked:
        parts.append(RANK_NOTE + ("; tied values share a mark" if tied else ""))
    return latex_escape(". ".join(parts).replace("†", "DAGGER")).replace("DAGGER", r"$^\dagger$") + "."


def to_latex(table: Table, ci: bool = False, caption: str | None = None, wide: bool = False) -> str:
    """A booktabs tabular in a ``table`` float (``table*`` with ``wide``), shrunk to the line width when
    wider; the caption says what the cells are."""
    ncols = 1 + len(table.cols) * len(table.metrics)
    cols_ranks = {(c, m): ranks(table, c, m) for c in table.cols for m in table.metrics}
    tied = any(list(rk.values()).count(v) > 1 for rk in cols_ranks.values() for v in (0, 1) if v in rk.values())
    ranked = any(cols_ranks.values())
    env = "table*" if wide else "table"
    out = [rf"\begin{{{env}}}[t]", r"\centering",
           rf"\caption{{{caption_text(table, ci, caption, tied, ranked)}}}",
           FIT + r"\begin{tabular}{l" + "r" * (ncols - 1) + "}", r"\toprule", *_header(table), r"\midrule"]
    for r in table.rows:
        if table.published and r == table.published[0]:
            out += [r"\midrule", rf"\multicolumn{{{ncols}}}{{l}}{{\emph{{{latex_escape(table.published_note)}}}}} \\"]
        cells = [latex_escape(r)] + [_cell(table, r, c, m, ci, cols_ranks[(c, m)].get(r))
                                     for c in table.cols for m in table.metrics]
        out.append(" & ".join(cells) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}}", rf"\end{{{env}}}"]
    return "\n".join(out) + "\n"
