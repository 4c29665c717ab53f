"""Fit stage: a learning method trains (or loads) what it needs, once per run and impersonation target,
on the training split only, before any protected image is made. Every later stage uses the fitted method."""
from __future__ import annotations

from ..cache import json_sha256
from ..methods.base import TargetFace
from .executors import Executor, Unit
from .state import RunState


def fit_units(state: RunState) -> list[Unit]:
    """One unit per impersonation target (one unit for methods trained without a target)."""
    if "training" not in state.method.needs:
        return []
    train = state.dataset.split("train")
    targets = {i.target.id: i.target for i in state.items if i.target is not None}
    faces = [TargetFace(r.id, r.identity, state.images([r])) for _, r in sorted(targets.items())] or [None]
    base = [state.method.card(), train.manifest_sha256, [m.card.weights_sha256 for m in state.surrogates]]

    def fit(face: TargetFace | None) -> None:
        with state.work.stage("fit"):
            state.method.fit(train, state.surrogates, state.device, target=face)

    return [Unit(f"fit {f.id if f else state.spec.method}", json_sha256([*base, f.id if f else ""]), fit, (f,))
            for f in faces]


def run_fit(state: RunState, executor: Executor) -> None:
    executor.run(fit_units(state))
