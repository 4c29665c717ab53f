"""Metrics: verification (ASR, PSR, ESR), thresholds at a FAR, 1:N top-k protection, image quality.

The registry of metric names, what rows they read and how tables show them is ``fpbench.metrics.registry``.

Every rate and mean comes as an ``Estimate`` (value, lo, hi, n) with a seeded percentile-bootstrap CI.
Image-quality metrics (LPIPS, FID/KID, SSIM, ...) load heavy libraries, so they are imported on first use.
"""
from importlib import import_module
from typing import Any

from .estimate import Estimate, clustered_rate_ci, mean_ci, rate_ci
from .identification import distractors_above, topk_flags, topk_hits, topk_protection
from .thresholds import NotEnoughScores, ThresholdEstimate, threshold_at_far
from .verification import ASR_FAR, ESR_FAR, PSR_FAR, asr, cosine, esr, psr, verified_correctly

_LAZY = {
    "fid": "fid", "kid": "fid", "lpips_distance": "perceptual", "lpips_model": "perceptual",
    "l1": "pixel", "mse": "pixel", "psnr": "pixel", "ssim": "pixel",
    "per_image_quality": "quality", "quality_metrics": "quality", "weights_provenance": "quality",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ASR_FAR", "ESR_FAR", "PSR_FAR", "Estimate", "NotEnoughScores", "ThresholdEstimate", "asr", "clustered_rate_ci",
    "cosine", "distractors_above", "esr", "mean_ci", "psr", "rate_ci", "threshold_at_far", "topk_flags", "topk_hits",
    "topk_protection", "verified_correctly", *_LAZY,
]
