"""Per-pixel and local filters: identity, additive Gaussian noise, median filter."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..images import check_canonical
from .base import TRANSFORMS, Transform
from .family import ParamTransform, TransformError, randn


@TRANSFORMS.register("identity", "No processing: the image as the protector released it")
class Identity(Transform):
    """No processing."""

    name = "identity"

    def __init__(self, param: float | None = None) -> None:
        if param is not None:
            raise TransformError("identity takes no parameter; write it as 'identity'")

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return check_canonical(x)

    def differentiable(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x


@TRANSFORMS.register("gauss", "Additive Gaussian noise of a variance on [0, 1] images, clipped; gauss0.003")
class GaussianNoise(ParamTransform):
    """``clip(x + N(0, variance))`` with the noise drawn from the generator."""

    family, param_name, default = "gauss", "variance", 0.003

    def check(self, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise self._fail(value, "a variance in [0, 1] (e.g. gauss0.003)")
        return value

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        noise = randn(tuple(x.shape), generator, x) * self.param**0.5
        return (x + noise).clamp(0.0, 1.0)


@TRANSFORMS.register("median", "Median filter over a square window (reflect padding); median5")
class MedianFilter(ParamTransform):
    """Per-channel median over a ``kernel`` x ``kernel`` window, borders reflected."""

    family, param_name, default = "median", "kernel", 5

    def check(self, value: float) -> float:
        if value < 1 or value != int(value) or int(value) % 2 == 0:
            raise self._fail(value, "an odd integer kernel size >= 1 (e.g. median5)")
        return value

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        k = int(self.param)
        pad = k // 2
        out = []
        for img in x.split(1):  # one image at a time keeps the k*k unfolded copy small
            padded = F.pad(img, (pad, pad, pad, pad), mode="reflect") if pad else img
            windows = padded.unfold(2, k, 1).unfold(3, k, 1)
            out.append(windows.reshape(*windows.shape[:4], k * k).median(dim=-1).values)
        return torch.cat(out) if out else x
