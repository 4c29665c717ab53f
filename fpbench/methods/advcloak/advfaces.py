"""AdvFaces (Deb et al., IJCB 2020) as AdvCloak compares with it (spec A4.2): the stage-I generator alone,
image-specific (``advfaces``: p = G(x) per image) or averaged over a person's inference photos
(``advfaces-plus``, AdvFaces+: AdvCloak's mask procedure without stage II). Both reuse the cached stage I."""
from __future__ import annotations

import torch

from .. import METHODS
from ..base import ProtectContext
from .method import GeneratorMethod, image_masks


@METHODS.register("advfaces-plus", "AdvFaces+: person-specific mask = mean of the stage-I generator's "
                                   "perturbations of the inference photos (mask L2 4.706)")
class AdvFacesPlus(GeneratorMethod):
    name = "advfaces-plus"
    stage = 1


@METHODS.register("advfaces", "AdvFaces: image-specific perturbation of the stage-I generator, rescaled to L2 4.706 "
                              "per image")
class AdvFaces(GeneratorMethod):
    name = "advfaces"
    stage = 1
    scope = "image"

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        return image_masks(self, x, ctx)
