"""Protect stage: one protected image per item, cached as 8-bit PNG under a key of everything it depends on.

An item's key hashes the method's card, the surrogates' weights, the run options that change the output, the
content of every image the method sees (source, impersonation target, a person's inference photos) and the
method's ``fitted_state`` (the checkpoint it used), so retraining or new data never re-uses stale images.
Image-scope methods protect chunks of items; person-scope methods make one mask per identity from its
inference photos (timed: T_cus) and add it to the person's test photos (T_gen); universal methods make one mask.
Methods with a feature-upload output (PMT) also keep their float x~ and shallow features z~ in a ``TensorStore``
by content hash, referenced per item (``Protected.refs``), for the adversaries (``fpbench.adversaries``).
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..cache import atomic_path, checked_entry, json_sha256, read_checked, subdir
from ..errors import BadInput
from ..images import tensor_sha256
from ..methods import ProtectContext
from ..stores import ImageStore, TensorStore
from .executors import Executor, Unit
from .state import Item, RunState
from .work import chunk_seed, chunks, seeded


@dataclass
class Protected:
    """Where a run's protected images are and what made them (later stages restore and score them)."""

    store: ImageStore
    keys: dict[str, str]  # item id -> image key in ``store``
    method_key: str
    mask_seconds: dict[str, list[float]] = field(default_factory=dict)  # "customise"/"generate" -> seconds each
    tensors: TensorStore | None = None  # float outputs of methods that release features (PMT's x~ and z~)

    def images(self, items: Sequence[Item]) -> torch.Tensor:
        return self.store.get([self.keys[i.id] for i in items])

    def refs_path(self, key: str):
        return self.store.dir / f"{key}.refs.json"

    def refs(self, item_id: str) -> dict | None:
        """The content hashes of an item's float x~ (``x_tilde``) and of its shallow features per authorised
        target (``z_tilde``: display name -> hash) in ``tensors``; None for methods that keep only the PNG."""
        data = read_checked(self.refs_path(self.keys[item_id])) if self.tensors is not None else None
        return json.loads(data) if data is not None else None


def releases_features(method) -> bool:
    """Whether the method has a feature-upload output (``features(x_tilde, ctx)``, PMT): its float x~ and z~
    are kept beside the 8-bit PNG (spec B2.4), so an adversary can attack either."""
    return callable(getattr(method, "features", None))


def method_key(state: RunState) -> str:
    s = state.spec
    return json_sha256({
        "method": state.method.card(), "surrogates": [m.card.weights_sha256 for m in state.surrogates],
        "goal": s.goal, "seed": s.seed, "size": state.size, "batch_size": s.batch_size, "profile": s.profile,
        "mask_l2": s.mask_norm, "authorised": [t.card() for t in authorised_targets(state)],
    })


def authorised_targets(state: RunState) -> list:
    return [t for t in state.targets if t.name in state.spec.authorised or t.display in state.spec.authorised]


def context(state: RunState, items: Sequence[Item], generator: torch.Generator | None = None) -> ProtectContext:
    """The context ``items`` are protected (and restored) with."""
    targets = [i.target for i in items]
    has_targets = bool(items) and all(t is not None for t in targets)
    return ProtectContext(
        goal=state.spec.goal, surrogates=state.surrogates, device=state.device, generator=generator,
        target_images=state.images(targets) if has_targets and "target_images" in state.method.needs else None,
        source_ids=tuple(i.source.id for i in items),
        target_ids=tuple(t.id for t in targets) if has_targets else (),
        target_identities=tuple(t.identity for t in targets) if has_targets else (),
        authorised=[t.model for t in authorised_targets(state) if getattr(t, "model", None) is not None],
    )


def renormalise(delta: torch.Tensor, l2: float | None) -> torch.Tensor:
    """Scale each perturbation (N, C, H, W) to L2 norm ``l2`` ([0,1] units); unchanged when ``l2`` is None."""
    if l2 is None:
        return delta
    norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
    return delta * (l2 / norms).view(-1, 1, 1, 1)


def run_protect(state: RunState, executor: Executor) -> Protected:
    key = method_key(state)
    store = ImageStore("protected", f"{state.spec.method}-{key[:16]}")
    protected = Protected(store, {}, key, tensors=TensorStore("tensors") if releases_features(state.method) else None)
    hashes = _content_hashes(state)
    scope = state.method.scope
    if scope == "image":
        units = _image_units(state, protected, hashes)
    elif scope in ("person", "universal"):
        units = _mask_units(state, protected, hashes)
    else:
        raise BadInput(f"method {state.spec.method!r} declares an unknown scope {scope!r}")
    task = state.progress.add_task(f"protect [{state.spec.method}]", total=len(state.items))
    for unit in units:
        executor.run([unit])
        state.progress.advance(task, unit.args[-1])
    return protected


def _content_hashes(state: RunState) -> dict[str, str]:
    """sha256 of every face the method sees, at the working resolution."""
    faces = {r.id: r for i in state.items for r in (i.source, i.target) if r is not None}
    return {fid: tensor_sha256(state.images([r])) for fid, r in faces.items()}


