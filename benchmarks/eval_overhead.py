"""Overhead of evaluating images through fpbench over bare batched forwards, cold and from the cache.

Run::

    FPBENCH_CACHE=/path/to/cache python benchmarks/eval_overhead.py [--n 256] [--targets sface,mfn512] [--batch 16]

1. **Stores.** ``--n`` synthetic canonical images (``golden_batch``, all distinct) are embedded by each of the
   ``--targets`` through the path the runner scores with (``EmbeddingStore.embed`` with the target's ``embed``:
   content hashing, batching, device moves, one ``.npy`` per embedding) in an empty cache, against bare
   ``torch.no_grad`` batched forwards of the same images through the same ``FaceModel``s (target <= 1.05);
   then the same evaluation again, now answered from the cache (target ~0 s). Best of ``--rounds``, each
   round in a fresh cache.
2. **Runner.** A ``none`` run on mini (identity only, quality off) in a cache holding only weights, data and
   thresholds, then the identical run again: wall times and stage times from the run cards, beside bare
   forwards of the images that run evaluates (its fixed costs dominate at mini's size).

Models load from ``$FPBENCH_CACHE``; everything computed goes to temporary caches, deleted at the end.
Other processes on the same cores distort the numbers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from fpbench.stores import EmbeddingStore
from fpbench.targets import make_target
from fpbench.zoo.golden import golden_batch

TARGET = 1.05
SETUP_PARTS = ("weights", "data/mini", "thresholds")


def bare_forwards(models: list, x: torch.Tensor, batch: int) -> None:
    with torch.no_grad():
        for model in models:
            for start in range(0, len(x), batch):
                model(x[start : start + batch])


def store_evaluation(targets: list, x: torch.Tensor, batch: int) -> None:
    for target in targets:
        EmbeddingStore(target.cache_key).embed(x, target.embed, batch)


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def stores_benchmark(targets: list, n: int, batch: int, rounds: int, scratch: Path) -> dict[str, float]:
    x = golden_batch(112, n=n, seed=0)
    models = [t.model for t in targets]
    bare_forwards(models, x[:batch], batch)  # warm-up
    best = {"bare forwards": float("inf"), "fpbench, empty cache": float("inf"), "fpbench, from cache": float("inf")}
    for i in range(rounds):
        os.environ["FPBENCH_CACHE"] = str(scratch / f"stores-{i}")
        best["bare forwards"] = min(best["bare forwards"], timed(bare_forwards, models, x, batch))
        best["fpbench, empty cache"] = min(best["fpbench, empty cache"], timed(store_evaluation, targets, x, batch))
        best["fpbench, from cache"] = min(best["fpbench, from cache"], timed(store_evaluation, targets, x, batch))
    return best


def runner_benchmark(target_names: list[str], targets: list, source: Path, scratch: Path, batch: int) -> list[tuple]:
    """(label, seconds, stage seconds) for a cold and a warm `none` run, and bare forwards of its images."""
    from fpbench.data import load_dataset
    from fpbench.protocol import make_pairs
    from fpbench.runner import Runner
    from fpbench.spec import RunSpec

    cache = scratch / "runner"
    for part in SETUP_PARTS:
        shutil.copytree(source / part, cache / part)
    os.environ["FPBENCH_CACHE"] = str(cache)
    spec = RunSpec(method="none", targets=tuple(target_names), dataset="mini", quality=False, batch_size=batch)
    rows = []
    for label in ("fpbench run, cold cache", "fpbench run, again (cached)"):
        t0 = time.perf_counter()
        card = Runner(spec, scratch / "runs", progress=False).execute().card
        rows.append((label, time.perf_counter() - t0, card["stage_seconds"]))
    dataset = load_dataset("mini")
    pairs = make_pairs(dataset, "impersonate")
    images = dataset.images([p.source for p in pairs] + sorted({p.reference.id: p.reference for p in pairs}.values(),
                                                               key=lambda r: r.id))
    bare = timed(bare_forwards, [t.model for t in targets], images, batch)
    rows.append((f"bare forwards of its {len(images)} images", bare, {}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256, help="images for the stores benchmark")
    parser.add_argument("--targets", default="hse-faceres,hse-faceres-deep,mobileface256,mobilefacenet")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    source = Path(os.environ.get("FPBENCH_CACHE") or Path.home() / ".cache" / "fpbench").expanduser()
    names = [t for t in args.targets.split(",") if t]
    targets = [make_target(t) for t in names]
    console = Console()
    scratch = Path(tempfile.mkdtemp(prefix="fpbench-eval-overhead-"))
    try:
        best = stores_benchmark(targets, args.n, args.batch, args.rounds, scratch)
        runs = runner_benchmark(names, targets, source, scratch, args.batch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bare = best["bare forwards"]
    table = Table(title=f"evaluation: {args.n} images x {len(names)} targets ({', '.join(names)}), batch {args.batch}, "
                        f"{torch.get_num_threads()} threads, best of {args.rounds}")
    for column in ("path", "seconds", "images/s", "ratio to bare"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for label, seconds in best.items():
        table.add_row(label, f"{seconds:.3f}", f"{args.n * len(names) / seconds:.0f}", f"{seconds / bare:.3f}")
    console.print(table)
    ratio = best["fpbench, empty cache"] / bare
    console.print(f"stores ratio {ratio:.3f} {'<=' if ratio <= TARGET else '>'} target {TARGET}")
    runner = Table(title="`none` run on mini (identity, quality off) and bare forwards of the same images")
    for column in ("", "seconds", "stage seconds"):
        runner.add_column(column, justify="left" if column != "seconds" else "right")
    for label, seconds, stages in runs:
        runner.add_row(label, f"{seconds:.3f}", ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    console.print(runner)


if __name__ == "__main__":
    main()
