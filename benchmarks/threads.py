"""Which torch thread count is fastest here: the same attack-and-embed workload at each ``--threads`` value.

Run::

    FPBENCH_CACHE=/path/to/cache python benchmarks/threads.py [--threads 1,2,4] [--rounds 3]

The workload is what a run spends its time on: PGD (10 Linf steps) on 16 golden faces through the default
surrogates, then embedding 64 images with two black-box targets. Prints the best-of-rounds wall time per thread
count and its ratio to the default (``fpbench.threads.default_threads()``: the cores this process may use).
Measure on an otherwise idle machine: other processes on the same cores distort multi-threaded timings.
"""
from __future__ import annotations

import argparse
import time

import torch
from rich.console import Console
from rich.table import Table

from fpbench import zoo
from fpbench.methods.base import DEFAULT_SURROGATES, ProtectContext
from fpbench.methods.gradient import PGD
from fpbench.threads import default_threads, set_threads
from fpbench.zoo.golden import golden_batch


def workload(surrogates: list, targets: list, x: torch.Tensor, goal: torch.Tensor) -> None:
    ctx = ProtectContext("impersonate", surrogates, goal, torch.Generator().manual_seed(0))
    PGD(eps=4 / 255, steps=10).protect(x, ctx)
    with torch.no_grad():
        batch = torch.cat([x] * 4)
        for model in targets:
            model(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="thread counts to compare, a,b,c")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    surrogates = [zoo.load(n) for n in DEFAULT_SURROGATES]
    targets = [zoo.load(n) for n in ("mobilefacenet", "hse-faceres")]
    x = golden_batch(112, 16)
    goal = x.roll(1, 0)
    counts = [int(t) for t in args.threads.split(",")]
    best = {}
    for n in counts:
        set_threads(n)
        workload(surrogates, targets, x, goal)  # warm-up
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            workload(surrogates, targets, x, goal)
            times.append(time.perf_counter() - t0)
        best[n] = min(times)
    default = default_threads()
    table = Table(title=f"PGD 10 steps x 16 faces x 3 surrogates + 64 embeddings x 2 targets (default threads: {default})")
    for col in ("threads", "best wall s", "ratio to default"):
        table.add_column(col, justify="right")
    ref = best.get(default)
    for n in counts:
        table.add_row(str(n), f"{best[n]:.2f}", f"{best[n] / ref:.2f}" if ref else "-")
    Console().print(table)


if __name__ == "__main__":
    main()
