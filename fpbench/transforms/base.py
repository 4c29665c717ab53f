"""The processing channel between protection and recognition: canonical images -> canonical images."""
from __future__ import annotations

import torch

from ..registry import Registry


class Transform:
    """One image-processing operation (JPEG, noise, resize, ...), seeded where it is random.

    ``__call__`` is the real operation used at evaluation; ``differentiable`` is a version that methods can
    optimise through (default: straight-through, real forward and identity gradient).
    """

    name: str = ""

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def differentiable(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x + (self(x.detach(), generator) - x).detach()

    def card(self) -> dict:
        return {"transform": self.name}


#: Transform families: ``make_transform("jpeg50")`` calls the ``jpeg`` factory with the parameter 50.
TRANSFORMS: Registry = Registry("transform", "fpbench.transforms")
