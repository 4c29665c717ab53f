"""`fpbench sweep SPEC.yaml`: a grid of runs as one job, reusing every cache and skipping finished cells."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..claims import check_paper
from ..pipeline.executors import EXECUTORS, make_executor
from ..results import load_runs
from ..sweep import load_sweep, run_sweep
from .claims import print_verdicts
from .options import positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a grid of methods x seeds (each over targets x transforms) from a YAML spec")
    p.add_argument("spec", type=Path, help="sweep YAML (see examples/)")
    p.add_argument("--out", type=Path, help="output folder (default: the spec's `out`, else runs/<spec name>)")
    p.add_argument("--device", help="override the spec's device")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="cells run at once (default 1: serially, in this process; N > 1: a pool of N processes, "
                        "the threads split between them; with --executor ray: each cell's task declares "
                        "threads/N CPUs)")
    p.add_argument("--executor", choices=sorted(EXECUTORS), default=None,
                   help="where cells run (default: serial for --jobs 1, else process; ray: one Ray task per cell, "
                        "see --address)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="with --executor ray: the Ray cluster to use (`auto`: the one running on this machine; "
                        "default: start a local Ray for this sweep); every worker must see FPBENCH_CACHE at the "
                        "same path")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    console = Console()
    sweep = load_sweep(args.spec, out=args.out, device=args.device)
    executor = make_executor(args.executor or ("serial" if args.jobs == 1 else "process"), args.jobs, args.threads,
                             args.address)
    for cell, status in run_sweep(sweep, progress=not args.quiet, executor=executor):
        console.print(f"{status:>8}  {cell}")
    console.print(f"the table: `fpbench table {sweep.out} --metric {sweep.table_metric}`")
    if sweep.claims:
        console.print(f"{sweep.claims}'s expected orderings on these cells (`fpbench claims {sweep.claims} {sweep.out}`):")
        print_verdicts(check_paper(sweep.claims, load_runs([sweep.out])), console)
    return 0
