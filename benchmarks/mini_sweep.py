"""Wall time of a full mini sweep from a cold cache: every built-in attack x the black-box targets x the channel.

Run::

    FPBENCH_CACHE=/path/to/cache python benchmarks/mini_sweep.py [--methods none,pgd] [--profile sweep.prof]

The script copies only the fetched weights, the prepared mini dataset and its calibrated thresholds (what
``fpbench setup`` leaves behind) from ``$FPBENCH_CACHE`` into a temporary cache, so that every protected
image and every embedding is really computed, then runs one ``Runner`` per method (impersonation on mini,
the methods' default white-box surrogates, the embedded models that are not surrogates as targets, the 7
transforms of ``DEFAULT_CHANNEL``, quality on). It prints the wall time of each run with the per-stage times
from its run card, and the total against the 15-minute budget. ``--profile`` writes a cProfile of the whole
sweep (read it with ``python -m pstats``). The temporary cache is deleted unless ``--keep`` is given. On a
machine shared with other work, ``--threads 1`` avoids torch threads waiting for each other (see README).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

METHODS = ("none", "fgsm", "pgd", "mifgsm", "difgsm", "tifgsm", "gmaa")
BUDGET_SECONDS = 15 * 60
#: what ``fpbench setup`` leaves in the cache; nothing a run computes
SETUP_PARTS = ("weights", "data/mini", "thresholds")
STAGES = ("load", "protect", "embed", "quality")


def cold_cache(source: Path, dest: Path) -> None:
    """Copy the setup parts of ``source`` into ``dest`` (no protected images, no embeddings)."""
    for part in SETUP_PARTS:
        if not (source / part).is_dir():
            raise SystemExit(f"{source / part} is missing: run `fpbench setup` with FPBENCH_CACHE={source} first")
        shutil.copytree(source / part, dest / part)


def black_box_targets() -> list[str]:
    """The embedded models that the built-in methods do not use as white-box surrogates."""
    from fpbench.methods.base import DEFAULT_SURROGATES
    from fpbench.zoo.names import embedded_models

    return [m for m in embedded_models() if m not in DEFAULT_SURROGATES]


def run_sweep(methods: list[str], targets: list[str], out: Path) -> list[tuple[str, float, dict[str, float], dict]]:
    """(method, wall seconds, stage seconds, work counts) per run."""
    from fpbench.runner import Runner
    from fpbench.spec import RunSpec
    from fpbench.transforms import DEFAULT_CHANNEL

    rows = []
    for method in methods:
        spec = RunSpec(method=method, targets=tuple(targets), dataset="mini", transforms=tuple(DEFAULT_CHANNEL))
        t0 = time.perf_counter()
        result = Runner(spec, out, progress=False).execute()
        rows.append((method, time.perf_counter() - t0, result.card["stage_seconds"], result.card["work"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated (default: %(default)s)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the sweep to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary cache (its path is printed)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    source = Path(os.environ.get("FPBENCH_CACHE") or Path.home() / ".cache" / "fpbench").expanduser()
    methods = [m for m in args.methods.split(",") if m]
    console = Console()
    tmp = Path(tempfile.mkdtemp(prefix="fpbench-mini-sweep-"))
    try:
        cold_cache(source, tmp / "cache")
        os.environ["FPBENCH_CACHE"] = str(tmp / "cache")
        targets = black_box_targets()
        console.print(f"cold cache {tmp / 'cache'}; targets {', '.join(targets)}; {torch.get_num_threads()} threads")
        profiler = cProfile.Profile() if args.profile else None
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        rows = run_sweep(methods, targets, tmp / "runs")
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        total = time.perf_counter() - t0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    table = Table(title=f"mini sweep from a cold cache: {len(methods)} methods x {len(targets)} targets x 7 transforms "
                        "(seconds; other: scoring outside the stages; computed: protected / embedded images)")
    for column in ("method", "wall", *STAGES, "other", "computed"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, wall, stages, work in rows:
        other = wall - sum(stages.get(s, 0.0) for s in STAGES)
        table.add_row(method, f"{wall:.1f}", *(f"{stages.get(s, 0.0):.1f}" for s in STAGES), f"{other:.1f}",
                      f"{work['protected']} / {work['embedded']}")
    console.print(table)
    verdict = "within" if total <= BUDGET_SECONDS else "OVER"
    console.print(f"total {total:.0f} s ({total / 60:.1f} min): {verdict} the {BUDGET_SECONDS // 60}-minute budget")
    if args.keep:
        console.print(f"kept {tmp}")
    if args.profile:
        console.print(f"profile: python -m pstats {args.profile}")


if __name__ == "__main__":
    main()
