"""Ray plumbing of the ``ray`` executor (``executors.RayExecutor``): every unit is one Ray task, on this machine
or on a Ray cluster (optional extra ``pip install 'fpbench[ray]'``).

Ray only places the tasks: the content-addressed cache stays the source of truth. Each task gets the
driver's ``FPBENCH_CACHE`` and its thread count through its runtime environment, holds the unit's cache lock
like any other executor and skips work whose outputs exist, so a retried task (a crashed worker, or an
unexpected exception: ``max_retries``) re-uses everything already written and a finished unit is never
recomputed. Workers on other hosts must see the cache at the same path (shared storage mounted there) and
have fpbench installed. A ``BadInput`` is the user's mistake, not a flaky worker: it comes back as a value,
is not retried, and is raised on the driver as the usual one-line error.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Callable, Mapping, Protocol, Sequence

from ..cache import cache_root
from ..errors import BadInput
from ..threads import set_threads

#: how often a failed task is tried again before the sweep fails
MAX_RETRIES = 2


class Task(Protocol):
    """What a Ray task runs: a named callable with the extra resources it reserves (``executors.Unit``)."""

    name: str
    resources: Mapping[str, float]

    def __call__(self) -> Any: ...


def run_unit(unit: Callable[[], Any], threads: int) -> Any:
    """One unit on a Ray worker: a ``BadInput`` is returned, not raised (so it is not retried)."""
    set_threads(threads)
    try:
        return unit()
    except BadInput as e:
        return e


def run_on_ray(units: Sequence[Task], threads: int, address: str | None = None) -> list[Any]:
    """``units`` as Ray tasks of ``threads`` CPUs each (plus their own resources), results in order; uses the
    Ray this process is connected to, else connects to ``address`` (or starts a local Ray) for the call."""
    if not units:
        return []
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        _start(ray, address)
    try:
        env = {"FPBENCH_CACHE": str(cache_root().absolute()), "FPBENCH_THREADS": str(threads),
               "OMP_NUM_THREADS": str(threads)}
        task = ray.remote(run_unit)
        refs = [task.options(num_cpus=threads, name=unit.name, max_retries=MAX_RETRIES, retry_exceptions=True,
                             runtime_env={"env_vars": env}, **unit.resources).remote(unit, threads)
                for unit in units]
        try:
            results = ray.get(refs)
        except ray.exceptions.RayTaskError as e:
            raise (e.cause if isinstance(e.cause, BaseException) else RuntimeError(str(e))) from None
    finally:
        if started:
            ray.shutdown()
    for result in results:
        if isinstance(result, BadInput):
            raise result
    return results


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise BadInput("--executor ray needs Ray: pip install 'fpbench[ray]'") from None
    return ray


def _start(ray: Any, address: str | None) -> None:
    """Connect to ``address`` or start a local Ray, quietly (no dashboard, no usage statistics)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, include_dashboard=False if address is None else None, log_to_driver=False,
                 logging_level=logging.ERROR, configure_logging=True)
    except ConnectionError as e:
        raise BadInput(f"--address {address}: cannot connect to a Ray cluster there ({e})") from None
