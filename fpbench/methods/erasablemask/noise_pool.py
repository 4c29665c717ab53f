"""The differentiable noise pool of section IV-D: one processing operation per training step, drawn from
{JPEG QF 50, Gaussian noise var 0.003, resize 1/4} (and "identity" when the profile allows it), applied to
the protected faces before the surrogates and the restorer see them."""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from ...transforms import make_transform

Channel = Callable[[torch.Tensor], torch.Tensor]


class NoisePool:
    """Draws one operation per step with the step's generator; ``names`` are fpbench transform names."""

    def __init__(self, names: Sequence[str], include_identity: bool) -> None:
        self.names = (("identity",) if include_identity else ()) + tuple(names)
        self._ops = {n: make_transform(n) for n in self.names}

    def draw(self, generator: torch.Generator) -> tuple[str, Channel]:
        """This step's operation: its name and a differentiable map of canonical [0, 1] batches. Random
        operations draw from ``generator`` at every call."""
        name = self.names[int(torch.randint(len(self.names), (), generator=generator))]
        op = self._ops[name]
        return name, lambda x: op.differentiable(x, generator)
