"""Channel and restore: the processing a shared photo meets, and reversible methods' restorations of it
(with the right key, and with a wrong one), cached like protected images."""
from __future__ import annotations

from typing import Sequence

import torch

from ..cache import json_sha256
from ..stores import ImageStore
from ..transforms import Transform
from .protect import Protected, context
from .state import Item, RunState
from .work import chunk_seed, seeded


def channel(state: RunState, images: torch.Tensor, keys: list[str], transform: Transform) -> torch.Tensor:
    """``images`` through ``transform``, with a random stream fixed by the seed and the images' keys."""
    return transform(images, seeded(chunk_seed(state.spec.seed, transform.name, keys)))


def restored(state: RunState, protected: Protected, chunk: Sequence[Item], x_t: torch.Tensor, transform: Transform,
             wrong_key: bool = False) -> torch.Tensor | None:
    """Restorations of a chunk's (transformed) protected images; with ``wrong_key`` by a key the images were
    not protected with (None when the method has no second key)."""
    keys = restored_keys(protected, chunk, transform.name, wrong_key)
    store = restored_store(state, protected)
    if not all(store.has(k) for k in keys):
        ctx = context(state, chunk)
        with state.work.stage("restore"), torch.no_grad():
            x_in = x_t.to(state.device)
            rec = state.method.restore_with_wrong_key(x_in, ctx) if wrong_key else state.method.restore(x_in, ctx)
        if rec is None:
            return None
        for k, img in zip(keys, rec.detach().cpu()):
            store.put(k, img)
        state.work.restored += len(keys)
    return store.get(keys)


def restored_keys(protected: Protected, chunk: Sequence[Item], transform: str, wrong_key: bool = False) -> list[str]:
    """The cache keys of a chunk's restorations (``restored_store(...).path(key)`` is the file)."""
    tag = "restore-wrong-key" if wrong_key else "restore"
    return [json_sha256([protected.keys[i.id], transform, tag]) for i in chunk]


def restored_store(state: RunState, protected: Protected) -> ImageStore:
    return ImageStore("restored", f"{state.spec.method}-{protected.method_key[:16]}")
