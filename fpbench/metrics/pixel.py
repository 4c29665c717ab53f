"""Per-image pixel-level quality: L1, MSE, PSNR (data range 1) and SSIM, each of x against ref."""
from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import structural_similarity

#: SSIM settings of Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, population statistics.
SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 1.0}


def _pair(x: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.shape != ref.shape or x.ndim != 4:
        shapes = f"{tuple(x.shape)} and {tuple(ref.shape)}"
        raise ValueError(f"quality metrics need two (N, C, H, W) batches of one shape, got {shapes}")
    return x.detach().to(torch.float64), ref.detach().to(device=x.device, dtype=torch.float64)


def l1(x: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """Mean absolute difference per image."""
    a, b = _pair(x, ref)
    return (a - b).abs().flatten(1).mean(1).cpu().numpy()


def mse(x: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """Mean squared difference per image."""
    a, b = _pair(x, ref)
    return (a - b).pow(2).flatten(1).mean(1).cpu().numpy()


def psnr(x: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB for [0, 1] images (inf for identical images)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(1.0 / mse(x, ref))


def ssim(x: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    """Structural similarity per image (scikit-image, ``SSIM_SETTINGS``, mean over colour channels)."""
    a, b = (t.cpu().numpy() for t in _pair(x, ref))
    return np.array([structural_similarity(p, q, channel_axis=0, **SSIM_SETTINGS) for p, q in zip(a, b)])
