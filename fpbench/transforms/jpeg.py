"""JPEG compression: the real codec (PIL / libjpeg) and a differentiable simulation of it.

The simulation follows DiffJPEG (Shin & Song 2017; Reich et al. 2024) and mirrors what PIL does by
default: JFIF RGB -> YCbCr, 4:2:0 chroma subsampling by 2x2 averaging, 8x8 orthonormal DCT, division by
the IJG quantisation tables scaled for the quality (baseline, clamped to [1, 255]), rounding, and the
inverse path with libjpeg's "fancy" chroma upsampling (triangular = bilinear at half-pixel offsets).
Rounding of the DCT coefficients is the smooth cubic ``round(z) + (z - round(z))**3`` so that gradients
flow; the decoder's final rounding to 8 bits is left out. Images are edge-padded to a multiple of 16.
"""
from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..images import check_canonical, from_uint8, to_uint8
from .base import TRANSFORMS
from .family import ParamTransform

# IJG / JPEG standard (Annex K) base quantisation tables.
_LUMA = [
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
]  # fmt: skip
_CHROMA = [
    [17, 18, 24, 47, 99, 99, 99, 99], [18, 21, 26, 66, 99, 99, 99, 99],
    [24, 26, 56, 99, 99, 99, 99, 99], [47, 66, 99, 99, 99, 99, 99, 99],
] + [[99] * 8] * 4  # fmt: skip

# JFIF colour conversion on 0..255 values (chroma offset 128).
_RGB_TO_YCC = [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
_YCC_TO_RGB = [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]


def quant_tables(quality: int) -> tuple[np.ndarray, np.ndarray]:
    """Luma and chroma tables libjpeg uses for ``quality`` (``jpeg_set_quality``, force_baseline)."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    tables = [np.clip(np.floor((np.array(t) * scale + 50) / 100), 1, 255) for t in (_LUMA, _CHROMA)]
    return tables[0], tables[1]


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """8x8 orthonormal DCT-II matrix D: coefficients = D @ block @ D.T (the JPEG DCT)."""
    k, n = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    d = np.sqrt(2 / 8) * np.cos((2 * n + 1) * k * np.pi / 16)
    d[0] /= np.sqrt(2)
    return d


def smooth_round(z: torch.Tensor) -> torch.Tensor:
    """Cubic rounding approximation with a non-zero gradient: ``round(z) + (z - round(z))**3``."""
    r = torch.round(z).detach()
    return r + (z - r) ** 3


def _blocks_quantised(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """DCT, quantise, dequantise and inverse DCT every 8x8 block of a (N, H, W) plane (H, W % 8 == 0)."""
    n, h, w = plane.shape
    d = torch.as_tensor(_dct_matrix(), dtype=plane.dtype, device=plane.device)
    blocks = plane.reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
    coeffs = d @ blocks @ d.T
    coeffs = smooth_round(coeffs / table) * table
    blocks = d.T @ coeffs @ d
    return blocks.permute(0, 1, 3, 2, 4).reshape(n, h, w)


def simulate_jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Differentiable JPEG round trip of a canonical batch at ``quality`` (see the module docstring)."""
    n, _, h, w = x.shape
    ph, pw = (-h) % 16, (-w) % 16
    v = F.pad(x * 255.0, (0, pw, 0, ph), mode="replicate") if ph or pw else x * 255.0
    to_ycc = torch.tensor(_RGB_TO_YCC, dtype=x.dtype, device=x.device)
    ycc = torch.einsum("ij,njhw->nihw", to_ycc, v)  # Y, Cb - 128, Cr - 128
    luma_t, chroma_t = (torch.as_tensor(t, dtype=x.dtype, device=x.device) for t in quant_tables(quality))
    y = _blocks_quantised(ycc[:, 0] - 128.0, luma_t) + 128.0
    chroma = F.avg_pool2d(ycc[:, 1:], 2).flatten(0, 1)
    chroma = _blocks_quantised(chroma, chroma_t).reshape(n, 2, (h + ph) // 2, (w + pw) // 2)
    chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
    to_rgb = torch.tensor(_YCC_TO_RGB, dtype=x.dtype, device=x.device)
    rgb = torch.einsum("ij,njhw->nihw", to_rgb, torch.cat([y.unsqueeze(1), chroma], 1))
    return (rgb[..., :h, :w] / 255.0).clamp(0.0, 1.0)


def pil_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode one HWC uint8 RGB image with PIL (libjpeg, default 4:2:0) and decode it again."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


@TRANSFORMS.register("jpeg", "JPEG compression at a quality factor (PIL/libjpeg); jpeg50")
class Jpeg(ParamTransform):
    """Real JPEG through PIL on 8-bit pixels; ``differentiable`` is ``simulate_jpeg`` (DiffJPEG-style)."""

    family, param_name, default = "jpeg", "quality", 50

    def check(self, value: float) -> float:
        if value != int(value) or not 1 <= value <= 100:
            raise self._fail(value, "an integer quality in 1..100 (e.g. jpeg50)")
        return value

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        images = to_uint8(check_canonical(x))
        decoded = np.stack([pil_jpeg(im, int(self.param)) for im in images]) if len(images) else images
        return from_uint8(decoded).to(x.device)

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return simulate_jpeg(x, int(self.param))
