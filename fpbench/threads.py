"""How many CPU threads fpbench's computations use (``--threads N``, ``$FPBENCH_THREADS``).

The default is the number of cores this process may run on: measured on a 2-core machine, torch's own default
(which may count hyper-threads or ignore the affinity mask) was never faster, and oversubscription was slower.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

from .errors import BadInput


def default_threads() -> int:
    """``$FPBENCH_THREADS`` if set, else the cores this process may use."""
    env = os.environ.get("FPBENCH_THREADS")
    if env:
        return parse_threads(env, "FPBENCH_THREADS")
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parse_threads(value: str | int, where: str = "--threads") -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise BadInput(f"{where} must be a whole number >= 1, got {value!r}") from None
    if n < 1:
        raise BadInput(f"{where} must be a whole number >= 1, got {value!r}")
    return n


def set_threads(n: int | None = None) -> int:
    """Use ``n`` threads (default: ``default_threads()``) for torch's intra-op work; returns the number set."""
    n = n or default_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


@contextlib.contextmanager
def fixed_threads(n: int) -> Iterator[None]:
    """Compute with exactly ``n`` threads inside the block: torch's reductions and resampling split their work by
    thread, so outputs that must be the same bytes everywhere (data fpbench generates) are computed with a fixed
    count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
