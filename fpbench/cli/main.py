"""The `fpbench` command: a thin layer over the Python API. Each command group lives in its own module
with a ``register(subparsers)`` function that adds its parser and sets ``handler`` (args -> exit code).

Every failure is one line on stderr: ``FpbenchError``s with their own exit code, OS / file-format errors
with exit 2 (see ``failures``), anything else as an internal error with exit 3; ``FPBENCH_DEBUG=1``
re-raises the latter two with their traceback."""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from typing import Iterator, NoReturn

from rich.console import Console
from rich.markup import escape

from ..cache import CacheIntegrityWarning
from ..errors import FpbenchError
from ..threads import set_threads
from .options import add_threads_option
from .failures import debug_enabled, describe

console = Console(stderr=True)

#: Command-group modules, in the order `fpbench --help` lists them.
COMMAND_MODULES: list[str] = ["setup", "run", "sweep", "table", "show", "listing", "data", "zoo", "calibrate", "train",
                              "serve", "leaderboard", "report", "claims"]

#: Commands that compute with torch: they take ``--threads N``.
COMPUTING = ("setup", "run", "sweep", "calibrate", "train")


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (the usage is in ``--help``); subcommand parsers inherit it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = OneLineParser(prog="fpbench", description="Benchmark facial-privacy protection methods.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in COMMAND_MODULES:
        importlib.import_module(f"fpbench.cli.{mod}").register(sub)
    for name in COMPUTING:
        add_threads_option(sub.choices[name])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = None
    # matplotlib logs to stderr on its own (e.g. "Could not save font_manager cache" on a full disk): only errors
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    try:
        with one_line_warnings():
            args = build_parser().parse_args(argv)  # importing the commands reads the cache (user models)
            args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that re-launch themselves
            set_threads(getattr(args, "threads", None))
            return int(args.handler(args) or 0)
    except FpbenchError as e:
        _error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        console.print("interrupted; finished work is cached and a re-run resumes from it")
        return 130
    except Exception as e:
        if debug_enabled():
            raise
        code, message = describe(e, getattr(args, "out", None))
        _error(message)
        return code


def _error(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """fpbench's own warnings (e.g. a cache entry that failed verification) as one ``warning:`` line each."""
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, CacheIntegrityWarning):
            console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


if __name__ == "__main__":
    sys.exit(main())
