"""A model's decision thresholds at fixed false-accept rates (FAR), and where each one came from: the one
place that decides between published and calibrated thresholds.

Two faces "match" when the cosine of their embeddings is above ``tau``; ``tau`` at FAR ``f`` is the score
that a fraction ``f`` of impostor pairs (different people) exceeds. In order of preference a threshold is:

1. **published**: the ``far`` thresholds of the model's pretrained cfg (``fpbench.zoo.cfg.PublishedThresholds``;
   today the Adv-Makeup/AMT-GAN LFW values of the paper models ``ir152``, ``irse50``, ``facenet``,
   ``mobileface``), once the user has added their weights;
2. **calibrated**: stored by ``calibrate`` (``fpbench calibrate``) for the same weights sha256, the stored
   calibration with the most impostor pairs winning;
3. none: the caller calibrates on its own data with ``calibrate_embeddings`` and warns how many impostor
   pairs the threshold rests on (FAR 0.001 needs well over 1000 of them to mean anything).

The statistics (pairs, order statistic, bootstrap) are ``fpbench.metrics.thresholds``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from . import __version__
from .cache import subdir, write_json
from .data.dataset import common_crop_size
from .errors import BadInput
from .metrics.thresholds import (FARS, MAX_IMPOSTOR_PAIRS, ThresholdEstimate, calibrate_embeddings, pair_scores,
                                 thresholds_from_scores)
from .stores import EmbeddingStore
from .zoo.catalog import ZOO, is_fetched, load, weights_path
from .zoo.integrity import file_weights_sha256
from .zoo.names import resolve
from .zoo.user import canonical

if TYPE_CHECKING:
    from .data.dataset import FaceDataset, FaceRecord

__all__ = [
    "FARS", "MAX_IMPOSTOR_PAIRS", "Calibration", "calibrate", "calibrate_embeddings", "calibration_path",
    "pair_scores", "published_threshold", "stored_calibrations", "threshold_for", "thresholds_from_scores",
]


@dataclass
class Calibration:
    """Thresholds of one model (weights sha256) on one dataset (manifest sha256), with their provenance."""

    model: str
    weights_sha256: str
    dataset: str
    manifest_sha256: str
    estimates: dict[float, ThresholdEstimate]
    n_faces: int
    n_identities: int
    skipped: dict[float, str] = field(default_factory=dict)  # FARs the data cannot resolve, and why
    date: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    fpbench_version: str = __version__
    path: Path | None = None  # where it is stored

    @property
    def n_impostor(self) -> int:
        return max((e.n_impostor for e in self.estimates.values()), default=0)

    @property
    def n_genuine(self) -> int:
        return max((e.n_genuine for e in self.estimates.values()), default=0)

    def at(self, far: float) -> ThresholdEstimate:
        if far not in self.estimates:
            raise BadInput(f"calibration of {self.model} on {self.dataset} has no FAR {far}; it has {sorted(self.estimates)}")
        return self.estimates[far]

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("estimates", "skipped", "path")}
        d["estimates"] = {str(far): asdict(e) for far, e in sorted(self.estimates.items(), reverse=True)}
        d["skipped"] = {str(far): why for far, why in self.skipped.items()}
        d["n_impostor"], d["n_genuine"] = self.n_impostor, self.n_genuine
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: Path | None = None) -> Calibration:
        fields_ = {k: d[k] for k in ("model", "weights_sha256", "dataset", "manifest_sha256", "n_faces",
                                     "n_identities", "date", "fpbench_version")}
        estimates = {float(far): ThresholdEstimate(**e) for far, e in d["estimates"].items()}
        skipped = {float(far): why for far, why in d.get("skipped", {}).items()}
        return cls(**fields_, estimates=estimates, skipped=skipped, path=path)


def calibration_path(model: str, dataset: str) -> Path:
    return subdir("thresholds") / f"{model}--{dataset}.json"


def calibrate(model_name: str, dataset: FaceDataset | str, fars: Sequence[float] = FARS, device: str = "cpu",
              batch_size: int = 64, size: int | None = None) -> Calibration:
    """Embed every face of ``dataset`` with ``model_name``, compute thresholds at ``fars`` and store them.

    FARs the dataset has too few impostor pairs for are left out and listed in ``skipped``; if none can be
    computed, ``NotEnoughScores`` says how many pairs are needed.
    """
    from .targets import LocalTarget  # on use: looking thresholds up needs no target layer

    if isinstance(dataset, str):
        from .data import load_dataset

        dataset = load_dataset(dataset)
    records = sorted(dataset.records, key=lambda r: r.id)
    if not records:
        raise BadInput(f"dataset {dataset.name!r} has no faces to calibrate on")
    crop = size or common_crop_size(records)
    r = resolve(model_name)
    target = LocalTarget(r.requested, r.display, load(r.zoo_name, torch.device(device)))
    store = EmbeddingStore(target.cache_key)
    emb = np.concatenate([
        store.embed(dataset.images(records[s : s + batch_size], crop), target.embed, batch_size)
        for s in range(0, len(records), batch_size)
    ])
    identities = [rec.identity for rec in records]
    impostor, genuine = pair_scores(emb, identities)
    estimates, skipped = thresholds_from_scores(impostor, genuine, fars)
    if not estimates:
        raise next(iter(skipped.values()))
    cal = Calibration(
        model=r.zoo_name, weights_sha256=target.model.card.weights_sha256, dataset=dataset.name,
        manifest_sha256=dataset.manifest_sha256, estimates=estimates, n_faces=len(records),
        n_identities=len(set(identities)), skipped={far: str(e) for far, e in skipped.items()},
    )
    cal.path = calibration_path(cal.model, cal.dataset)
    write_json(cal.path, cal.to_dict())
    return cal


def stored_calibrations(model: str | None = None) -> list[Calibration]:
    """Every stored calibration (of ``model`` if given); unreadable files are skipped."""
    out = []
    for p in sorted(subdir("thresholds").glob("*.json")):
        try:
            cal = Calibration.from_dict(json.loads(p.read_text()), path=p)
        except (ValueError, KeyError, TypeError):
            continue
        if model is None or cal.model == model:
            out.append(cal)
    return out


def published_threshold(model_name: str, far: float) -> tuple[float, dict[str, Any]] | None:
    """``(tau, provenance)`` from the published thresholds of the model's cfg, if it states one at ``far``
    and its weights are in the cache."""
    name = canonical(model_name)
    if name not in ZOO:
        return None
    cfg = ZOO.get(name).cfg
    if cfg.thresholds is None or far not in cfg.thresholds.far or not is_fetched(name):
        return None
    return cfg.thresholds.far[far], {
        "source": cfg.thresholds.source, "kind": "published", "far": far, "dataset": cfg.thresholds.dataset,
        "weights_sha256": cfg.weights_sha256,
    }


def threshold_for(
    model_name: str, far: float, dataset_name: str | None = None, manifest_sha256: str | None = None
) -> tuple[float, dict[str, Any]] | None:
    """``(tau, provenance)`` for ``model_name`` at ``far``: published, else the best stored calibration of the
    model's current weights, else ``None`` (the caller then calibrates on its own data). A calibration on
    an older version of the run's own dataset (same name, other ``manifest_sha256``) is stale and skipped."""
    published = published_threshold(model_name, far)
    if published is not None:
        return published
    name = canonical(model_name)
    sha = _weights_sha256(name)

    def usable(c: Calibration) -> bool:
        stale = c.dataset == dataset_name and manifest_sha256 is not None and c.manifest_sha256 != manifest_sha256
        return c.weights_sha256 == sha and far in c.estimates and not stale

    candidates = [c for c in stored_calibrations(name) if usable(c)]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c.estimates[far].n_impostor, c.date))
    est = best.estimates[far]
    return est.tau, {
        "source": f"calibrated on {best.dataset}", "kind": "calibrated", "far": far, "dataset": best.dataset,
        "same_dataset_as_run": dataset_name == best.dataset and manifest_sha256 in (None, best.manifest_sha256)
                               if dataset_name else None,
        "manifest_sha256": best.manifest_sha256, "weights_sha256": best.weights_sha256,
        "n_impostor": est.n_impostor, "n_genuine": est.n_genuine, "tar": est.tar, "ci_lo": est.ci_lo,
        "ci_hi": est.ci_hi, "date": best.date, "fpbench_version": best.fpbench_version, "path": str(best.path),
    }


def _weights_sha256(name: str) -> str:
    """sha256 of the state dict ``name`` loads now: pinned or recorded in its cfg, else hashed from the cached
    file (once per file version)."""
    if name not in ZOO:
        return ""
    pinned = ZOO.get(name).cfg.weights_sha256
    path = weights_path(name)
    return pinned if pinned or not path.is_file() else file_weights_sha256(path)
