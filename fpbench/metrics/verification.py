"""1:1 verification outcomes: impersonation (ASR), dodging / protection (PSR) and erasion (ESR).

Each takes the cosine similarities of the pairs that matter and a threshold ``tau`` calibrated at a FAR:

* ASR (ErasableMask eq. 17): impersonation succeeds when cos(FR(x_adv), FR(x_target)) > tau, with tau
  at FAR = 0.01 (``ASR_FAR``).
* PSR: protection (dodging) succeeds when cos(FR(x_adv), FR(x_ref of the same person)) < tau.
* ESR (eq. 18): erasion succeeds when the restored image no longer matches the target,
  cos(FR(x_rec), FR(x_target)) < tau, with tau at FAR = 0.1 (``ESR_FAR``). The paper says tau_1 is
  "0.01 times the FAR" and tau_2 "0.1 times the FAR"; read the same way for both (the model's threshold
  at FAR 0.01, resp. 0.1, of the FAR 0.1/0.01/0.001 triplets the paper's models come with), tau_2 is the
  FAR-0.1 threshold. It is the lowest of the three, so for a "< tau" criterion it is also the strictest:
  erasion only counts when the restored face is not even accepted at a lenient 10% FAR. The FAR-0.001
  threshold would be the most lenient reading, so fpbench does not take it.
"""
from __future__ import annotations

import numpy as np
import torch

from .estimate import Estimate, rate_ci

ASR_FAR = 0.01
ESR_FAR = 0.1
PSR_FAR = 0.01


def as_numpy(a: np.ndarray | torch.Tensor) -> np.ndarray:
    """float64 numpy copy of an array or tensor (any device, gradients dropped)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


def normalize_rows(a: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("an embedding is all zeros: its cosine similarity is undefined")
    return a / norms


def cosine(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) embedding arrays -> (N,) float64."""
    a, b = as_numpy(a), as_numpy(b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"cosine needs two (N, D) arrays of the same shape, got {a.shape} and {b.shape}")
    return (normalize_rows(a) * normalize_rows(b)).sum(axis=1)


def asr(sim: np.ndarray | torch.Tensor, tau: float, **bootstrap) -> Estimate:
    """Impersonation success rate: share of cos(adv, target) above ``tau``."""
    return rate_ci(as_numpy(sim) > tau, **bootstrap)


def psr(sim: np.ndarray | torch.Tensor, tau: float, **bootstrap) -> Estimate:
    """Protection (dodging) success rate: share of cos(adv, same-person reference) below ``tau``."""
    return rate_ci(as_numpy(sim) < tau, **bootstrap)


def esr(sim: np.ndarray | torch.Tensor, tau: float, **bootstrap) -> Estimate:
    """Erasion success rate: share of cos(restored, target) below ``tau`` (take tau at ``ESR_FAR``)."""
    return rate_ci(as_numpy(sim) < tau, **bootstrap)


def verified_correctly(sim: np.ndarray | torch.Tensor, tau: float, label: np.ndarray) -> np.ndarray:
    """Per pair: whether a model decided it right, (cos > ``tau``) == ``label`` (1 genuine, 0 impostor pair).

    The ``correct`` column of the authorise protocol (PMT): its share is the metric ``accuracy``.
    """
    return (as_numpy(sim) > tau) == np.asarray(label).astype(bool)
