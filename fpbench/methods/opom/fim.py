"""FIM (Zhong & Deng, TIFS 2020) as AdvCloak's Table 3 runs it: image-specific masks from the FI-UAP loop with
K = 1 (each image its own gradient and perturbation). Settings are FI-UAP's (Linf 8/255, 16 steps of 1/255,
random start) — a decision of the spec (A4.3, Part D 7), since FIM's own settings are in its paper."""
from __future__ import annotations

import torch

from .. import METHODS
from ..base import ProtectContext
from .base import DEPARTURES, FeatureIterative
from .loop import feature_iterative_mask


@METHODS.register("fim", "FIM: image-specific feature-iterative mask (FI-UAP loop with K = 1; Linf 8/255, 16 steps)")
class FIM(FeatureIterative):
    name = "fim"
    scope = "image"
    loss = "fi-uap"
    departures = (*DEPARTURES, "FIM's own step count and budget are assumed equal to FI-UAP's (spec Part D 7)")

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        x = x.to(ctx.device)
        eta = feature_iterative_mask(self._surrogates(ctx), x, self.settings, shared=False, generator=ctx.generator)
        return (x + eta).clamp(0, 1).cpu()
