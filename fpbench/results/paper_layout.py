"""A published table in the paper's own layout, for tables whose columns are not fpbench targets.

PMT's tables (``pmt:III`` ... ``pmt:X``) are laid out by the paper's own models (MobileFace, IR50-Softmax,
...) and settings (feature attacked, authorised model set, ablation switches), which an fpbench run of zoo
models cannot share a column with. ``fpbench table RUNS --baseline pmt:VI[:DATASET]`` therefore prints the
published table beside the runs' table: one row per (dataset, authorised model(s), paper row) that varies,
one column per (paper column, metric), values as printed (percent or raw, as the CSV says)."""
from __future__ import annotations

import pandas as pd
from rich.table import Table as RichTable

from .baselines import selected

#: papers whose tables ``fpbench table --baseline`` shows in their own layout when no column matches a target
LAYOUT_PAPERS = ("pmt",)


def paper_layout(selector: str) -> tuple[pd.DataFrame, str]:
    """(rows x columns of the published values, the source and notes line) for ``paper:table[:dataset]``."""
    df = selected(selector)
    row_fields = [f for f in ("dataset", "surrogate", "row") if df[f].nunique() > 1] or ["row"]
    col_fields = ["column", "metric"] if df.groupby("column")["metric"].nunique().max() > 1 else ["column"]
    label = lambda r, fields: " | ".join(str(r[f]) for f in fields if r[f] != "")  # noqa: E731
    keyed = df.assign(_row=df.apply(lambda r: label(r, row_fields), axis=1),
                      _col=df.apply(lambda r: label(r, col_fields), axis=1))
    out = keyed.pivot_table(index="_row", columns="_col", values="value", aggfunc="first", sort=False)
    out = out.reindex(index=list(dict.fromkeys(keyed["_row"])), columns=list(dict.fromkeys(keyed["_col"])))
    out.index.name = " | ".join(row_fields)
    fixed = {f: df[f].iloc[0] for f in ("dataset", "surrogate") if f not in row_fields and df[f].iloc[0]}
    where = ", ".join(f"{k} {v}" for k, v in fixed.items())
    note = (f"published: {'; '.join(dict.fromkeys(df['source']))}{f' ({where})' if where else ''}; the paper's own "
            "models and data, not comparable cell for cell with fpbench's zoo models")
    return out, note


def render(selector: str) -> tuple[RichTable, str]:
    """``paper_layout`` as a rich table titled with its selector, and its note."""
    df, note = paper_layout(selector)
    out = RichTable(title=f"{selector} (published, the paper's layout)")
    out.add_column(df.index.name)
    for c in df.columns:
        out.add_column(c, justify="right")
    for label, row in df.iterrows():
        out.add_row(label, *("" if pd.isna(v) else f"{v:g}" for v in row))
    return out, note
