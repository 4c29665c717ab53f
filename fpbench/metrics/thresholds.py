"""Decision thresholds at a false accept rate, from impostor (different-person) similarity scores, and the
impostor / genuine pairs of a set of embeddings. Pure statistics; which threshold a model gets, and where it
came from (published or calibrated), is ``fpbench.thresholds``."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from ..errors import BadInput
from .estimate import bootstrap_interval


#: The FARs fpbench reports by default.
FARS: tuple[float, ...] = (0.1, 0.01, 0.001)

#: Impostor pairs sampled at most by ``calibrate_embeddings`` (seeded); plenty for FAR 0.001.
MAX_IMPOSTOR_PAIRS = 1_000_000


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


def pair_scores(emb: np.ndarray, identities: Sequence[str], max_impostor_pairs: int | None = MAX_IMPOSTOR_PAIRS,
                seed: int = 0, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Cosine scores of all impostor pairs (different identities) and genuine pairs (same identity), each
    unordered pair once, in row-major order of the upper triangle.

    Scores are computed ``block`` rows at a time (memory O(block * N)); impostor pairs beyond
    ``max_impostor_pairs`` are subsampled without replacement with a seeded generator.
    """
    e = np.asarray(emb, dtype=np.float64)
    if e.ndim != 2 or len(e) != len(identities):
        raise BadInput(f"need (N, D) embeddings and N identities, got {e.shape} and {len(identities)}")
    e = e / np.linalg.norm(e, axis=1, keepdims=True).clip(min=1e-12)
    ids = np.unique(np.asarray(identities, dtype=str), return_inverse=True)[1]
    impostor, genuine = [], []
    for r0 in range(0, len(e), block):
        rows = np.arange(r0, min(r0 + block, len(e)))
        upper = np.arange(len(e))[None, :] > rows[:, None]
        same = ids[rows][:, None] == ids[None, :]
        scores = e[rows] @ e.T
        impostor.append(scores[upper & ~same])
        genuine.append(scores[upper & same])
    imp, gen = np.concatenate(impostor), np.concatenate(genuine)
    if max_impostor_pairs is not None and len(imp) > max_impostor_pairs:
        keep = np.random.Generator(np.random.PCG64(seed)).choice(len(imp), max_impostor_pairs, replace=False)
        imp = imp[np.sort(keep)]
    return imp, gen


def calibrate_embeddings(emb: np.ndarray, identities: Sequence[str], fars: Sequence[float] = FARS,
                         max_impostor_pairs: int | None = MAX_IMPOSTOR_PAIRS, seed: int = 0) -> dict[float, ThresholdEstimate]:
    """Thresholds at ``fars`` from the impostor (and genuine, for TAR) pairs of one set of embeddings.

    Raises ``NotEnoughScores`` when a FAR needs more impostor pairs than there are (1 / FAR at least).
    """
    estimates, skipped = thresholds_from_scores(*pair_scores(emb, identities, max_impostor_pairs, seed), fars)
    if skipped:
        raise next(iter(skipped.values()))
    return estimates


def thresholds_from_scores(
    impostor: np.ndarray, genuine: np.ndarray, fars: Sequence[float]
) -> tuple[dict[float, ThresholdEstimate], dict[float, Exception]]:
    """Threshold estimates at every FAR the impostor scores can resolve (accept when score > tau), and the
    ``NotEnoughScores`` error of each FAR they cannot."""
    if len(impostor) == 0:
        raise BadInput("calibration needs faces of at least two identities (no impostor pairs)")
    estimates, skipped = {}, {}
    for far in fars:
        try:
            estimates[float(far)] = threshold_at_far(impostor, far, genuine if len(genuine) else None)
        except NotEnoughScores as e:
            skipped[float(far)] = e
    return estimates, skipped
