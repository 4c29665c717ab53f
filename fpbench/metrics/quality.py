"""All image-quality metrics of protected images against their originals, and the weights behind them."""
from __future__ import annotations

from importlib.metadata import version

import pandas as pd
import torch

from . import pixel
from .estimate import Estimate, mean_ci
from .fid import fid_from_features, inception_features, kid_from_features
from .perceptual import lpips_distance
from .weights import fid_inception, lpips_backbone


def per_image_quality(x: torch.Tensor, ref: torch.Tensor, *, device: str | torch.device | None = None) -> pd.DataFrame:
    """One row per image pair with columns l1, mse, psnr, ssim, lpips (``x`` against ``ref``)."""
    return pd.DataFrame(
        {
            "l1": pixel.l1(x, ref),
            "mse": pixel.mse(x, ref),
            "psnr": pixel.psnr(x, ref),
            "ssim": pixel.ssim(x, ref),
            "lpips": lpips_distance(x, ref, device),
        }
    )


def quality_metrics(
    x: torch.Tensor,
    ref: torch.Tensor,
    *,
    fid: bool = True,
    device: str | torch.device | None = None,
    seed: int = 0,
) -> dict[str, Estimate | float | int]:
    """Per-image means with bootstrap CIs (l1, mse, psnr, ssim, lpips) and set-level fid / kid.

    ``x`` and ``ref`` are paired canonical batches (protected, original). FID/KID compare the two sets:
    ``n`` says how many images they rest on; ``kid_subset_size`` is min(n, 1000).
    """
    per_image = per_image_quality(x, ref, device=device)
    out: dict[str, Estimate | float | int] = {k: mean_ci(per_image[k].to_numpy(), seed=seed) for k in per_image}
    if fid:
        fx, fr = inception_features(x, device), inception_features(ref, device)
        out["fid"] = fid_from_features(fx, fr)
        out["kid"], out["kid_std"], out["kid_subset_size"] = kid_from_features(fx, fr, seed)
        out["n"] = len(x)
    return out


def weights_provenance(*, fid: bool = True) -> dict[str, dict]:
    """What the perceptual metrics were computed with, for run cards (fetches/converts if needed)."""
    card = {
        "lpips": {
            "net": "alex", "version": "0.1", "package": f"lpips {version('lpips')}",
            "linear_layers": "lpips package weights/v0.1/alex.pth", "backbone": lpips_backbone().card(),
        },
        "ssim": {"library": f"scikit-image {version('scikit-image')}", **pixel.SSIM_SETTINGS},
    }  # fmt: skip
    if fid:
        card["fid"] = {
            "package": f"torch-fidelity {version('torch-fidelity')}", "feature": "2048 (pool3)",
            "inception": fid_inception().card(), "inception_score": "unavailable: the Inception has no logits",
        }  # fmt: skip
    return card
