"""`fpbench claims PAPER RUN_DIRS...`: a paper's expected orderings, measured on finished runs."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.table import Table

from ..claims import Verdict, check_paper, papers
from ..claims.base import verdict_rows
from ..results import load_runs
from .options import DefaultsHelp


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("claims", help="check a paper's expected orderings (E1-E7) on finished runs",
                       formatter_class=DefaultsHelp,
                       description="Each claim is measured as gaps in points (advcloak: black-box average top-1 "
                                   "protection of identify runs, paired over the same probes, CIs resampling "
                                   "identities; pmt: accuracy, SSIM x100 or UP x100 of authorise runs, paired over "
                                   "the same source faces) with 95% CIs: reproduced when every CI lies above 0. "
                                   "Claims are evidence, never a failure.")
    p.add_argument("paper", choices=sorted(papers()), help="whose claims")
    p.add_argument("runs", nargs="+", type=Path, help="run directories, or folders of them (e.g. a sweep's output)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    print_verdicts(check_paper(args.paper, load_runs(args.runs)), Console(soft_wrap=True))
    return 0


def print_verdicts(verdicts: Sequence[Verdict], console: Console) -> None:
    """A rich table in a terminal; Markdown in a pipe or file, so that no number is cut."""
    rows = verdict_rows(verdicts)
    header = ("claim", "the paper", "measured (points, 95% CI)", "verdict")
    if console.is_terminal:
        table = Table(*header, show_lines=True)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
