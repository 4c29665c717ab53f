"""Thresholds of a run's targets at its FARs, with where each came from: the target's own (a vendor's), a
published or stored calibration, else the run's own data (with a warning saying how little it rests on)."""
from __future__ import annotations

from typing import Any

from ..errors import BadInput
from ..targets import EmbeddingTarget, Target
from .state import RunState


def target_thresholds(state: RunState, target: Target) -> dict[str, Any]:
    from ..metrics import NotEnoughScores
    from ..thresholds import calibrate_embeddings, threshold_for

    spec, dataset = state.spec, state.dataset
    fars = sorted({spec.far, spec.esr_far} if state.method.reversible else {spec.far})  # ESR needs esr_far only
    own = target.thresholds()
    card = getattr(getattr(target, "model", None), "card", None)
    model_name = card.name if card is not None else target.name
    out: dict[str, Any] = {"far": {}}
    missing = []
    for far in fars:
        found = own.get(far) or (threshold_for(model_name, far, dataset.name, dataset.manifest_sha256)
                                 if card is not None else None)
        if found is None:
            missing.append(far)
        else:
            tau, prov = found
            out["far"][str(far)] = {"tau": float(tau), **prov}
    if not missing:
        return out
    if not isinstance(target, EmbeddingTarget):
        raise BadInput(f"{target.display}: no threshold at FAR {missing[0]} (the target states none and a compare-only "
                       "target cannot be calibrated here); pass --far with one it documents")
    records = dataset.records
    with state.work.stage("embed"):
        e = target.embeddings(dataset.images(records, state.size), spec.batch_size)
    try:
        cal = calibrate_embeddings(e, [r.identity for r in records], fars=missing)
    except NotEnoughScores as err:
        raise BadInput(f"{target.display}: no stored threshold and {dataset.name} is too small to calibrate one "
                       f"({err}); run `fpbench calibrate --model {model_name} --dataset LARGER_SET`") from None
    for far in missing:
        est = cal[far]
        out["far"][str(far)] = {"tau": float(est.tau), "source": f"calibrated on this run's dataset ({dataset.name})",
                                "kind": "calibrated-on-run", "n_impostor": est.n_impostor,
                                "n_genuine": est.n_genuine, "tar": est.tar, "ci_lo": est.ci_lo, "ci_hi": est.ci_hi}
        msg = (f"{target.display}: no stored threshold at FAR {far}; calibrated on {dataset.name} "
               f"from {est.n_impostor} impostor pairs")
        if est.n_impostor < 10 / far:
            msg += f" (fewer than {int(10 / far)}: coarse; run `fpbench calibrate` on a larger set)"
        state.warnings.append(msg)
    return out


def tau(state: RunState, target: Target, far: float) -> float:
    return state.thresholds[target.display]["far"][str(far)]["tau"]
