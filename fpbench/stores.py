"""Content-addressed caches of embeddings and images: computed once, reused by every later run.

Both stores write one file per entry atomically, with the sha256 of its bytes beside it (see
``cache.checked_entry``), so an interrupted run leaves only complete entries and the next run picks up where
it stopped. Every read verifies the checksum: an entry replaced or corrupted since it was written is deleted
with a one-line ``CacheIntegrityWarning`` and computed again. Hit and miss counts are kept so tests can
prove a re-run does no work.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .cache import checked_entry, discard, read_checked, subdir
from .errors import FpbenchError
from .images import ImageError, from_uint8, read_image, tensor_sha256, write_png


class EmbeddingStore:
    """Embeddings of one target, keyed by the content hash of each canonical image."""

    def __init__(self, target_key: str) -> None:
        self.dir = subdir("embeddings", target_key)
        self.computed = 0  # images embedded by this store (cache misses)

    def _path(self, image_hash: str) -> Path:
        return self.dir / f"{image_hash}.npy"

    def _read(self, image_hash: str) -> np.ndarray | None:
        """The cached embedding, or None when it is missing or fails verification (then it is deleted)."""
        path = self._path(image_hash)
        data = read_checked(path)
        if data is None:
            return None
        try:
            emb = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError):
            emb = None
        if not isinstance(emb, np.ndarray) or emb.dtype != np.float32 or emb.ndim != 1:
            discard(path, "is not a float32 embedding vector")
            return None
        return emb

    def embed(
        self,
        images: torch.Tensor,
        embed_fn: Callable[[torch.Tensor], torch.Tensor],
        batch_size: int,
        hashes: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Embeddings (N, D) of ``images``; only uncached images go through ``embed_fn``, in batches."""
        hashes = list(hashes) if hashes is not None else [tensor_sha256(x) for x in images]
        found = {h: self._read(h) for h in dict.fromkeys(hashes)}
        todo = [i for i, h in enumerate(hashes) if found[h] is None]
        for start in range(0, len(todo), batch_size):
            idx = todo[start : start + batch_size]
            emb = embed_fn(images[idx]).detach().cpu().numpy().astype(np.float32)
            for i, e in zip(idx, emb):
                with checked_entry(self._path(hashes[i])) as tmp:
                    with open(tmp, "wb") as f:
                        np.save(f, e)
                found[hashes[i]] = e
            self.computed += len(idx)
        return np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, 0), np.float32)


class TensorStore:
    """Float tensors (PMT's x~ before 8-bit quantisation, its shallow features z~), one ``.npy`` (float32) per
    content hash: ``put`` returns the key (``images.tensor_sha256`` of the float32 tensor) that rows refer to."""

    def __init__(self, *namespace: str) -> None:
        self.dir = subdir(*namespace)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.npy"

    def put(self, tensor: torch.Tensor) -> str:
        t = tensor.detach().to("cpu", torch.float32).contiguous()
        key = tensor_sha256(t)
        if read_checked(self.path(key)) is None:
            with checked_entry(self.path(key)) as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, t.numpy())
        return key

    def has(self, key: str) -> bool:
        return read_checked(self.path(key)) is not None

    def get(self, key: str) -> torch.Tensor:
        """The tensor stored under ``key``; a corrupt or replaced entry is deleted and named in the error."""
        path = self.path(key)
        data = read_checked(path)
        if data is not None:
            try:
                arr = np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, OSError, EOFError):
                arr = None
            if isinstance(arr, np.ndarray) and arr.dtype == np.float32:
                return torch.from_numpy(arr)
            discard(path, "is not a float32 array")
        raise FpbenchError(f"cache entry {path} is missing or was corrupt and has been deleted; run again to "
                           "recompute it")


class ImageStore:
    """Images produced by a method (protected or restored), one 8-bit PNG per key under a namespace."""

    def __init__(self, *namespace: str) -> None:
        self.dir = subdir(*namespace)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.png"

    def has(self, key: str) -> bool:
        """Whether a verified image is stored under ``key`` (a corrupt one is deleted: False)."""
        return read_checked(self.path(key)) is not None

    def put(self, key: str, image: torch.Tensor) -> None:
        with checked_entry(self.path(key)) as tmp:
            write_png(tmp, image)

    def get(self, keys: Sequence[str]) -> torch.Tensor:
        return torch.stack([self._load(k) for k in keys])

    def _load(self, key: str) -> torch.Tensor:
        path = self.path(key)
        data = read_checked(path)
        if data is not None:
            try:
                return from_uint8(read_image(io.BytesIO(data)))[0]
            except ImageError:
                discard(path, "is not a readable PNG")
        raise FpbenchError(f"cache entry {path} is missing or was corrupt and has been deleted; run again to "
                           "recompute it")
