"""The `fpbench` command: a thin layer over the Python API. Each command group lives in its own module
with a ``register(subparsers)`` function that adds its parser and sets ``handler`` (args -> exit code)."""
from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from ..errors import FpbenchError
from ..threads import set_threads
from .options import add_threads_option

console = Console(stderr=True)

#: Command-group modules, in the order `fpbench --help` lists them.
COMMAND_MODULES: list[str] = ["setup", "run", "sweep", "table", "listing", "data", "zoo", "calibrate", "train"]

#: Commands that compute with torch: they take ``--threads N``.
COMPUTING = ("setup", "run", "sweep", "calibrate", "train")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="fpbench", description="Benchmark facial-privacy protection methods.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in COMMAND_MODULES:
        importlib.import_module(f"fpbench.cli.{mod}").register(sub)
    for name in COMPUTING:
        add_threads_option(sub.choices[name])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        set_threads(getattr(args, "threads", None))
        return int(args.handler(args) or 0)
    except FpbenchError as e:
        console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False)
        return e.exit_code
    except KeyboardInterrupt:
        console.print("interrupted; finished work is cached and a re-run resumes from it")
        return 130


if __name__ == "__main__":
    sys.exit(main())
