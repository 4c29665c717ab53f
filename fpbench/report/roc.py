"""ROC curves of a run's targets from their calibrations: the genuine and impostor pair scores of each
stored calibration's dataset (same weights sha256, same manifest sha256), re-scored from cached embeddings,
with the calibrated thresholds marked. A calibration whose dataset is not here gives its points only."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BadInput
from ..metrics.thresholds import pair_scores

Curve = tuple[str, np.ndarray, np.ndarray, list[tuple[float, float]]]  # label, FARs, TARs, calibrated points


def roc_curve(impostor: np.ndarray, genuine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FAR and TAR at every threshold over these impostor and genuine pair scores (scikit-learn)."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    labels = np.r_[np.zeros(len(impostor)), np.ones(len(genuine))]
    far, tar, _ = sk_roc_curve(labels, np.r_[impostor, genuine])
    return far, tar


def _scores(target_card: dict[str, Any], calibration) -> tuple[np.ndarray, np.ndarray] | None:
    """The calibration's pair scores, if its dataset (same manifest) is prepared here and the target is local."""
    from ..data import load_dataset
    from ..data.dataset import common_crop_size
    from ..targets import make_target

    if target_card.get("kind") != "local":
        return None
    try:
        dataset = load_dataset(calibration.dataset)
    except (BadInput, OSError):
        return None
    if dataset.manifest_sha256 != calibration.manifest_sha256:
        return None
    records = sorted(dataset.records, key=lambda r: r.id)
    target = make_target(target_card["name"])
    emb = target.embeddings(dataset.images(records, common_crop_size(records)))
    impostor, genuine = pair_scores(emb, [r.identity for r in records])
    return (impostor, genuine) if len(impostor) and len(genuine) else None


def target_curves(target_card: dict[str, Any]) -> list[Curve]:
    """One curve per stored calibration of this target's weights."""
    from ..thresholds import stored_calibrations

    sha = (target_card.get("model") or {}).get("weights_sha256", "")
    out = []
    for cal in stored_calibrations():
        if not sha or cal.weights_sha256 != sha:
            continue
        points = sorted((far, e.tar) for far, e in cal.estimates.items() if e.tar is not None)
        scores = _scores(target_card, cal)
        label = f"{cal.dataset}: {cal.n_impostor} impostor, {cal.n_genuine} genuine pairs"
        if scores is not None:
            far, tar = roc_curve(*scores)
            out.append((label, far, tar, points))
        elif points:
            out.append((label + " (points only)", np.array([p[0] for p in points]), np.array([p[1] for p in points]),
                        points))
    return out
