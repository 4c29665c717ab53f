"""The papers' published numbers beside a leaderboard entry: the rows of ``fpbench/results/published``
whose method, target, metric and processing match the entry's (the paper's own models and data, so they
frame our number; they are not a replication of it)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..results.baselines import paper_target, published
from .entry import Entry

#: fpbench methods whose paper name is not their name with the punctuation removed
PAPER_NAMES = {"none": "clean"}


@dataclass(frozen=True)
class Published:
    """One published row beside an entry: its label, values per (target, transform, metric), its source."""

    label: str
    values: dict[tuple[str, str, str], float]
    source: str
    note: str


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def beside(entry: Entry) -> list[Published]:
    """The published rows of the entry's method, one per paper table and dataset, with a value under each
    of the entry's columns the paper reports (same target name, metric and processing)."""
    df = published()
    want = _norm(PAPER_NAMES.get(entry.method, entry.method))
    df = df[df["row"].map(_norm) == want]
    columns = {(paper_target(r["target"]), "none" if r["transform"] == "identity" else r["transform"], r["metric"]):
               (r["target"], r["transform"], r["metric"]) for r in entry.results}
    out = []
    for (paper, table, dataset), group in df.groupby(["paper", "table", "dataset"], sort=False):
        values = {columns[k]: float(v) for k, v in
                  zip(zip(group["column"], group["processing"], group["metric"]), group["value"])
                  if k in columns}
        if values:
            where = f"{paper} Table {table}" + (f", {dataset}" if dataset else "")
            notes = "; ".join(n for n in dict.fromkeys(group["notes"]) if n)
            out.append(Published(f"{group['row'].iloc[0]} (published: {where})", values,
                                 "; ".join(dict.fromkeys(group["source"])), notes))
    return out
