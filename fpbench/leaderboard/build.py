"""Render the leaderboards: ``README.md`` (Markdown) and a static, self-contained ``index.html`` (tables
sortable by a few lines of inline script, no network), one table per board (dataset, protocol, profile),
our entries ranked by the first column, the papers' published numbers beside them with their sources."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..cache import atomic_path
from ..errors import BadInput
from ..metrics.registry import METRICS
from ..results.render import DAGGER, WHITE_BOX_NOTE
from ..results.tables import CONTROLS
from .entry import QUALITY_METRICS, Entry, load_entries
from .published import Published, beside

Column = tuple[str, str, str]  # target (or image kind), transform, metric


@dataclass
class Board:
    """One leaderboard table: its entries (ranked) and columns, and the published rows beside them."""

    name: str
    entries: list[Entry]
    columns: list[Column]
    published: list[Published]
    metric: str  # the headline metric: entries rank by its mean over their black-box targets

    @property
    def mean_header(self) -> str:
        return f"mean {METRICS[self.metric].title} (black-box targets)"


def boards(entries: Iterable[Entry]) -> list[Board]:
    """Entries grouped by board, each board's rows ranked by its first column (best first)."""
    grouped: dict[str, list[Entry]] = {}
    for e in entries:
        grouped.setdefault(e.board, []).append(e)
    out = []
    for name, group in sorted(grouped.items()):
        keys = [(r["target"], r["transform"], r["metric"]) for e in group for r in e.results]
        columns = sorted(dict.fromkeys(keys), key=lambda c: (c[2] in QUALITY_METRICS, _rank_of(c[2]), c[1] != "identity"))
        metric = columns[0][2]
        sign = 1 if METRICS[metric].higher_is_better else -1
        group.sort(key=lambda e: (e.method in CONTROLS, _sort_value(sign, headline(e, metric)), e.method))
        out.append(Board(name, group, columns, [p for e in group for p in beside(e)], metric))
    return out


def headline(entry: Entry, metric: str) -> float | None:
    """The mean of ``metric`` over the entry's black-box targets (identity transform), None without one."""
    values = [r["value"] for r in entry.results if r["metric"] == metric and r["transform"] == "identity"
              and r["target"] not in entry.white_box]
    return sum(values) / len(values) if values else None


def _sort_value(sign: int, value: float | None) -> float:
    return -sign * value if value is not None else float("inf")


def ranks(board: Board) -> list[str]:
    """``1``, ``2``, ... for the ranked entries; ``-`` for controls (the clean baseline), which take no rank."""
    ranked = sum(e.method not in CONTROLS for e in board.entries)
    return [str(i) for i in range(1, ranked + 1)] + ["-"] * (len(board.entries) - ranked)


def _rank_of(metric: str) -> int:
    return list(METRICS).index(metric)


def _value(entry: Entry, col: Column) -> float | None:
    row = _result(entry, col)
    return None if row is None else row["value"]


def _result(entry: Entry, col: Column) -> dict | None:
    return next((r for r in entry.results if (r["target"], r["transform"], r["metric"]) == col), None)


def header(col: Column) -> str:
    target, transform, metric = col
    suffix = f" ({transform})" if transform != "identity" else ""
    if metric in QUALITY_METRICS:
        return f"{METRICS[metric].title} ({target}){suffix}"
    return f"{target} {METRICS[metric].title}{suffix}"


def cell(entry: Entry, col: Column) -> str:
    """``36.36 [18.18, 59.09]`` (with a dagger where the target was white-box); ``-`` without a value."""
    row = _result(entry, col)
    if row is None:
        return "-"
    fmt = METRICS[col[2]].format
    mark = DAGGER if col[0] in entry.white_box else ""
    interval = f" [{fmt(row['lo'])}, {fmt(row['hi'])}]" if row["hi"] > row["lo"] else ""
    return f"{fmt(row['value'])}{mark}{interval}"


def board_notes(board: Board) -> list[str]:
    """The entries' notes, each once, naming the entries it does not hold for all of."""
    notes: dict[str, list[str]] = {}
    for entry in board.entries:
        for note in entry.notes:
            notes.setdefault(note, []).append(entry.method)
    every = len(board.entries)
    return [n if len(m) == every else f"{', '.join(m)}: {n}" for n, m in notes.items()]


def mean_cell(board: Board, entry: Entry) -> str:
    value = headline(entry, board.metric)
    return "-" if value is None else METRICS[board.metric].format(value)


def published_cell(p: Published, col: Column) -> str:
    return METRICS[col[2]].format(p.values[col]) if col in p.values else "-"


def thresholds_text(entry: Entry) -> str:
    """``arcface[mobilefacenet] 0.397 at FAR 0.01 (calibrated on mini)`` for every target and FAR."""
    return "; ".join(f"{t} {v['tau']:.3f} at FAR {far} ({v.get('source', v.get('kind', '?'))})"
                     for t, fars in entry.thresholds.items() for far, v in fars.items()) or "-"


def params_text(entry: Entry) -> str:
    from ..results.labels import format_value

    params = entry.method_card.get("params") or {}
    return ", ".join(f"{k}={format_value(v)}" for k, v in params.items()) or "-"


def weights_text(entry: Entry) -> str:
    return ", ".join(f"{t['display']} {t['weights_sha256'][:12] or '(API)'}" for t in entry.targets)


INTRO = ("One entry per (method, dataset, protocol, profile), made by `fpbench leaderboard add RUN_DIR` from a "
         "run card and re-checked by `fpbench leaderboard check`. Cells: value [95% bootstrap CI]; rates in %. "
         "Entries rank by the mean of the headline metric over their black-box targets; controls (none: the "
         "clean faces) take no rank. "
         "Published rows are the papers' numbers on their own models and data: they frame ours, they are not "
         "ranked with them.")


