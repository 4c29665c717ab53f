"""What the FIM / FI-UAP / OPOM methods share: typed parameters, the surrogate default and the card that lists
every departure from the official code (spec A4.3, A5.3)."""
from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

import torch

from ...errors import BadInput
from ..base import Method, ProtectContext
from ..params import MAX_STEPS, Flag, Integer, Param, Real, check_params
from .loop import LoopSettings, feature_iterative_mask

#: The spec's mini surrogate (A5.3): one embedded ArcFace-style model; the paper's IR-50 CASIA sources are
#: not available here (bring them with `fpbench zoo add` and pass --surrogate).
DEFAULT_SURROGATE = ("mobilefacenet",)

PARAMS: dict[str, Param] = dict(eps=Real(0, 1), alpha=Real(0, 1), steps=Integer(1, MAX_STEPS), random_start=Flag(),
                                warmup=Integer(0), lower=Real(0, 1), upper=Real(0, 1))

DEPARTURES = (
    "surrogate: an embedded zoo model (default mobilefacenet) instead of IR-50 trained on CASIA-WebFace with "
    "ArcFace/CosFace/Softmax (not obtainable here)",
    "several --surrogate models add their losses (the official code attacks one model)",
    "the random start is drawn from the run's seeded generator (the code calls torch.manual_seed(0))",
    "images are canonical [0, 1] ArcFace crops: eps and alpha are the code's 0-255 values divided by 255",
    "the mask is rescaled to an L2 norm only when the run passes --mask-l2 (AdvCloak's tables: 4.706 = 1200 "
    "on 0-255)",
)


class FeatureIterative(Method):
    """Base of the feature-iterative methods; subclasses set ``name``, ``scope``, ``loss`` and ``defaults``."""

    needs = frozenset({"surrogates"})
    goals = ("dodge",)
    default_surrogates = DEFAULT_SURROGATE
    loss: ClassVar[str] = "fi-uap"
    departures: ClassVar[tuple[str, ...]] = DEPARTURES
    defaults: dict[str, Any] = dict(eps=8 / 255, alpha=1 / 255, steps=16, random_start=True)

    def __init__(self, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params), PARAMS)
        if merged.get("lower", 0.0) > merged.get("upper", 1.0):
            raise BadInput(f"{self.name} parameters lower ({merged['lower']}) and upper ({merged['upper']}) "
                           "must satisfy lower <= upper")
        super().__init__(**merged)

    @property
    def settings(self) -> LoopSettings:
        known = {f.name for f in fields(LoopSettings)}
        return LoopSettings(loss=self.loss, **{k: v for k, v in self.params.items() if k in known})

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["loss"] = self.loss
        card["scale"] = "as published (eps 8/255, 16 steps of 1/255, random start; spec A4.3)"
        card["departures"] = list(self.departures)
        return card

    def _surrogates(self, ctx: ProtectContext) -> list:
        if not ctx.surrogates:
            raise BadInput(f"{self.name} needs a white-box surrogate (--surrogate NAME)")
        return list(ctx.surrogates)


class PersonSpecific(FeatureIterative):
    """One mask per person from their inference photos (FI-UAP, FI-UAP+, OPOM-*)."""

    scope = "person"

    def person_mask(self, images: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        eta = feature_iterative_mask(self._surrogates(ctx), images.to(ctx.device), self.settings, shared=True,
                                     generator=ctx.generator)
        return eta[0].cpu()
