"""The run card: exactly what ran (spec, method, data, targets, thresholds and where they came from, work
done, environment), written as ``card.json`` beside the scores."""
from __future__ import annotations

from statistics import mean
from typing import Any

from ..provenance import environment
from ..results.card import RunCard
from .protect import Protected
from .state import RunState

def build_card(state: RunState, protected: Protected) -> dict[str, Any]:
    spec = state.spec
    protocol = {"goal": spec.goal, "far": spec.far, "esr_far": spec.esr_far, **state.protocol.card(state)}
    if state.attacks:
        protocol["attacks"] = state.attacks
    card = RunCard(
        spec=spec.to_dict(),
        method=state.method.card(),
        reversible=state.method.reversible,
        dataset={"name": state.dataset.name, "manifest_sha256": state.dataset.manifest_sha256,
                 "pairs": len(state.items), "attribute_source": state.dataset.attribute_source,
                 "note": state.dataset.note},
        protocol=protocol,
        protocol_name=state.protocol.name,
        targets=[t.card() for t in state.targets],
        white_box=state.white_box,
        controls=state.controls,
        surrogates=[{"name": n, "model": m.card.name, "weights_sha256": m.card.weights_sha256}
                    for n, m in zip(state.surrogate_names, state.surrogates)],
        thresholds=state.thresholds,
        images="protected and restored images are quantised to 8-bit PNG before evaluation",
        mask_l2=spec.mask_norm,
        inference_photos=spec.inference_photos,
        mask_seconds={k: {"mean": mean(v), "n": len(v), "device": str(state.device)}
                      for k, v in protected.mask_seconds.items()} or None,
        quality=state.set_quality,
        work=state.work.to_dict(),
        stage_seconds=state.work.stage_seconds,
        threads=state.threads,
        warnings=state.warnings + [w for t in state.targets for w in getattr(t, "warnings", [])],
        environment=environment(state.device),
    )
    return card.to_dict()
