"""CPU throughput of every fetched zoo model: forward and forward+backward images/s, FLOPs, wrapper cost.

Run::

    FPBENCH_CACHE=/path/to/cache python benchmarks/zoo_throughput.py [--models sface dlib-resnet29] [--batch 32]

Per model (models whose weights are not in the cache are listed as skipped): images/s of ``FaceModel`` on
a canonical 112-px batch, without gradients and with a backward pass to the input (what attacks do);
GFLOP per image from ``torch.utils.flop_counter.FlopCounterMode``; the achieved share of a ``--roofline``
GFLOP/s machine; and the time of a ``FaceModel`` call over the time of its bare backbone on the
already-preprocessed batch (the cost of resizing, colour order, normalisation and L2 normalisation).
Times are the best of three interleaved ``torch.utils.benchmark`` blocked runs (medians), with torch's
default thread count.
Measure on an otherwise idle machine: other processes on the same cores distort every number. With glibc's
default malloc, buffers over 32 MB (sface's 112x112 activations at batch 32) go back to the OS after every
call and are page-faulted in again; ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736`` in the
environment (or jemalloc/tcmalloc) keeps them and makes sface's forward about 1.5x faster.
"""

from __future__ import annotations

import argparse

import torch
from rich.console import Console
from rich.table import Table
from torch.utils.benchmark import Timer
from torch.utils.flop_counter import FlopCounterMode

from fpbench import zoo
from fpbench.zoo.golden import golden_batch


def best_seconds(timers: dict[str, Timer], rounds: int, min_run_time: float) -> dict[str, float]:
    """Per timer, the best median over ``rounds`` interleaved blocked runs (robust to slow load drifts)."""
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(rounds):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.blocked_autorange(min_run_time=min_run_time / rounds).median)
    return best


def gflop_per_image(model: zoo.FaceModel, x: torch.Tensor) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x[:1])
    return counter.get_total_flops() / 1e9


def measure(model: zoo.FaceModel, batch: int, min_run_time: float, rounds: int = 3) -> dict[str, float]:
    x = golden_batch(112, n=batch, seed=0)
    with torch.no_grad():
        prepared = model.preprocess(x)
    xg = x.clone().requires_grad_(True)
    no_grad = "with torch.no_grad(): "
    timers = {
        "forward": Timer(no_grad + "model(x)", globals={"model": model, "x": x, "torch": torch}),
        "bare": Timer(no_grad + "backbone(p)", globals={"backbone": model.backbone, "p": prepared, "torch": torch}),
        "backward": Timer("torch.autograd.grad(model(x).sum(), x)", globals={"model": model, "x": xg, "torch": torch}),
    }
    t = best_seconds(timers, rounds, min_run_time)
    return {
        "forward": batch / t["forward"],
        "backward": batch / t["backward"],
        "gflop": gflop_per_image(model, x),
        "wrapper": t["forward"] / t["bare"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="*", help="zoo names (default: every registered model)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--min-run-time", type=float, default=5.0, help="seconds per quantity")
    parser.add_argument("--roofline", type=float, default=190.0, help="machine GFLOP/s for the %% column")
    args = parser.parse_args()
    console = Console()
    table = Table(title=f"zoo throughput, CPU, batch {args.batch}, {torch.get_num_threads()} threads")
    for column in ("model", "fwd img/s", "fwd+bwd img/s", "GFLOP/img", "% roofline", "FaceModel / backbone"):
        table.add_column(column, justify="left" if column == "model" else "right", no_wrap=column == "model")
    for name in args.models or zoo.ZOO.names():
        if not zoo.is_fetched(name):
            console.print(f"[dim]{name}: skipped, weights not fetched (fpbench zoo fetch {name})[/dim]")
            continue
        r = measure(zoo.load(name), args.batch, args.min_run_time)
        table.add_row(
            name,
            f"{r['forward']:.1f}",
            f"{r['backward']:.1f}",
            f"{r['gflop']:.3f}",
            f"{100 * r['forward'] * r['gflop'] / args.roofline:.0f}",
            f"{r['wrapper']:.3f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
