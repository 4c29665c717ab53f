"""`fpbench table RUN_DIRS...`: aggregate finished runs into a paper-style table."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import BadInput
from ..metrics.registry import METRICS, parse_metrics
from ..results import RunResult, default_metrics, load_runs
from ..results.baselines import add_published
from ..results.tables import AXES, FORMATS, build_table, holdings, render


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table", help="aggregate run directories into a table (rich, csv, markdown, latex)")
    p.add_argument("runs", nargs="+", type=Path, help="run directories, or folders of them (e.g. a sweep's output)")
    p.add_argument("--metric", help=f"one or more of {', '.join(METRICS)}, comma-separated (asr,esr); default: the "
                                    "main metric of the runs' protocols (asr or psr, top1, accuracy)")
    p.add_argument("--rows", choices=AXES, default="method")
    p.add_argument("--cols", choices=AXES, default="target")
    p.add_argument("--transform", help="keep only rows of this transform (e.g. jpeg50)")
    p.add_argument("--format", choices=FORMATS, default="rich")
    p.add_argument("--ci", action="store_true", help="show 95%% bootstrap confidence intervals")
    p.add_argument("--caption", help="table title / LaTeX caption")
    p.add_argument("--baseline", action="append", metavar="PAPER:TABLE[:DATASET]",
                   help="add a paper's published rows for the same targets and metrics, e.g. erasablemask:II "
                        "(baselines/*.csv; repeatable)")
    p.set_defaults(handler=handle)


def main_metrics(runs: list[RunResult]) -> list[str]:
    """The first run-view metric of every run (asr, psr, top1 or accuracy), each once."""
    return list(dict.fromkeys(names[0] for names in map(default_metrics, runs) if names))


def handle(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs)
    metrics = parse_metrics(args.metric) if args.metric else main_metrics(runs)
    if args.transform:
        held = holdings(runs)
        for r in runs:
            if "transform" in r.scores:
                r.scores = r.scores[r.scores["transform"] == args.transform]
        if all(r.scores.empty for r in runs):
            raise BadInput(f"the runs have no scores under --transform {args.transform}; they hold {held}")
    table = build_table(runs, metrics, rows=args.rows, cols=args.cols)
    sources = []
    for selector in args.baseline or []:
        table, source = add_published(table, selector, args.transform)
        sources.append(source)
    notes = sorted({f"{r.card['dataset']['name']}: {r.card['dataset']['note']}" for r in runs
                    if (r.card.get("dataset") or {}).get("note")})
    footer = "; ".join(notes + sources)  # LaTeX: in the caption; other formats: a line under the table
    in_caption = bool(footer) and args.format == "latex"
    title = ". ".join(filter(None, [args.caption, footer])) if in_caption else args.caption
    out = render(table, args.format, ci=args.ci, title=title)
    console = Console()
    if args.format == "rich":
        console.print(out)
    else:
        print(out, end="")
    if footer and not in_caption:
        if args.format == "rich":
            console.print(footer, markup=False, highlight=False)
        else:
            print(("# " if args.format == "csv" else "") + footer)
    return 0
