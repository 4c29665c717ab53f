"""The canonical image space shared by every fpbench component.

A *canonical image batch* is a ``torch.float32`` tensor of shape ``(N, 3, S, S)``:

* colour order **RGB**, values in **[0, 1]**, layout **NCHW**;
* each image is a face crop aligned to the **ArcFace 5-point template** (``ARCFACE_TEMPLATE_112``
  scaled by ``S / 112``); ``S`` is set by the protocol (112 by default, 256 for generator methods).

Datasets produce it, methods and transforms map it to itself, and every face recognition model takes it
and does its own resizing, colour reordering and normalisation (see ``fpbench.zoo.spec.InputSpec``).
Nothing else crosses component boundaries.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .cache import atomic_path
from .errors import BadInput

#: ArcFace / insightface 5-point template (left eye, right eye, nose tip, left and right mouth corners)
#: for a 112x112 crop, in pixel coordinates (x, y).
ARCFACE_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


class ImageError(BadInput):
    """An image file that cannot be read as a picture."""


def arcface_template(size: int) -> np.ndarray:
    """The 5-point ArcFace template for a ``size`` x ``size`` crop."""
    return ARCFACE_TEMPLATE_112 * (size / 112.0)


def check_canonical(x: torch.Tensor) -> torch.Tensor:
    """Raise ``ValueError`` unless ``x`` is a canonical batch (float32 NCHW RGB in [0, 1], square)."""
    if x.dtype != torch.float32 or x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != x.shape[3]:
        raise ValueError(f"expected a float32 (N, 3, S, S) RGB batch, got {tuple(x.shape)} {x.dtype}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("canonical images must lie in [0, 1]")
    return x


def from_uint8(arr: np.ndarray) -> torch.Tensor:
    """HWC or NHWC uint8 RGB array -> canonical NCHW float batch."""
    t = torch.from_numpy(np.array(arr, copy=True))
    if t.ndim == 3:
        t = t.unsqueeze(0)
    return t.permute(0, 3, 1, 2).float().div(255.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Canonical batch -> NHWC uint8 RGB array (round half to even, as PIL and OpenCV do)."""
    return x.detach().clamp(0, 1).mul(255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round a canonical batch to the 8-bit grid, as saving it to PNG would."""
    return x.detach().clamp(0, 1).mul(255.0).round().div(255.0)


def read_image(path: str | Path) -> np.ndarray:
    """Read any image file as an HWC uint8 RGB array; one-line ``ImageError`` if it is not an image or is too
    large to decode safely (PIL's decompression-bomb limit)."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except Image.DecompressionBombError as e:
        raise ImageError(f"cannot read image {path}: too large to decode safely ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ImageError(f"cannot read image {path}: {e}") from None


def write_png(path: str | Path, x: torch.Tensor) -> None:
    """Write one canonical image (3, S, S) or (1, 3, S, S) to ``path`` as an 8-bit PNG.

    The file appears whole or not at all, so a parallel reader never sees a half-written PNG.
    """
    with atomic_path(path) as tmp:
        Image.fromarray(to_uint8(x if x.ndim == 4 else x.unsqueeze(0))[0]).save(tmp, format="PNG")


def load_png(path: str | Path) -> torch.Tensor:
    """Read an image file written by ``write_png`` as a canonical (3, S, S) tensor."""
    return from_uint8(read_image(path))[0]


def tensor_sha256(x: torch.Tensor) -> str:
    """Content hash of a tensor's values (dtype, shape and bytes), used as a cache key."""
    t = x.detach().to("cpu").contiguous()
    h = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.numpy().tobytes())
    return h.hexdigest()
