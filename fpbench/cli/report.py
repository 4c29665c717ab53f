"""`fpbench report RUN_DIR... [--open]`: one self-contained HTML file a person looks at (see
``fpbench.report``)."""
from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..report.html import write_report
from ..results import load_runs
from .options import DefaultsHelp, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="an HTML report of runs: card, sample faces, table, plots (self-contained)",
                       formatter_class=DefaultsHelp,
                       description="One run: RUN/report.html with its card, sample pairs side by side, its table "
                                   "and plots. Several runs (e.g. runs/*): one report with their table, quality "
                                   "against the protection metric, the metric against eps for sweeps, then each run.")
    p.add_argument("runs", nargs="+", type=Path, help="run directories, or folders of them (a sweep's output)")
    p.add_argument("--out", type=Path, help="the HTML file (default: RUN/report.html for one run, else report.html)")
    p.add_argument("--pairs", type=positive_int, default=6, help="sample pairs shown per run")
    p.add_argument("--open", action="store_true", help="open the report in the default web browser")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs)
    out = args.out or (runs[0].path / "report.html" if len(runs) == 1 and runs[0].path else Path("report.html"))
    path = write_report(runs, out, args.pairs)
    Console(soft_wrap=True, highlight=False).print(f"report: {escape(str(path))}")
    if args.open:
        webbrowser.open(path.resolve().as_uri())
    return 0
