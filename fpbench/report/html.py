"""The report as one self-contained HTML file: every image a base64 data URI, no script or style from the
network. One run: its card in readable form, sample pairs side by side with their similarities, its table
and plots. Several runs: their table and the plots across them first, then one section per run."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import BadInput
from ..results import RunResult, default_metrics
from ..results.labels import format_value
from ..results.pairs import sheet_rows
from ..results.tables import build_table, notes, to_frame
from . import figures

STYLE = ("body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;margin:.5em 0}"
         "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
         "th{background:#f4f4f4}.pair{display:flex;gap:.6em;margin:.6em 0;align-items:flex-start}"
         "figure{margin:0;text-align:center;font-size:80%}.pair img{width:112px;height:112px}"
         "img.plot{max-width:100%}.notes{font-size:80%;color:#333}small{color:#666}")
e = html.escape


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _img(png: bytes, alt: str, cls: str = "") -> str:
    return f"<img{f' class={cls!r}' if cls else ''} alt='{e(alt)}' src='{data_uri(png)}'>"


def _kv(rows: Sequence[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows
                               if v not in (None, "", [], {})) + "</table>"


def card_html(card: dict[str, Any]) -> str:
    """The run card as a person reads it: the run, targets, thresholds and their source, environment."""
    spec, method, data, env = card.get("spec") or {}, card.get("method") or {}, card.get("dataset") or {}, \
        card.get("environment") or {}
    params = ", ".join(f"{k}={format_value(v)}" for k, v in (method.get("params") or {}).items())
    run = [("method", f"{method.get('method')} (version {method.get('version', '?')})"), ("parameters", params),
           ("dataset", f"{data.get('name')}, {data.get('pairs')} pairs, manifest sha256 {data.get('manifest_sha256')}"),
           ("protocol", f"{card.get('protocol_name')} ({spec.get('goal')}), FAR {spec.get('far')}"),
           ("transforms", ", ".join(spec.get("transforms") or [])), ("profile / seed", f"{spec.get('profile')} / {spec.get('seed')}"),
           ("surrogates", ", ".join(f"{s.get('name')} ({s.get('weights_sha256', '')[:12]})" for s in card.get("surrogates") or [])),
           ("white-box targets", ", ".join(card.get("white_box") or [])), ("images", card.get("images")),
           ("dataset note", data.get("note"))]
    targets = [(t.get("display"), f"{t.get('kind')}; weights sha256 {(t.get('model') or {}).get('weights_sha256', '-')}")
               for t in card.get("targets") or []]
    thresholds = [(f"{t} at FAR {far}", f"{v.get('tau', float('nan')):.4f}: {v.get('source', v.get('kind', ''))}"
                   + (f" ({v['n_impostor']} impostor pairs)" if v.get("n_impostor") else ""))
                  for t, th in (card.get("thresholds") or {}).items() for far, v in (th.get("far") or {}).items()]
    sets = [(k, ", ".join(f"{m} {format_value(x)}" for m, x in q.items() if m in ("fid", "kid", "n")))
            for k, q in ((card.get("quality") or {}).get("sets") or {}).items()]
    work = [("work", ", ".join(f"{k} {v}" for k, v in (card.get("work") or {}).items())),
            ("seconds", ", ".join(f"{k} {v:.1f}" for k, v in (card.get("stage_seconds") or {}).items())),
            ("commit", env.get("git_commit")), ("fpbench / torch / python", f"{env.get('fpbench')} / "
             f"{env.get('torch')} / {env.get('python')}"), ("date, device", f"{env.get('date')}, {env.get('device_name')}")]
    warnings = "".join(f"<li>{e(w)}</li>" for w in card.get("warnings") or [])
    return ("<h3>Run card</h3>" + _kv(run) + "<h4>Targets</h4>" + _kv(targets) + "<h4>Thresholds</h4>" + _kv(thresholds)
            + ("<h4>Image sets</h4>" + _kv(sets) if sets else "") + "<h4>Work and environment</h4>" + _kv(work)
            + (f"<h4>Warnings</h4><ul>{warnings}</ul>" if warnings else "")
            + f"<details><summary>card.json</summary><pre>{e(json.dumps(card, indent=1, default=str))}</pre></details>")


def pairs_html(run: RunResult, n: int) -> str:
    """The first ``n`` pairs: clean / protected / (edited, restored) / reference side by side, with each
    target's similarity, threshold and outcome."""
    try:
        rows = sheet_rows(run, "identity", n)
    except BadInput as err:
        return f"<p><small>no sample pairs: {e(str(err))}</small></p>"
    out = []
    for pair, images, lines in rows:
        faces = "".join(f"<figure>{_img(p.read_bytes(), f'{title} {pair}')}<figcaption>{e(title)}</figcaption></figure>"
                        for title, p in images)
        out.append(f"<div class='pair'>{faces}<div class='notes'><b>{e(pair)}</b><br>"
                   + "<br>".join(map(e, lines)) + "</div></div>")
    return "".join(out)


def table_html(runs: Sequence[RunResult], single: bool) -> str:
    metrics = list(dict.fromkeys(m for r in runs for m in default_metrics(r)))
    if not metrics:
        return "<p><small>no scores of the runs' protocols</small></p>"
    table = build_table(list(runs), metrics, rows="target" if single else "method", cols=None if single else "target")
    return to_frame(table, ci=True).to_html(border=0) + "".join(f"<p><small>{e(x)}</small></p>" for x in notes(table, True))


def figure_html(fig: figures.Figure) -> str:
    body = _img(fig.png, fig.title, "plot") if fig.png else ""
    return f"<h4>{e(fig.title)}</h4>{body}<p><small>{e(fig.caption)}</small></p>"


def run_section(run: RunResult, pairs: int, heading: str) -> str:
    plots = [figures.similarity_figure(run), figures.roc_figure(run), figures.transform_figure(run),
             figures.up_curve_figure(run)]
    plots = [p for p in plots if p is not None]
    return (f"<section><h2>{e(heading)}</h2>" + table_html([run], single=True) + "<h3>Sample pairs</h3>"
            + pairs_html(run, pairs) + "<h3>Plots</h3>" + "".join(map(figure_html, plots)) + card_html(run.card)
            + "</section>")


def report(runs: Sequence[RunResult], pairs: int = 6) -> str:
    """The HTML document of ``runs`` (one or more)."""
    if not runs:
        raise BadInput("no runs to report")
    title = runs[0].path.name if len(runs) == 1 and runs[0].path else f"{len(runs)} runs"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>fpbench report: {e(title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>fpbench report: {e(title)}</h1>"]
    if len(runs) > 1:
        parts += ["<h2>All runs</h2>", table_html(runs, single=False),
                  figure_html(figures.quality_figure(runs)), *map(figure_html, figures.setting_figures(runs))]
    names = [r.path.name if r.path else f"run {i + 1}" for i, r in enumerate(runs)]
    parts += [run_section(r, pairs, f"{r.label}: {name}") for r, name in zip(runs, names)]
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(runs: Sequence[RunResult], out: Path, pairs: int = 6) -> Path:
    from ..cache import atomic_path

    text = report(runs, pairs)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return out
