"""Work units and the executors that run them.

A ``Unit`` is one piece of work with a content key: running it twice gives the same result, because every
output is written atomically under a content-addressed key and a unit first checks whether its outputs
exist. ``run_locked`` holds a per-key file lock while a unit runs, so two processes sharing a cache never
compute the same unit at once: the second waits, then finds the outputs and re-uses them.

Executors run a list of units and return their results in order. ``serial`` runs them in this process;
``process`` runs them in a pool of worker processes, splitting the torch threads between the workers (units
must then be picklable: sweeps hand it whole runs, see ``fpbench.sweep``); ``ray`` runs each unit as a Ray task,
on this machine or a cluster (``fpbench.pipeline.ray_executor``).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence, TypeVar

from filelock import FileLock

from ..cache import subdir
from ..errors import BadInput
from ..threads import default_threads, set_threads
from .ray_executor import run_on_ray

R = TypeVar("R")


@dataclass(frozen=True)
class Unit:
    """One unit of work: ``fn(*args)`` under the content ``key`` (the lock's name); ``resources`` are what
    a distributed executor must reserve for it beyond its CPU threads (e.g. ``{"num_gpus": 1}``)."""

    name: str
    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = field(default=())
    resources: dict[str, float] = field(default_factory=dict)

    def __call__(self) -> Any:
        return run_locked(self.key, self.fn, *self.args)


def run_lock(key: str) -> FileLock:
    """The cache-wide lock of ``key`` (a context manager that waits for another holder to finish)."""
    return FileLock(str(subdir("locks") / f"{key}.lock"))


def run_locked(key: str, fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` while holding the lock of ``key``."""
    with run_lock(key):
        return fn(*args)


class Executor:
    """Runs units; subclasses decide where."""

    name: ClassVar[str] = ""

    def __init__(self, jobs: int = 1, threads: int | None = None) -> None:
        if jobs < 1:
            raise BadInput(f"--jobs must be >= 1, got {jobs}")
        self.jobs, self.threads = jobs, threads

    def run(self, units: Sequence[Unit]) -> list[Any]:
        raise NotImplementedError


class SerialExecutor(Executor):
    """Every unit in this process, in order."""

    name = "serial"

    def run(self, units: Sequence[Unit]) -> list[Any]:
        return [unit() for unit in units]


def _worker_init(threads: int) -> None:
    """A worker's share of the threads, also for what it runs (a Runner asks ``default_threads()``)."""
    os.environ["FPBENCH_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(threads)
    set_threads(threads)


class ProcessExecutor(Executor):
    """Units in a pool of ``jobs`` worker processes (spawned, so no state leaks from the parent), each with
    ``threads // jobs`` torch threads; results come back in the units' order."""

    name = "process"

    def run(self, units: Sequence[Unit]) -> list[Any]:
        if self.jobs == 1 or len(units) <= 1:
            return SerialExecutor(threads=self.threads).run(units)
        per_worker = max(1, (self.threads or default_threads()) // self.jobs)
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_worker_init,
                                    initargs=(per_worker,)) as pool:
            return list(pool.map(_call, units))


def _call(unit: Unit) -> Any:
    return unit()


class RayExecutor(Executor):
    """Units as Ray tasks (``ray_executor``), each declaring ``threads // jobs`` CPUs (and a GPU when its unit
    asks for one); on the Ray at ``address`` (``auto``: the cluster running on this machine), else on a local
    Ray started for the call."""

    name = "ray"

    def __init__(self, jobs: int = 1, threads: int | None = None, address: str | None = None) -> None:
        super().__init__(jobs, threads)
        self.address = address

    def run(self, units: Sequence[Unit]) -> list[Any]:
        return run_on_ray(units, max(1, (self.threads or default_threads()) // self.jobs), self.address)


EXECUTORS: dict[str, type[Executor]] = {e.name: e for e in (SerialExecutor, ProcessExecutor, RayExecutor)}


def make_executor(name: str, jobs: int = 1, threads: int | None = None, address: str | None = None) -> Executor:
    """The executor called ``name``; ``BadInput`` lists the valid names. ``address`` (a Ray cluster) is only
    for ``ray``."""
    if name not in EXECUTORS:
        raise BadInput(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}")
    if address is not None and name != "ray":
        raise BadInput(f"--address is for --executor ray (a Ray cluster), not {name!r}")
    return RayExecutor(jobs, threads, address) if name == "ray" else EXECUTORS[name](jobs, threads)
