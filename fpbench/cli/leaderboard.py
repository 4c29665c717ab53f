"""`fpbench leaderboard add|build|check`: entries made from run cards, rendered as README.md and
index.html, and re-run to check that their numbers stay inside their CIs."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..errors import BadInput
from ..leaderboard.build import build
from ..leaderboard.check import compare, rerun, sample
from ..leaderboard.entry import ENTRIES, add, load_entry
from ..results import load_runs
from .options import DefaultsHelp, add_threads_option, positive_int

ROOT = Path("leaderboards")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="leaderboard entries from runs: add, build README/HTML, check by re-running",
                       formatter_class=DefaultsHelp)
    cmds = p.add_subparsers(dest="leaderboard_command", required=True, metavar="SUBCOMMAND")
    a = cmds.add_parser("add", help="add (or replace) the entry of each run", formatter_class=DefaultsHelp,
                        description="One entry per (method, dataset, protocol, profile) from each run's card: its "
                                    "numbers with their CIs, spec, commit, dataset manifest and weights sha256, "
                                    "thresholds and their source.")
    a.add_argument("runs", nargs="+", type=Path, help="run directories, or folders of them")
    b = cmds.add_parser("build", help="render ROOT/README.md and ROOT/index.html from the entries",
                        formatter_class=DefaultsHelp)
    c = cmds.add_parser("check", help="re-run entries and fail if a number leaves its CI", formatter_class=DefaultsHelp,
                        description="Re-runs each chosen entry from its spec and compares every number with the "
                                    "entry's 95%% CI (exit 1 if one moved outside, or the data or weights changed).")
    c.add_argument("entries", nargs="*", type=Path, help="entry files (default: every entry under ROOT/entries)")
    c.add_argument("--sample", type=positive_int, help="re-run only this many of them, drawn with --seed")
    c.add_argument("--seed", type=int, default=0, help="seed of the --sample draw")
    c.add_argument("--fresh-cache", action="store_true",
                   help="recompute the method's work in an empty cache (inputs linked from the current one)")
    add_threads_option(c)  # main() sets the threads of a command's --threads before its handler runs
    for q in (a, b, c):
        q.add_argument("--root", type=Path, default=ROOT, help="the leaderboards directory")
    a.set_defaults(handler=handle_add)
    b.set_defaults(handler=handle_build)
    c.set_defaults(handler=handle_check)


def handle_add(args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True, highlight=False)
    for run in load_runs(args.runs):
        path, replaced = add(run, args.root)
        console.print(f"{'replaced' if replaced else 'added'} {escape(str(path))}")
    return 0


def handle_build(args: argparse.Namespace) -> int:
    readme, page = build(args.root)
    Console(soft_wrap=True, highlight=False).print(f"wrote {escape(str(readme))} and {escape(str(page))}")
    return 0


def handle_check(args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True, highlight=False)
    paths = args.entries or sorted((args.root / ENTRIES).glob("*.json"))
    if not paths:
        raise BadInput(f"no leaderboard entries to check in {args.root / ENTRIES}")
    failed = 0
    for path in sample(paths, args.sample, args.seed):
        entry = load_entry(path)
        outcome = compare(entry, rerun(entry, fresh=args.fresh_cache))
        if outcome.ok:
            console.print(f"ok {escape(str(path))}: {outcome.compared} numbers inside their CIs")
        else:
            failed += 1
            for problem in outcome.problems:
                console.print(f"[red]moved[/] {escape(str(path))}: {escape(problem)}")
    return 1 if failed else 0
