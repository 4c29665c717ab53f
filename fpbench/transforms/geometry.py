"""Geometric processing: down-then-up resizing, random rotation, centre crop resized back."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import TRANSFORMS
from .family import ParamTransform, rand

#: The image side the ErasableMask paper crops from: ``crop224`` means a 224 / 256 centre crop.
PAPER_SIDE = 256


def resize_to(x: torch.Tensor, side: int) -> torch.Tensor:
    """Bilinear resize to ``side`` x ``side``, antialiased when shrinking (as PIL does)."""
    shrink = side < x.shape[-1]
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=shrink)


@TRANSFORMS.register("resize", "Shrink by a scale then resize back (bilinear, antialiased); resize0.5")
class Resize(ParamTransform):
    """Bilinear down-sampling to ``scale`` of the side, then back up to the original size."""

    family, param_name, default = "resize", "scale", 0.5

    def check(self, value: float) -> float:
        if not 0.0 < value <= 1.0:
            raise self._fail(value, "a scale in (0, 1] (e.g. resize0.5)")
        return value

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        side = x.shape[-1]
        small = max(1, round(side * self.param))
        return resize_to(resize_to(x, small), side).clamp(0.0, 1.0)


@TRANSFORMS.register("rotate", "Rotation by a random angle in [-a, a] degrees, black corners; rotate30")
class Rotate(ParamTransform):
    """Rotation about the centre by an angle drawn uniformly in [-a, a] per image (bilinear, zero fill)."""

    family, param_name, default = "rotate", "max_degrees", 30

    def check(self, value: float) -> float:
        if not 0.0 <= value <= 180.0:
            raise self._fail(value, "a maximum angle in [0, 180] degrees (e.g. rotate30)")
        return value

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        angles = (rand((x.shape[0],), generator, x) * 2.0 - 1.0) * math.radians(self.param)
        cos, sin, zero = angles.cos(), angles.sin(), torch.zeros_like(angles)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@TRANSFORMS.register("crop", "Centre crop of a fraction of the side, resized back; crop = crop224 = 224/256")
class CenterCrop(ParamTransform):
    """Keep the central ``fraction`` of the side and resize it back (bilinear).

    A parameter above 1 is a crop side in pixels of the paper's 256-pixel images: ``crop224`` = 0.875.
    """

    family, param_name, default = "crop", "fraction", 224 / PAPER_SIDE

    def __init__(self, param: float | None = None) -> None:
        super().__init__(param)
        if self.param == self.default:
            self.name = "crop"

    def check(self, value: float) -> float:
        fraction = value / PAPER_SIDE if value > 1.0 else value
        if not 0.0 < fraction <= 1.0:
            raise self._fail(value, f"a fraction in (0, 1] or a side in pixels up to {PAPER_SIDE} (e.g. crop224)")
        return fraction

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        side = x.shape[-1]
        keep = max(1, round(side * self.param))
        top = round((side - keep) / 2.0)
        return resize_to(x[..., top : top + keep, top : top + keep], side).clamp(0.0, 1.0)