def _image_units(state: RunState, protected: Protected, hashes: dict[str, str]) -> list[Unit]:
    method, spec = state.method, state.spec
    for item in state.items:
        tid = item.target.id if item.target is not None else ""
        protected.keys[item.id] = json_sha256([protected.method_key, hashes[item.source.id],
                                               hashes.get(tid, ""), method.fitted_state(tid)])

    def done(key: str) -> bool:
        return protected.store.has(key) and (protected.tensors is None or read_checked(protected.refs_path(key)) is not None)

    def protect(chunk: list[Item], keys: list[str], n: int) -> None:
        if all(done(k) for k in keys):
            return
        x = state.images([i.source for i in chunk])
        t0 = time.perf_counter()
        ctx = context(state, chunk, seeded(chunk_seed(spec.seed, keys)))
        with state.work.stage("protect"):
            adv = method.protect(x, ctx).detach().cpu()
        protected.mask_seconds.setdefault("generate", []).extend([(time.perf_counter() - t0) / n] * n)
        if adv.shape != x.shape:
            raise BadInput(f"method {spec.method!r} misbehaved: protect returned shape {tuple(adv.shape)} for "
                           f"input {tuple(x.shape)}")
        if spec.mask_norm is not None:
            adv = (x + renormalise(adv - x, spec.mask_norm)).clamp(0, 1)
        for k, img in zip(keys, adv):
            protected.store.put(k, img)
        if protected.tensors is not None:
            _keep_floats(state, protected, ctx, keys, adv)
        state.work.protected += n

    units = []
    for chunk in chunks(state.items, spec.batch_size, lambda i: i.target.id if i.target is not None else ""):
        keys = [protected.keys[i.id] for i in chunk]
        units.append(Unit("protect", json_sha256(keys), protect, (chunk, keys, len(chunk))))
    return units


def _keep_floats(state: RunState, protected: Protected, ctx: ProtectContext, keys: list[str],
                 adv: torch.Tensor) -> None:
    """Store the float x~ and its shallow features z~ (one per authorised target) by content hash, and each
    item's references to them beside its PNG."""
    names = [t.display for t in authorised_targets(state) if getattr(t, "model", None) is not None]
    with state.work.stage("protect"):
        features = [f.detach().cpu() for f in state.method.features(adv, ctx)]
    for i, key in enumerate(keys):
        refs = {"x_tilde": protected.tensors.put(adv[i]),
                "z_tilde": {name: protected.tensors.put(f[i]) for name, f in zip(names, features)}}
        with checked_entry(protected.refs_path(key)) as tmp:
            tmp.write_text(json.dumps(refs, sort_keys=True))


def _mask_units(state: RunState, protected: Protected, hashes: dict[str, str]) -> list[Unit]:
    """Person or universal masks: one per identity (or one for all), added to every test photo."""
    method, spec = state.method, state.spec
    person = method.scope == "person"
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in state.items:
        groups[item.source.identity if person else ""].append(item)
    masks = subdir("masks", f"{spec.method}-{protected.method_key[:16]}")
    units = []
    for identity, items in sorted(groups.items()):
        inference = state.protocol.inference_photos(state.dataset, identity)[:spec.inference_photos] if person else []
        test_ids = {i.source.id for i in items}
        if any(r.id in test_ids for r in inference):
            raise BadInput(f"protocol {state.protocol.name!r} lists a test photo of {identity!r} as an inference photo")
        mask_key = json_sha256([protected.method_key, identity, sorted(tensor_sha256(state.images([r])) for r in inference),
                                method.fitted_state("")])
        for item in items:
            protected.keys[item.id] = json_sha256([mask_key, hashes[item.source.id]])
        keys = [protected.keys[i.id] for i in items]

        def apply(identity: str, inference: list, items: list[Item], keys: list[str], mask_key: str, n: int) -> None:
            if all(protected.store.has(k) for k in keys):
                return
            mask = _mask(state, masks / f"{mask_key}.pt", identity, inference, protected)
            t0 = time.perf_counter()
            with state.work.stage("apply mask"):
                x = state.images([i.source for i in items])
                adv = (x + mask.unsqueeze(0)).clamp(0, 1)
                for k, img in zip(keys, adv):
                    protected.store.put(k, img)
            protected.mask_seconds.setdefault("generate", []).extend([(time.perf_counter() - t0) / n] * n)
            state.work.protected += n

        units.append(Unit(f"mask {identity}", mask_key, apply, (identity, inference, items, keys, mask_key, len(items))))
    return units


def _mask(state: RunState, path, identity: str, inference: list, protected: Protected) -> torch.Tensor:
    """The cached mask at ``path``, else made now (timed) and cached."""
    if path.is_file():
        return torch.load(path, weights_only=True)
    ctx = context(state, [])
    ctx.identity = identity or None
    ctx.source_ids = tuple(r.id for r in inference)
    ctx.generator = seeded(chunk_seed(state.spec.seed, path.stem))
    t0 = time.perf_counter()
    with state.work.stage("customise mask"):
        if state.method.scope == "person":
            mask = state.method.person_mask(state.images(inference), ctx)
        else:
            mask = state.method.universal_mask(ctx)
    protected.mask_seconds.setdefault("customise", []).append(time.perf_counter() - t0)
    if mask.numel() != 3 * state.size ** 2:
        raise BadInput(f"method {state.spec.method!r} misbehaved: its mask is not one (3, {state.size}, {state.size}) image")
    mask = renormalise(mask.detach().cpu().reshape(1, 3, state.size, state.size), state.spec.mask_norm)[0]
    with atomic_path(path) as tmp:
        torch.save(mask, tmp)
    return mask
