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
