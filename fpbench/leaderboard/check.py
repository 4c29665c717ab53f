"""Re-run leaderboard entries from their cards and compare: every number must fall inside the entry's 95%
CI (numbers without a CI must come back equal), on the same data (manifest sha256) and weights (sha256).

The re-run uses the current cache (``shared``: cached protected images are re-scored) or a fresh one whose
inputs (data, packages, weights, stored calibrations) are links to the current cache's and whose computed
work (protected images, embeddings, trained methods) starts empty, so the method runs again."""
from __future__ import annotations

import contextlib
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from ..cache import cache_dir
from ..spec import RunSpec
from .entry import Entry, from_run

#: cache folders that are inputs of a run (linked into a fresh cache); the rest is recomputed
INPUTS = ("data", "manifests", "packages", "thresholds", "weights")
TOLERANCE = 1e-6  # numbers without a CI: equal up to this (relative and absolute)


@dataclass
class Outcome:
    """What re-running one entry found: one line per number or provenance field that moved."""

    entry: Entry
    problems: list[str]
    compared: int

    @property
    def ok(self) -> bool:
        return not self.problems


def sample(paths: Sequence[Path], n: int | None, seed: int = 0) -> list[Path]:
    """``n`` of ``paths`` drawn with ``seed`` (all of them when ``n`` is None or not smaller)."""
    if n is None or n >= len(paths):
        return list(paths)
    return sorted(random.Random(seed).sample(list(paths), n))


@contextlib.contextmanager
def fresh_cache() -> Iterator[Path]:
    """A temporary FPBENCH_CACHE holding links to the current cache's inputs and nothing computed."""
    shared = cache_dir()
    old = os.environ.get("FPBENCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="fpbench-check-") as tmp:
        for name in INPUTS:
            if (shared / name).is_dir():
                os.symlink(shared / name, Path(tmp) / name)
        os.environ["FPBENCH_CACHE"] = tmp
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("FPBENCH_CACHE", None)
            else:
                os.environ["FPBENCH_CACHE"] = old


def rerun(entry: Entry, fresh: bool = False, progress: bool = False) -> Entry:
    """The entry made from re-running its spec now (in a fresh cache if asked)."""
    from ..runner import Runner

    spec = RunSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.spec.items()})
    with fresh_cache() if fresh else contextlib.nullcontext():
        result = Runner(spec, out=None, progress=progress).execute()
    return from_run(result)


def compare(entry: Entry, again: Entry) -> Outcome:
    """Each of the entry's numbers against its re-run, and the provenance that must not change."""
    problems = []
    if again.dataset_manifest_sha256 != entry.dataset_manifest_sha256:
        problems.append(f"dataset {entry.dataset} manifest changed ({entry.dataset_manifest_sha256[:12]} -> "
                        f"{again.dataset_manifest_sha256[:12]})")
    before = {t["display"]: t["weights_sha256"] for t in entry.targets}
    for t in again.targets:
        if t["display"] in before and t["weights_sha256"] != before[t["display"]]:
            problems.append(f"target {t['display']} weights changed ({before[t['display']][:12]} -> "
                            f"{t['weights_sha256'][:12]})")
    now = {(r["target"], r["transform"], r["metric"]): r["value"] for r in again.results}
    for r in entry.results:
        key = (r["target"], r["transform"], r["metric"])
        name = f"{r['target']} {r['metric']} ({r['transform']})"
        if key not in now:
            problems.append(f"{name}: no longer computed")
            continue
        lo, hi = r["lo"], r["hi"]
        slack = TOLERANCE * max(1.0, abs(r["value"]))
        if not lo - slack <= now[key] <= hi + slack:
            within = f"CI [{lo:g}, {hi:g}]" if hi > lo else f"recorded {r['value']:g}"
            problems.append(f"{name}: {now[key]:g} is outside the entry's {within}")
    return Outcome(entry, problems, len(entry.results))
