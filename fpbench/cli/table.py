"""`fpbench table RUN_DIRS...`: aggregate finished runs into a paper-style table."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import BadInput
from ..metrics.registry import METRICS, parse_metrics
from ..results import RunResult, default_metrics, load_runs
from ..results.baselines import add_published, parse_selector
from ..results.paper_layout import LAYOUT_PAPERS
from ..results.table_3 import is_layout, render_table_3
from ..results.tables import AGGREGATES, AXES, FORMATS, build_table, holdings, notes, render
from .options import DefaultsHelp


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("table", help="aggregate run directories into a table (rich, csv, markdown, latex)",
                       formatter_class=DefaultsHelp,
                       description="One row per method (and per transform when the runs have several: nothing is "
                                   "averaged unless --aggregate says so), one column per target. LaTeX needs "
                                   "\\usepackage{booktabs,graphicx}; it bolds the best and underlines the second best "
                                   "of the methods run (controls, published rows and white-box cells are not ranked).")
    p.add_argument("runs", nargs="+", type=Path, help="run directories, or folders of them (e.g. a sweep's output)")
    p.add_argument("--metric", help=f"one or more of {', '.join(METRICS)}, comma-separated (asr,esr); default: the "
                                    "main metric of the runs' protocols (asr or psr, top1, accuracy)")
    p.add_argument("--rows", choices=AXES, default="method", help="what each row is")
    p.add_argument("--cols", choices=AXES, default="target", help="what each column is")
    p.add_argument("--transform", help="keep only rows of this transform (e.g. jpeg50)")
    p.add_argument("--aggregate", choices=AGGREGATES, default=None,
                   help="pool the transforms of each cell (said in the header and caption); default: a row per "
                        "transform")
    p.add_argument("--format", choices=FORMATS, default="rich",
                   help="rich (a terminal; Markdown when the output is a pipe or file), csv, markdown or latex")
    p.add_argument("--ci", action="store_true", help="show 95%% bootstrap confidence intervals")
    p.add_argument("--caption", help="table title / start of the LaTeX caption (data, protocol, FAR, n follow)")
    p.add_argument("--wide", action="store_true", help="LaTeX: a table* spanning both columns of a two-column page")
    p.add_argument("--baseline", action="append", metavar="PAPER:TABLE[:DATASET]",
                   help="add a paper's published rows for the same targets and metrics in a block of their own, e.g. "
                        "erasablemask:II (baselines/*.csv; repeatable); advcloak:3 is AdvCloak's Table 3 layout of its "
                        "own: method, type of mask, T_cus, T_gen, APSR of identify runs beside the paper's rows")
    p.set_defaults(handler=handle)


def main_metrics(runs: list[RunResult]) -> list[str]:
    """The first run-view metric of every run (asr, psr, top1 or accuracy), each once."""
    return list(dict.fromkeys(names[0] for names in map(default_metrics, runs) if names))


def handle(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs)
    if any(is_layout(s) for s in args.baseline or []):
        if len(args.baseline) > 1 or args.metric or args.rows != "method" or args.cols != "target":
            raise BadInput("--baseline advcloak:3 is a layout of its own (method, type, T_cus, T_gen, APSR): give it "
                           "alone, without --metric, --rows or --cols")
        print(render_table_3(runs, args.format), end="")
        return 0
    metrics = parse_metrics(args.metric) if args.metric else main_metrics(runs)
    if args.transform:
        held = holdings(runs)
        for r in runs:
            if "transform" in r.scores:
                r.scores = r.scores[r.scores["transform"] == args.transform]
        if all(r.scores.empty for r in runs):
            raise BadInput(f"the runs have no scores under --transform {args.transform}; they hold {held}")
    table = build_table(runs, metrics, rows=args.rows, cols=args.cols, aggregate=args.aggregate)
    layouts = []  # published tables shown in their paper's layout (their columns are not fpbench targets)
    for selector in args.baseline or []:
        try:
            table, _ = add_published(table, selector, args.transform)
        except BadInput:
            if parse_selector(selector)[0] not in LAYOUT_PAPERS:
                raise
            layouts.append(selector)
    data_notes = sorted({f"{r.card['dataset']['name']}: {r.card['dataset']['note']}" for r in runs
                         if (r.card.get("dataset") or {}).get("note")})
    console = Console(soft_wrap=True)
    fmt = "markdown" if args.format == "rich" and not console.is_terminal else args.format  # never cut numbers
    title = ". ".join(filter(None, [args.caption, *data_notes])) if fmt == "latex" else args.caption
    out = render(table, fmt, ci=args.ci, title=title, wide=args.wide)
    if fmt == "rich":
        console.print(out)
    else:
        print(out, end="")
    if fmt != "latex":  # LaTeX says all this in its caption
        prefix = "# " if fmt == "csv" else ""
        for line in ([args.caption] if args.caption and fmt != "rich" else []) + data_notes + notes(table, args.ci):
            print(prefix + line)
    show_layouts(console, layouts, fmt)
    if any(parse_selector(s)[:2] == ("pmt", "VIII") for s in layouts) and fmt != "csv":
        from .run import show_table_viii

        for r in runs:
            show_table_viii(console, r.scores, f"measured ({r.label}, Table VIII layout):")
    return 0


def show_layouts(console: Console, selectors: list[str], fmt: str) -> None:
    """Each published table in its paper's layout: rich (Markdown off a terminal) or CSV; not LaTeX."""
    from ..results.paper_layout import paper_layout, render as render_layout

    for selector in selectors:
        if fmt == "latex":
            raise BadInput(f"--baseline {selector} is shown in the paper's own layout, in rich, markdown or csv "
                           "format only (its columns are the paper's models, not fpbench targets)")
        if fmt == "csv":
            df, note = paper_layout(selector)
            print(f"# {selector} (published, the paper's layout)")
            print(df.to_csv(), end="")
            print(f"# {note}")
        else:
            out, note = render_layout(selector)
            console.print(out)
            console.print(note, highlight=False)
