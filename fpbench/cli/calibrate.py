"""`fpbench calibrate`: decision thresholds of a model at fixed FARs on a dataset, stored with provenance."""
from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from .options import number, positive_int


def _far(text: str) -> float:
    value = number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"FAR must lie in (0, 1), got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="thresholds of a model at FAR 0.1/0.01/0.001 from a dataset's impostor pairs",
                       description="Embed every face of the dataset, score all impostor pairs (different identities) "
                                   "and genuine pairs (same identity), and store the thresholds at each FAR with "
                                   "bootstrap CIs and TAR. Runs use them for this model's weights from then on.")
    p.add_argument("--model", required=True, help="zoo model or paper name (see `fpbench zoo list`)")
    p.add_argument("--dataset", required=True, help="prepared dataset name (see `fpbench list datasets`)")
    p.add_argument("--far", type=_far, action="append", help="FAR to calibrate at; repeat (default: 0.1, 0.01, 0.001)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..spec import check_device
    from ..thresholds import FARS, calibrate

    device = check_device(args.device)
    cal = calibrate(args.model, args.dataset, fars=tuple(args.far or FARS), device=str(device), batch_size=args.batch_size)
    table = Table(title=f"thresholds of {cal.model} on {cal.dataset}", header_style="bold")
    for col in ("FAR", "tau", "95% CI", "TAR", "impostor pairs", "genuine pairs"):
        table.add_column(col, justify="right")
    for far, e in sorted(cal.estimates.items(), reverse=True):
        table.add_row(f"{far:g}", f"{e.tau:.6f}", f"[{e.ci_lo:.6f}, {e.ci_hi:.6f}]", "-" if e.tar is None else f"{e.tar:.4f}",
                      str(e.n_impostor), str(e.n_genuine))
    console = Console()
    console.print(table)
    for far, e in sorted(cal.estimates.items(), reverse=True):
        if e.n_impostor < 10 / far:
            console.print(f"[yellow]FAR {far:g} rests on {e.n_impostor} impostor pairs (< {int(10 / far)}): the "
                          "threshold is coarse; calibrate on a larger dataset[/]", highlight=False)
    for far, why in sorted(cal.skipped.items(), reverse=True):
        console.print(f"[yellow]FAR {far:g} skipped:[/] {why}", highlight=False)
    console.print(f"{cal.n_faces} faces of {cal.n_identities} identities; weights sha256 {cal.weights_sha256[:16]}...; "
                  f"stored in {cal.path}", highlight=False)
    return 0
