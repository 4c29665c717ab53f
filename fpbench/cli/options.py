"""Argument types shared by commands: fractions like 8/255, key=value parameters, comma lists."""
from __future__ import annotations

import argparse
from typing import Any

from ..values import parse_value, to_number


def number(text: str) -> float:
    """A finite float that may be written as a fraction (``8/255``); nan and inf are refused."""
    try:
        return to_number(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def non_negative(text: str) -> float:
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def comma_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("empty list")
    return items


def key_value(text: str) -> tuple[str, Any]:
    """``name=value`` with value parsed as bool, number (fractions allowed) or string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    return key.strip(), parse_value(raw.strip())


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: CPU threads for the command's computations (default: $FPBENCH_THREADS, else the cores)."""
    from ..threads import parse_threads

    def threads(text: str) -> int:
        try:
            return parse_threads(text)
        except Exception as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parser.add_argument("--threads", type=threads, default=None,
                        help="CPU threads to compute with (default: $FPBENCH_THREADS, else every core this process "
                             "may use); recorded in the run card")


class DefaultsHelp(argparse.HelpFormatter):
    """``--help`` that ends every option's text with its default, when it has one worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        quiet = default is None or default is False or default is argparse.SUPPRESS or (
            isinstance(default, (str, list)) and not default) or not action.option_strings
        return text if quiet or "%(default)" in text else f"{text} (default: %(default)s)"
