"""`fpbench list methods|targets|transforms|datasets`."""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

KINDS = ("methods", "targets", "transforms", "datasets")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered methods, targets, transforms or datasets")
    p.add_argument("kind", choices=KINDS)
    p.set_defaults(handler=handle)


def rows(kind: str) -> list[tuple[str, str, str]]:
    """(name, description, origin) for every registered plugin of ``kind``."""
    if kind == "targets":
        from ..targets import TARGETS
        from ..zoo.names import describe_targets

        return sorted(describe_targets() + [(e.name, e.description, e.origin) for e in TARGETS.entries()])
    registry = {"methods": "..methods:METHODS", "transforms": "..transforms:TRANSFORMS", "datasets": "..data:DATASETS"}[kind]
    import importlib

    module, attr = registry.split(":")
    reg = getattr(importlib.import_module(module, __package__), attr)
    return [(e.name, e.description, e.origin) for e in reg.entries()] + [(n, d, "fpbench") for n, d in reg.families()]


def handle(args: argparse.Namespace) -> int:
    table = Table(title=f"fpbench {args.kind}", header_style="bold")
    for col in ("name", "description", "from"):
        table.add_column(col)
    for row in rows(args.kind):
        table.add_row(*row)
    Console().print(table)
    return 0
