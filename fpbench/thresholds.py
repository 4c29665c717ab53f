"""Decision thresholds at fixed false-accept rates (FAR), and where each one came from.

Two faces "match" when the cosine of their embeddings is above ``tau``; ``tau`` at FAR ``f`` is the score
that a fraction ``f`` of impostor pairs (different people) exceeds. In order of preference a threshold is:

1. **published**: the LFW thresholds of the Adv-Makeup/AMT-GAN test code, for the paper models
   (``ir152``, ``irse50``, ``facenet``, ``mobileface``) when their weights were added by the user;
2. **calibrated**: stored by ``calibrate`` (``fpbench calibrate``) for the same weights sha256, the stored
   calibration with the most impostor pairs winning;
3. none: the caller calibrates on its own data with ``calibrate_embeddings`` and warns how many impostor
   pairs the threshold rests on (FAR 0.001 needs well over 1000 of them to mean anything).
"""
from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from . import __version__
from .cache import subdir, write_json
from .errors import BadInput

if TYPE_CHECKING:
    from .data.dataset import FaceDataset, FaceRecord
    from .metrics.thresholds import ThresholdEstimate

#: The FARs fpbench reports by default.
FARS: tuple[float, ...] = (0.1, 0.01, 0.001)

PUBLISHED_SOURCE = "Adv-Makeup/AMT-GAN test code (LFW)"

#: fpbench model name -> {FAR: tau}, from the Adv-Makeup/AMT-GAN test code (``mobileface`` is their ``mobile_face``).
PUBLISHED: dict[str, dict[float, float]] = {
    "ir152": {0.1: 0.094632, 0.01: 0.166788, 0.001: 0.227922},
    "irse50": {0.1: 0.144840, 0.01: 0.241045, 0.001: 0.312703},
    "facenet": {0.1: 0.256587, 0.01: 0.409131, 0.001: 0.591191},
    "mobileface": {0.1: 0.183635, 0.01: 0.301611, 0.001: 0.380878},
}

#: Impostor pairs sampled at most by ``calibrate_embeddings`` (seeded); plenty for FAR 0.001.
MAX_IMPOSTOR_PAIRS = 1_000_000


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
        from .metrics.thresholds import ThresholdEstimate

        fields_ = {k: d[k] for k in ("model", "weights_sha256", "dataset", "manifest_sha256", "n_faces",
                                     "n_identities", "date", "fpbench_version")}
        estimates = {float(far): ThresholdEstimate(**e) for far, e in d["estimates"].items()}
        skipped = {float(far): why for far, why in d.get("skipped", {}).items()}
        return cls(**fields_, estimates=estimates, skipped=skipped, path=path)


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
    from .metrics.thresholds import NotEnoughScores, threshold_at_far

    if len(impostor) == 0:
        raise BadInput("calibration needs faces of at least two identities (no impostor pairs)")
    estimates, skipped = {}, {}
    for far in fars:
        try:
            estimates[float(far)] = threshold_at_far(impostor, far, genuine if len(genuine) else None)
        except NotEnoughScores as e:
            skipped[float(far)] = e
    return estimates, skipped


def calibration_path(model: str, dataset: str) -> Path:
    return subdir("thresholds") / f"{model}--{dataset}.json"


def calibrate(model_name: str, dataset: FaceDataset | str, fars: Sequence[float] = FARS, device: str = "cpu",
              batch_size: int = 64, size: int | None = None) -> Calibration:
    """Embed every face of ``dataset`` with ``model_name``, compute thresholds at ``fars`` and store them.

    FARs the dataset has too few impostor pairs for are left out and listed in ``skipped``; if none can be
    computed, ``NotEnoughScores`` says how many pairs are needed.
    """
    import torch

    from .stores import EmbeddingStore
    from .targets import LocalTarget
    from .zoo import load
    from .zoo.names import resolve

    if isinstance(dataset, str):
        from .data import load_dataset

        dataset = load_dataset(dataset)
    records = sorted(dataset.records, key=lambda r: r.id)
    if not records:
        raise BadInput(f"dataset {dataset.name!r} has no faces to calibrate on")
    crop = size or _crop_size(records)
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


def _crop_size(records: Sequence[FaceRecord]) -> int:
    """112 when every record has a 112 crop, else the largest size they all have."""
    common = set.intersection(*(set(r.crops) for r in records))
    if not common:
        raise BadInput("the dataset's records share no crop size; re-prepare it")
    return 112 if 112 in common else max(common)


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


def threshold_for(
    model_name: str, far: float, dataset_name: str | None = None, manifest_sha256: str | None = None
) -> tuple[float, dict[str, Any]] | None:
    """``(tau, provenance)`` for ``model_name`` at ``far``: published, else the best stored calibration of the
    model's current weights, else ``None`` (the caller then calibrates on its own data). A calibration on
    an older version of the run's own dataset (same name, other ``manifest_sha256``) is stale and skipped."""
    from .zoo.paper import PAPER_ALIASES
    from .zoo.user import user_model

    name = PAPER_ALIASES.get(model_name, model_name)
    user = user_model(name)
    if name in PUBLISHED and user is not None and far in PUBLISHED[name]:
        return PUBLISHED[name][far], {
            "source": PUBLISHED_SOURCE, "kind": "published", "far": far, "dataset": "LFW",
            "weights_sha256": user["weights_sha256"],
        }
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
    """sha256 of the state dict ``name`` loads now: recorded for user weights, pinned for embedded models,
    else computed from the cached file (remembered per file version)."""
    from .zoo.catalog import ZOO, weights_path
    from .zoo.user import user_model

    user = user_model(name)
    if user is not None:
        return user["weights_sha256"]
    if name not in ZOO:
        return ""
    pinned = ZOO.get(name).card.weights_sha256
    path = weights_path(name)
    if pinned or not path.is_file():
        return pinned
    st = path.stat()
    return _file_state_dict_sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _file_state_dict_sha256(path: str, size: int, mtime_ns: int) -> str:
    import torch

    from .zoo.catalog import state_dict_sha256

    return state_dict_sha256(torch.load(path, map_location="cpu", weights_only=True))
