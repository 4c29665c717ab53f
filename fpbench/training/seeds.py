"""Seeds derived from printable parts, so every random draw of a training step can be replayed."""
from __future__ import annotations

import hashlib
from typing import Any

import torch


def derive_seed(*parts: Any) -> int:
    """A 62-bit seed from any printable parts (stable across runs and platforms)."""
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:15], 16)


def seeded(*parts: Any) -> torch.Generator:
    """A CPU generator seeded by ``derive_seed(*parts)``."""
    return torch.Generator().manual_seed(derive_seed(*parts))
