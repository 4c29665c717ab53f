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
Other processes on the same cores distort the numbers, badly with more than one torch thread: ``--threads 1``
gives stable ones on a shared machine.
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


def timed(fn, *args) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0


def stores_benchmark(targets: list, n: int, batch: int, rounds: int, scratch: Path) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds of each path over ``rounds`` rounds, each round in a fresh cache."""
    x = golden_batch(112, n=n, seed=0)
    models = [t.model for t in targets]
    bare_forwards(models, x[:batch], batch)  # warm-up
    paths = {"bare forwards": lambda: bare_forwards(models, x, batch),
             "fpbench, empty cache": lambda: store_evaluation(targets, x, batch),
             "fpbench, from cache": lambda: store_evaluation(targets, x, batch)}
    best = {name: (float("inf"), float("inf")) for name in paths}
    for i in range(rounds):
        os.environ["FPBENCH_CACHE"] = str(scratch / f"stores-{i}")
        for name, path in paths.items():
            wall, cpu = timed(path)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def runner_benchmark(target_names: list[str], targets: list, source: Path, scratch: Path, batch: int) -> list[tuple]:
    """(label, seconds, stage seconds) for a cold and a warm `none` run, and bare forwards of its images."""
    from fpbench.data import load_dataset
    from fpbench.protocols.verify import make_pairs
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
    faces = {r.id: r for p in make_pairs(dataset, "impersonate") for r in (p.source, p.reference)}
    images = dataset.images([faces[i] for i in sorted(faces)])  # `none` leaves sources as they are
    bare, _ = timed(bare_forwards, [t.model for t in targets], images, batch)
    rows.append((f"bare forwards of its {len(images)} distinct images", bare, {}))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256, help="images for the stores benchmark")
    parser.add_argument("--targets", default="hse-faceres,hse-faceres-deep,mobileface256,mobilefacenet")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
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
    bare, bare_cpu = best["bare forwards"]
    table = Table(title=f"evaluation: {args.n} images x {len(names)} targets ({', '.join(names)}), batch {args.batch}, "
                        f"{torch.get_num_threads()} threads, best of {args.rounds}")
    for column in ("path", "wall s", "cpu s", "images/s", "wall ratio", "cpu ratio"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for label, (wall, cpu) in best.items():
        table.add_row(label, f"{wall:.3f}", f"{cpu:.3f}", f"{args.n * len(names) / wall:.0f}", f"{wall / bare:.3f}",
                      f"{cpu / bare_cpu:.3f}")
    console.print(table)
    ratio = best["fpbench, empty cache"][0] / bare
    console.print(f"stores wall ratio {ratio:.3f} {'<=' if ratio <= TARGET else '>'} target {TARGET}")
    runner = Table(title="`none` run on mini (identity, quality off) and bare forwards of the same images")
    for column in ("", "wall s", "ratio to bare", "stage seconds"):
        runner.add_column(column, justify="right" if column in ("wall s", "ratio to bare") else "left")
    for label, seconds, stages in runs:
        runner.add_row(label, f"{seconds:.3f}", f"{seconds / runs[-1][1]:.2f}",
                       ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    console.print(runner)


if __name__ == "__main__":
    main()
