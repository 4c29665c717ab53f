"""Decision thresholds at a false accept rate, from impostor (different-person) similarity scores."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import BadInput
from .estimate import bootstrap_interval


class NotEnoughScores(BadInput):
    """Too few impostor scores to resolve the requested FAR."""


@dataclass(frozen=True)
class ThresholdEstimate:
    """Threshold ``tau`` (accept when score > tau) at ``far``, its TAR on genuine pairs and a bootstrap CI."""

    tau: float
    far: float
    tar: float | None
    n_impostor: int
    n_genuine: int
    ci_lo: float
    ci_hi: float

    def to_dict(self) -> dict:
        return asdict(self)


def _rank(far: float, n: int) -> int:
    """How many impostors may score above the threshold: floor(far * n), guarded against 0.29*100."""
    return math.floor(far * n + 1e-9)


def _order_statistic(k: int):
    """Vectorised statistic: the (k+1)-th largest value along an axis."""

    def stat(scores: np.ndarray, axis: int = -1) -> np.ndarray:
        n = scores.shape[axis]
        return np.take(np.partition(scores, n - 1 - k, axis=axis), n - 1 - k, axis=axis)

    return stat


def threshold_at_far(
    impostor_scores: np.ndarray,
    far: float,
    genuine_scores: np.ndarray | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> ThresholdEstimate:
    """The lowest threshold whose empirical FAR is at most ``far`` under the rule "accept if score > tau".

    tau is the (floor(far * n) + 1)-th largest impostor score, so at most far * n impostors lie above it
    and any lower threshold would let more in. This is the point of the ROC curve where FPR <= far first
    fails (what ``sklearn.metrics.roc_curve`` gives), computed from impostors alone, with the strict ">"
    rule the success metrics use. TAR is the share of genuine scores above tau. The CI comes from a
    seeded percentile bootstrap over impostor scores.
    """
    imp = np.asarray(impostor_scores, dtype=np.float64).reshape(-1)
    if not 0.0 < far < 1.0:
        raise BadInput(f"FAR must lie in (0, 1), got {far}")
    if not np.isfinite(imp).all():
        raise BadInput("impostor scores contain NaN or infinite values")
    needed = math.ceil(1.0 / far - 1e-9)
    if imp.size < needed:
        raise NotEnoughScores(
            f"FAR {far:g} needs at least {needed} impostor scores, got {imp.size}; "
            "add impostor pairs or use a larger FAR"
        )
    stat = _order_statistic(_rank(far, imp.size))
    tau = float(stat(imp))
    lo, hi = bootstrap_interval(imp, stat, n_boot=n_boot, seed=seed, level=level)
    gen = None if genuine_scores is None else np.asarray(genuine_scores, dtype=np.float64).reshape(-1)
    tar = float((gen > tau).mean()) if gen is not None and gen.size else None
    return ThresholdEstimate(tau, far, tar, int(imp.size), 0 if gen is None else int(gen.size), lo, hi)
