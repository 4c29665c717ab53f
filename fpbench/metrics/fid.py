"""FID and KID with torch-fidelity's TF-compatible Inception (weights from ``weights.fid_inception``).

fpbench reads the verified weights itself with ``weights_only=True`` and hands torch-fidelity an in-memory
copy it serialised from those tensors, so torch-fidelity's own ``torch.load(weights_only=False)`` never
sees a file from disk.

FID on small sets is biased upwards and noisy (it estimates a 2048x2048 covariance); report ``n`` with
it and read KID (unbiased, averaged over random subsets) alongside. No Inception Score: the packaged
Inception has no classifier logits.
"""
from __future__ import annotations

from functools import lru_cache
from io import BytesIO

import numpy as np
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

from ..images import to_uint8
from .weights import fid_inception

_BATCH = 16
KID_SUBSETS = 100
KID_MAX_SUBSET = 1000


@lru_cache(maxsize=4)
def inception(device: str = "cpu") -> FeatureExtractorInceptionV3:
    """torch-fidelity's InceptionV3 returning the 2048-d pool features, on ``device``."""
    tensors = BytesIO()
    torch.save(fid_inception().load(), tensors)  # only tensors fpbench has read with weights_only=True
    tensors.seek(0)
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=tensors)
    return net.to(device)


def inception_features(x: torch.Tensor, device: str | torch.device | None = None) -> torch.Tensor:
    """(N, 2048) float32 CPU features of a canonical batch, quantised to 8 bits as torch-fidelity expects."""
    dev = torch.device(device) if device is not None else x.device
    net = inception(str(dev))
    out = []
    with torch.no_grad():
        for part in x.split(_BATCH):
            images = torch.from_numpy(to_uint8(part)).permute(0, 3, 1, 2).to(dev)
            out.append(net(images)[0].cpu())
    return torch.cat(out) if out else torch.zeros(0, 2048)


def _check_sizes(a: torch.Tensor, b: torch.Tensor, metric: str) -> None:
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"{metric} needs at least 2 images per set, got {len(a)} and {len(b)}")


def _covariance_factor(f: np.ndarray) -> np.ndarray:
    """A matrix F with F @ F.T equal to the sample covariance of the rows of ``f``."""
    n, d = f.shape
    if n <= d:  # rank <= n - 1: the centred samples themselves are a factor
        return (f - f.mean(0)).T / np.sqrt(n - 1)
    w, v = np.linalg.eigh(np.cov(f, rowvar=False))
    return v * np.sqrt(np.clip(w, 0.0, None))


def fid_from_features(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets.

    Same value as torch-fidelity's ``fid_statistics_to_metric``, computed through covariance factors
    (S1 = F1 F1^T, S2 = F2 F2^T, so tr sqrt(S1 S2) = nuclear norm of F1^T F2): exact, and seconds instead
    of the minute a general 2048x2048 eigendecomposition takes on a small CPU.
    """
    _check_sizes(a, b, "FID")
    fa, fb = a.double().numpy(), b.double().numpy()
    ca, cb = _covariance_factor(fa), _covariance_factor(fb)
    diff = fa.mean(0) - fb.mean(0)
    tr_covmean = np.linalg.svd(ca.T @ cb, compute_uv=False).sum()
    return float(diff @ diff + (ca**2).sum() + (cb**2).sum() - 2.0 * tr_covmean)


def kid_from_features(a: torch.Tensor, b: torch.Tensor, seed: int = 0) -> tuple[float, float, int]:
    """KID (mean, std over ``KID_SUBSETS`` random subsets) and the subset size, min(n_a, n_b, 1000)."""
    _check_sizes(a, b, "KID")
    size = min(len(a), len(b), KID_MAX_SUBSET)
    out = kid_features_to_metric(
        a.double(), b.double(), kid_subsets=KID_SUBSETS, kid_subset_size=size, rng_seed=seed, verbose=False
    )
    return float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD]), size


def fid(x: torch.Tensor, ref: torch.Tensor, device: str | torch.device | None = None) -> float:
    """FID between two canonical image sets (any sizes; each image is resized to 299 inside)."""
    return fid_from_features(inception_features(x, device), inception_features(ref, device))


def kid(
    x: torch.Tensor, ref: torch.Tensor, device: str | torch.device | None = None, seed: int = 0
) -> tuple[float, float, int]:
    """KID (mean, std, subset size) between two canonical image sets."""
    return kid_from_features(inception_features(x, device), inception_features(ref, device), seed)
