"""What a run computed, and the deterministic chunking and seeding every stage shares."""
from __future__ import annotations

import itertools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence, TypeVar

import torch

from ..cache import json_sha256

T = TypeVar("T")


@dataclass
class Work:
    """What a run actually computed (zero everywhere on a fully cached re-run)."""

    protected: int = 0
    restored: int = 0
    embedded: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        self.stage_seconds[name] = round(self.stage_seconds.get(name, 0.0) + time.perf_counter() - t0, 3)

    def to_dict(self) -> dict[str, int]:
        return {"protected": self.protected, "restored": self.restored, "embedded": self.embedded}


def chunk_seed(*parts: Any) -> int:
    """A 63-bit seed derived from the spec seed and the contents a chunk of work depends on."""
    return int(json_sha256(parts)[:15], 16)


def seeded(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def chunks(items: Sequence[T], size: int, group: Callable[[T], Any] = lambda _: "") -> Iterator[list[T]]:
    """Fixed chunks of at most ``size`` items, never mixing items of different ``group`` (e.g. impersonation
    targets, whose per-target models differ)."""
    for _, members in itertools.groupby(items, key=group):
        members = list(members)
        for i in range(0, len(members), size):
            yield members[i : i + size]
