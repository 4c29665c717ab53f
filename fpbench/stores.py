"""Content-addressed caches of embeddings and images: computed once, reused by every later run.

Both stores write one file per entry atomically, so an interrupted run leaves only complete entries and
the next run picks up where it stopped. Hit and miss counts are kept so tests can prove a re-run does no
work.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .cache import atomic_path, subdir
from .images import load_png, tensor_sha256, write_png


class EmbeddingStore:
    """Embeddings of one target, keyed by the content hash of each canonical image."""

    def __init__(self, target_key: str) -> None:
        self.dir = subdir("embeddings", target_key)
        self.computed = 0  # images embedded by this store (cache misses)

    def _path(self, image_hash: str) -> Path:
        return self.dir / f"{image_hash}.npy"

    def embed(
        self,
        images: torch.Tensor,
        embed_fn: Callable[[torch.Tensor], torch.Tensor],
        batch_size: int,
        hashes: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Embeddings (N, D) of ``images``; only uncached images go through ``embed_fn``, in batches."""
        hashes = list(hashes) if hashes is not None else [tensor_sha256(x) for x in images]
        todo = [i for i, h in enumerate(hashes) if not self._path(h).is_file()]
        for start in range(0, len(todo), batch_size):
            idx = todo[start : start + batch_size]
            emb = embed_fn(images[idx]).detach().cpu().numpy().astype(np.float32)
            for i, e in zip(idx, emb):
                with atomic_path(self._path(hashes[i])) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, e)
            self.computed += len(idx)
        return np.stack([np.load(self._path(h)) for h in hashes]) if hashes else np.zeros((0, 0), np.float32)


class ImageStore:
    """Images produced by a method (protected or restored), one 8-bit PNG per key under a namespace."""

    def __init__(self, *namespace: str) -> None:
        self.dir = subdir(*namespace)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.png"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, image: torch.Tensor) -> None:
        with atomic_path(self.path(key)) as tmp:
            write_png(tmp, image)

    def get(self, keys: Sequence[str]) -> torch.Tensor:
        return torch.stack([load_png(self.path(k)) for k in keys])
