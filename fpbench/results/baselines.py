"""Published numbers beside fpbench's own tables, with the paper they come from.

The CSVs ship as package data (``fpbench/results/published/*.csv``); the repository's
``baselines/README.md`` says where each number was read and how it was checked. Each CSV row is one
published value: paper, table, dataset, processing (fpbench transform name, ``none`` when the images were
not processed), surrogate, row (the paper's method name), column (the paper's target name, or the kind of
image for quality), metric (fpbench's metric names where one exists), value, unit, source and notes (where
the text of the paper is inconsistent or ambiguous). ``published()`` loads them; ``add_published()`` adds
the rows of one paper table to a method x target ``Table``, under the column of the fpbench target with the
same name (quality under ``protected`` / ``restored``, as fpbench shows it). The published values come from
the papers' own models and data (their ArcFace is an IResNet-100, not fpbench's embedded fallback), so they
frame a result; they do not replicate it.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..errors import BadInput
from ..metrics import Estimate
from .tables import Table

#: Where the CSVs live: package data beside this module, so an installed fpbench has them too.
BASELINES_DIR = Path(__file__).resolve().parent / "published"

#: fpbench target name (as requested, before any ``[fallback]``) -> the papers' name for it.
TARGET_NAMES: dict[str, str] = {
    "arcface": "ArcFace", "cosface": "CosFace", "facenet": "FaceNet", "irse50": "IRSE50", "ir152": "IR152",
    "mobileface": "MobileFace", "mobile_face": "MobileFace", "sface": "SFace",
}
#: what a row label keeps of the published fields that vary within the selection
LABEL_FIELDS = ("dataset", "processing", "surrogate")


def published(paper: str | None = None, table: str | None = None) -> pd.DataFrame:
    """All published values, or those of one paper (``erasablemask``, ``advcloak``, ``pmt``) and table."""
    papers = available_papers()
    if paper is not None and paper not in papers:
        raise BadInput(f"no published baselines for {paper!r}; available: {', '.join(papers)}")
    frames = [pd.read_csv(BASELINES_DIR / f"{p}.csv", dtype=str, keep_default_na=False)
              for p in ([paper] if paper else papers)]
    df = pd.concat(frames, ignore_index=True)
    df["value"] = df["value"].astype(float)
    if table is not None:
        if table not in set(df["table"]):
            tables = ", ".join(dict.fromkeys(df["table"]))
            raise BadInput(f"{paper or 'the papers'} have no table {table!r}; available: {tables}")
        df = df[df["table"] == table].reset_index(drop=True)
    return df


def available_papers() -> list[str]:
    if not BASELINES_DIR.is_dir():
        raise BadInput(f"published baselines not found at {BASELINES_DIR}: this fpbench install is incomplete "
                       "(reinstall fpbench)")
    return sorted(p.stem for p in BASELINES_DIR.glob("*.csv"))


def paper_target(display: str) -> str:
    """The papers' name of an fpbench target column (``arcface[mobilefacenet]`` -> ``ArcFace``); other
    columns (quality tables' ``protected`` and ``restored``) keep their name."""
    name = display.split("[")[0]
    return TARGET_NAMES.get(name, name)


def parse_selector(text: str) -> tuple[str, str, str | None]:
    """``paper:table[:dataset]`` -> (paper, table, dataset or None)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise BadInput(f"--baseline {text!r}: expected PAPER:TABLE[:DATASET], e.g. erasablemask:II:CelebA-HQ")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def add_published(table: Table, selector: str, transform: str | None = None) -> tuple[Table, str]:
    """``table`` with the published rows of ``selector`` (``erasablemask:II``) for its targets and metrics,
    each labelled ``"<paper row> (published...)"``, in a block of their own after the runs (never ranked with them:
other models, other data); returns
    the new table and the source line for its caption or footer. ``transform`` keeps only values published
    for that processing (``identity`` is the papers' ``none``)."""
    if (table.row_axis, table.col_axis) != ("method", "target"):
        extra = " and one transform (--transform NAME, or --aggregate mean)" if "transform" in table.row_axis else ""
        raise BadInput(f"--baseline needs a method x target table (--rows method --cols target){extra}")
    paper, table_id, dataset = parse_selector(selector)
    df = selected(selector)
    if transform is not None:
        df = df[df["processing"] == ("none" if transform == "identity" else transform)]
    columns = {paper_target(c): c for c in table.cols}
    matched = df[df["column"].isin(list(columns)) & df["metric"].isin(table.metrics)]
    if matched.empty:
        offered = ", ".join(f"{c} ({', '.join(dict.fromkeys(g['metric']))})" for c, g in df.groupby("column"))
        raise BadInput(f"{paper} table {table_id} publishes none of {', '.join(table.metrics)} for this table's targets"
                       f"{f' under {transform}' if transform else ''}; it has {offered or 'nothing there'}")
    df = matched
    varying = [f for f in LABEL_FIELDS if df[f].nunique() > 1]
    cells = dict(table.cells)
    labels: dict[str, list[str]] = {}  # paper row -> its published labels, in paper order
    for _, v in df.iterrows():
        extra = "".join(f", {v[f]}" for f in varying)
        label = f"{v['row']} (published{extra})"
        labels.setdefault(v["row"], [])
        if label not in labels[v["row"]]:
            labels[v["row"]].append(label)
        cells[(label, columns[v["column"]], v["metric"])] = Estimate(float(v["value"]), math.nan, math.nan, 0)
    published_rows = [label for group in labels.values() for label in group]
    source = "; ".join(dict.fromkeys(df["source"]))
    models = ", ".join(dict.fromkeys(df["column"]))
    data = ", ".join(d for d in dict.fromkeys(df["dataset"]) if d) or "the paper's data"
    note = (f"published rows: {source}, the paper's own models ({models}) and data ({data}); "
            "not ranked against the runs above")
    return replace(table, rows=[*table.rows, *published_rows], cells=cells, published=published_rows,
                   published_note=note), note


def selected(selector: str) -> pd.DataFrame:
    """The published rows of ``paper:table[:dataset]``, of that dataset only when one is named."""
    paper, table_id, dataset = parse_selector(selector)
    df = published(paper, table_id)
    if dataset is None:
        return df
    if dataset not in set(df["dataset"]):
        raise BadInput(f"{paper} table {table_id} has no dataset {dataset!r}; available: "
                       f"{', '.join(sorted(set(df['dataset']) - {''}))}")
    return df[df["dataset"] == dataset]
