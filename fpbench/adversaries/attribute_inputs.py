"""What the human library feeds its attribute networks, from fpbench's canonical image (RGB [0, 1], NCHW).

TensorFlow.js resizes with ``tf.image.resizeBilinear(image, size, alignCorners=false)`` (TF's legacy sampling:
source = destination x in/out, no half-pixel offset) and GEAR crops with ``tf.image.cropAndResize`` (source =
y1 (H - 1) + i (y2 - y1) (H - 1) / (size - 1)); both interpolate along x, then along y. The outputs are NHWC.
"""
from __future__ import annotations

import torch

#: human's rgb2gray weights (emotion.ts, gender.ts)
GRAY = (0.2989, 0.5870, 0.1140)
#: GEAR's crop of the face box, (top, left, bottom, right) as fractions (human gear.ts)
GEAR_BOX = (0.0, 0.10, 0.90, 0.90)


def _sample(x: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of NCHW ``x`` at source rows ``ys`` and columns ``xs`` (in pixels), as NHWC."""
    h, w = x.shape[-2:]
    y0, x0 = ys.floor().long().clamp(0, h - 1), xs.floor().long().clamp(0, w - 1)
    y1, x1 = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
    fy, fx = (ys - ys.floor()).to(x)[:, None], (xs - xs.floor()).to(x)
    top = x[..., y0, :][..., x0] + (x[..., y0, :][..., x1] - x[..., y0, :][..., x0]) * fx
    bottom = x[..., y1, :][..., x0] + (x[..., y1, :][..., x1] - x[..., y1, :][..., x0]) * fx
    return (top + (bottom - top) * fy).permute(0, 2, 3, 1)


def resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """``tf.image.resizeBilinear(x, [size, size], false)`` of an NCHW batch, NHWC out."""
    h, w = x.shape[-2:]
    grid = torch.arange(size, dtype=torch.float64)
    return _sample(x, grid * (h / size), grid * (w / size))


def crop_and_resize(x: torch.Tensor, box: tuple[float, float, float, float], size: int) -> torch.Tensor:
    """``tf.image.cropAndResize(x, [box], [0...], [size, size])`` (bilinear) of an NCHW batch, NHWC out."""
    h, w = x.shape[-2:]
    top, left, bottom, right = box
    grid = torch.arange(size, dtype=torch.float64) / (size - 1)
    return _sample(x, top * (h - 1) + grid * (bottom - top) * (h - 1), left * (w - 1) + grid * (right - left) * (w - 1))


def gray_centred(x: torch.Tensor, size: int) -> torch.Tensor:
    """emotion / gender (mini-Xception) input: resize, weighted grayscale, (g - 0.5) x 2 in [-1, 1]; NHWC 1."""
    r = resize_bilinear(x, size)
    g = r[..., 0:1] * GRAY[0] + r[..., 1:2] * GRAY[1] + r[..., 2:3] * GRAY[2]
    return (g - 0.5) * 2


def gear_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """GEAR input: the crop ``GEAR_BOX`` resized to ``size``, RGB [0, 1]; NHWC."""
    return crop_and_resize(x, GEAR_BOX, size)


def ssrnet_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """SSR-Net input: resize, RGB scaled to [0, 255]; NHWC."""
    return resize_bilinear(x, size) * 255.0