def markdown(all_boards: list[Board]) -> str:
    lines = ["# fpbench leaderboards", "", "Generated by `fpbench leaderboard build`; do not edit by hand.", "",
             INTRO, ""]
    for b in all_boards:
        head = ["#", "method", b.mean_header, *map(header, b.columns)]
        lines += [f"## {b.name}", "", "| " + " | ".join(head) + " |", "|" + "|".join(["---:", "---"] +
                  ["---:"] * (len(b.columns) + 1)) + "|"]
        lines += [f"| {i} | {e.method} | {mean_cell(b, e)} | " + " | ".join(cell(e, c) for c in b.columns) + " |"
                  for i, e in zip(ranks(b), b.entries)]
        lines += [f"| - | {p.label} | - | " + " | ".join(published_cell(p, c) for c in b.columns) + " |"
                  for p in b.published]
        lines += [""]
        if any(e.white_box for e in b.entries):
            lines += [f"{DAGGER} {WHITE_BOX_NOTE}", ""]
        sources = dict.fromkeys(p.source for p in b.published)
        if sources:
            lines += ["Published numbers: " + "; ".join(sources) + " (see `baselines/README.md`).", ""]
        lines += ["| method | parameters | commit | dataset manifest sha256 | target weights sha256 | thresholds | n |",
                  "|---|---|---|---|---|---|---:|"]
        lines += [f"| {e.method} | {params_text(e)} | `{e.commit[:12]}` | `{e.dataset_manifest_sha256[:12]}` | "
                  f"{weights_text(e)} | {thresholds_text(e)} | {e.pairs} |" for e in b.entries]
        lines += [""] + [f"- {note}" for note in board_notes(b)] + [""]
    return "\n".join(lines)


SORT_JS = """
document.querySelectorAll('table.board th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), asc = th.dataset.asc !== '1';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.asc; });
    th.dataset.asc = asc ? '1' : '0';
    table.querySelectorAll('tbody').forEach(function (body) {
      var rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
        var d = (x === undefined || y === undefined) ? a.cells[col].textContent.localeCompare(b.cells[col].textContent)
                                                     : parseFloat(x) - parseFloat(y);
        return asc ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""
STYLE = ("body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin:1em 0}"
         "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{cursor:pointer;background:#f4f4f4}"
         "td.l,th.l{text-align:left}tbody.published td{color:#666;font-style:italic}small{color:#666}")


def _td(text: str, value: float | None = None, left: bool = False, title: str = "") -> str:
    attrs = (f' data-v="{value}"' if value is not None else "") + (' class="l"' if left else "") + \
            (f' title="{html.escape(title)}"' if title else "")
    return f"<td{attrs}>{html.escape(text)}</td>"


def html_page(all_boards: list[Board]) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>fpbench leaderboards</title>"
             f"<style>{STYLE}</style></head><body><h1>fpbench leaderboards</h1><p>{e(INTRO)}</p>"]
    for b in all_boards:
        parts.append(f"<h2>{e(b.name)}</h2><table class='board'><thead><tr><th>#</th><th class='l'>method</th>"
                     + f"<th>{e(b.mean_header)}</th>" + "".join(f"<th>{e(header(c))}</th>" for c in b.columns) + "</tr></thead><tbody>")
        for n, (i, entry) in enumerate(zip(ranks(b), b.entries), 1):
            parts.append("<tr>" + _td(i, n) + _td(entry.method, left=True, title=params_text(entry))
                         + _td(mean_cell(b, entry), headline(entry, b.metric)) + "".join(_td(cell(entry, c), _value(entry, c)) for c in b.columns) + "</tr>")
        parts.append("</tbody><tbody class='published'>")
        for p in b.published:
            parts.append("<tr>" + _td("-") + _td(p.label, left=True, title=f"{p.source}. {p.note}".strip()) + _td("-")
                         + "".join(_td(published_cell(p, c), p.values.get(c)) for c in b.columns) + "</tr>")
        parts.append("</tbody></table>")
        if any(x.white_box for x in b.entries):
            parts.append(f"<p><small>{DAGGER} {e(WHITE_BOX_NOTE)}</small></p>")
        sources = dict.fromkeys(p.source for p in b.published)
        if sources:
            parts.append(f"<p><small>Published numbers: {e('; '.join(sources))}</small></p>")
        parts += [f"<p><small>note: {e(note)}</small></p>" for note in board_notes(b)]
        parts.append("<details><summary>provenance</summary><ul>")
        parts += [f"<li><b>{e(x.method)}</b>: {e(params_text(x))}; commit <code>{e(x.commit)}</code>; dataset "
                  f"manifest <code>{e(x.dataset_manifest_sha256)}</code>; weights {e(weights_text(x))}; thresholds "
                  f"{e(thresholds_text(x))}; n = {x.pairs}; run {e(x.run)} ({e(x.date)})</li>" for x in b.entries]
        parts.append("</ul></details>")
    parts.append(f"<script>{SORT_JS}</script></body></html>\n")
    return "".join(parts)


def build(root: str | Path) -> tuple[Path, Path]:
    """Write ``root/README.md`` and ``root/index.html`` from the entries under ``root/entries``."""
    root = Path(root)
    entries = [e for _, e in load_entries(root)]
    if not entries:
        raise BadInput(f"{root}: no leaderboard entries in {root / 'entries'}; add some with "
                       "`fpbench leaderboard add RUN_DIR`")
    all_boards = boards(entries)
    out = (root / "README.md", root / "index.html")
    for path, text in zip(out, (markdown(all_boards), html_page(all_boards))):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return out
