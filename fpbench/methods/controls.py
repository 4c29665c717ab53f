"""Controls for the identify protocol (spec A6.2): a random person mask, which at the same L2 norm as the
methods (``--mask-l2 4.706``) must protect about as little as no mask."""
from __future__ import annotations

import torch

from . import METHODS
from .base import Method, ProtectContext


@METHODS.register("random-mask", "Control: one uniformly random mask per person (use with --mask-l2, e.g. 4.706)")
class RandomMask(Method):
    """Uniform noise in [-8/255, 8/255] per value, one draw per person from the run's seeded generator."""

    name = "random-mask"
    scope = "person"
    goals = ("dodge",)

    def person_mask(self, images: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        return (torch.rand(images.shape[1:], generator=ctx.generator) * 2 - 1) * (8 / 255)
