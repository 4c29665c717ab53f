"""`fpbench setup`: everything the embedded default needs, in one idempotent step.

Fetches and converts the embedded FR models, prepares the mini dataset and calibrates every embedded
model's thresholds on it. A second call finds everything cached and only checks it.
"""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

DATASET = "mini"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="fetch the embedded models, prepare the mini data, calibrate thresholds")
    p.add_argument("--device", default="cpu")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..data import prepare, shipped_manifest
    from ..spec import check_device
    from ..thresholds import calibrate
    from ..zoo import fetch
    from ..zoo.names import embedded_models

    device = str(check_device(args.device))
    console = Console()
    models = embedded_models()
    manifest = shipped_manifest(DATASET)
    columns = (TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("fetch + convert models", total=len(models))
        for name in models:
            bar.update(task, description=f"fetch + convert {name}")
            fetch(name)
            bar.advance(task)
        bar.update(task, description="fetch + convert models")
        task = bar.add_task(f"prepare {DATASET}", total=len(manifest.rows))
        report = prepare(manifest, progress=lambda n: bar.advance(task, n))
        task = bar.add_task(f"calibrate on {DATASET}", total=len(models))
        calibrations = {}
        for name in models:
            bar.update(task, description=f"calibrate {name} on {DATASET}")
            calibrations[name] = calibrate(name, DATASET, device=device)
            bar.advance(task)
        bar.update(task, description=f"calibrate on {DATASET}")
    for p in report.problems:
        console.print(f"[yellow]skipped face[/] {p.id}: {p.reason}", highlight=False)
    cal = next(iter(calibrations.values()))
    n_impostor = next(iter(cal.estimates.values())).n_impostor
    console.print(f"ready: {len(models)} embedded models; {DATASET}: {report.prepared + report.reused} faces; "
                  f"thresholds at FAR {', '.join(map(str, sorted(cal.estimates)))} from {n_impostor} impostor pairs")
    for far, why in sorted(cal.skipped.items()):
        console.print(f"no threshold at FAR {far} ({why}); `fpbench calibrate` on a larger set gives one")
    return 0 if not report.problems else 1
