"""`fpbench data prepare|show|verify`: datasets from manifests to aligned crops in the cache."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..errors import BadInput


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="datasets: prepare aligned crops, contact sheets, checks")
    actions = p.add_subparsers(dest="data_action", required=True, metavar="ACTION")
    a = actions.add_parser("prepare", help="fetch/verify source images and write aligned crops into the cache")
    a.add_argument("name", help="a shipped manifest (mini) or a manifest file path")
    a.add_argument("--root", type=Path, help="dataset root for manifests whose sources are relative paths")
    a.set_defaults(handler=handle_prepare)
    s = actions.add_parser("show", help="draw the aligned faces of a prepared dataset into a contact sheet")
    s.add_argument("name")
    s.add_argument("--out", type=Path, default=Path("sheet.png"))
    s.set_defaults(handler=handle_show)


def _manifest(name: str):
    from ..data import read_manifest, shipped_manifest

    path = Path(name)
    if path.suffix == ".jsonl" or path.is_file():
        return read_manifest(path)
    try:
        return shipped_manifest(name)
    except BadInput:
        raise BadInput(f"no shipped manifest named {name!r} and no such manifest file") from None


def handle_prepare(args: argparse.Namespace) -> int:
    from ..data import prepare

    console = Console()
    manifest = _manifest(args.name)
    with Progress(TextColumn("prepare {task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task(manifest.name, total=len(manifest.rows))
        report = prepare(manifest, root=args.root, progress=lambda n: bar.advance(task, n))
    console.print(f"{manifest.name}: {report.prepared} faces aligned, {report.reused} already prepared, "
                  f"{len(report.problems)} skipped -> {report.dest}")
    for p in report.problems:
        console.print(f"[yellow]skipped[/] {p.id}: {p.reason}", highlight=False)
    return 0 if not report.problems else 1


def handle_show(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..data.sheet import contact_sheet

    out = contact_sheet(load_dataset(args.name), args.out)
    Console().print(f"wrote {out}")
    return 0
