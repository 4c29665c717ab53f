"""What the metrics of a run view measure, in words, with the run's details (FARs, keys, references)."""
from __future__ import annotations

from typing import Any

from ..metrics.registry import METRICS


def legend(card: dict[str, Any], name: str) -> str:
    """What one metric of the run view measures, with the run's details (FARs, keys, references)."""
    spec, m = card.get("spec") or {}, METRICS[name]
    text = f"{m.label}: {m.description}"
    if name == "esr":
        text += f" (FAR {spec.get('esr_far')})"
    elif name == "esr_wrong":
        keys = ", ".join(f"{a}'s faces with {b}'s" for a, b in (card["method"].get("wrong_key_restorers") or {}).items())
        text += f" ({keys}); a key only its owner can use scores low"
    elif name == "rvr":
        refs = (card.get("protocol") or {}).get("restored_compared_with") or {}
        text += (f" (FAR {spec.get('far')}; against another photo of them for "
                 f"{refs.get('another photo of the same person', 0)} pairs, the clean source itself for "
                 f"{refs.get('the clean source itself', 0)})")
    return text


def protocol_notes(card: dict[str, Any]) -> list[str]:
    """One line for each thing about the protocol that flatters the numbers: thresholds calibrated on the
    very faces the run evaluates, and comparisons of a face with its own clean image."""
    spec, proto = card.get("spec") or {}, card.get("protocol") or {}
    dataset = (card.get("dataset") or {}).get("name", "the run's dataset")
    lines = []
    own = {t: e for t, th in (card.get("thresholds") or {}).items()
           for e in [((th or {}).get("far") or {}).get(str(spec.get("far")))] if e and on_evaluated_faces(e, dataset)}
    if own:
        counts = {(e.get("n_genuine"), e.get("n_impostor")) for e in own.values()}
        sizes = "; ".join(f"{g} genuine, {i} impostor pairs" for g, i in sorted(counts, key=str))
        lines.append(f"thresholds of {', '.join(own)} were calibrated on {dataset}, the very faces this run evaluates "
                     f"({sizes}): optimistic; `fpbench calibrate --model MODEL --dataset LARGER_SET` gives "
                     "independent ones")
    self_refs = lambda refs: (refs.get("the clean source itself", 0), sum(refs.values())) if refs else (0, 0)
    compared = proto.get("compared_with") or {}
    if spec.get("goal") == "dodge":
        k, n = self_refs(compared)
        if k:
            lines.append(f"{k} of {n} dodging pairs compare the protected face with its own clean image (the dataset "
                         "has no other photo of them): easier to tell apart than another photo")
    elif compared and all(isinstance(v, str) for v in compared.values()):
        same = [t for t, ref in compared.items() if t == ref]
        if same:
            lines.append(f"{len(same)} of {len(compared)} impersonation targets are compared with the very photo the "
                         "method was given (no other photo of them): easier than another photo")
    k, n = self_refs(proto.get("restored_compared_with") or {})
    if k:
        lines.append(f"{k} of {n} restoration pairs compare the restored face with its own clean image")
    return lines


def on_evaluated_faces(entry: dict[str, Any], dataset: str) -> bool:
    """Whether a threshold's provenance says it was calibrated on the run's own dataset."""
    return bool(entry.get("same_dataset_as_run")) or entry.get("kind") == "calibrated-on-run" \
        or (entry.get("kind") == "calibrated" and entry.get("dataset") == dataset)


def kid_note(kid: float) -> str:
    """Why a KID below zero is not an error."""
    return (" (KID < 0: its unbiased estimator scatters around 0 when the sets are small; read it as 0)"
            if kid < 0 else "")
