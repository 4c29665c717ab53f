"""``pmt`` and ``mr-pmt``: x~ for the authorised model(s) of the run (``--authorised``), scope "image".

The methods differentiate only through the authorised models' shallow parts E_c (``fpbench.zoo.split``), which
the runner supplies as ``ctx.authorised``; there are no surrogates and the unauthorised targets are never seen.
``features(x_tilde, ctx)`` gives z~ = E_c(x~) for the feature-upload case (one tensor per authorised model).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from ...errors import BadInput
from ...zoo.model import FaceModel
from ...zoo.split import DEFAULT_UNITS, Shallow, split
from .. import METHODS
from ..base import Method, ProtectContext
from ..params import Choice, Flag, Integer, Param, Real, check_params
from .algorithm import AUGMENTS, INITS, KERNELS, obfuscate
from .profiles import departures, get_settings

PARAMS: dict[str, Param] = dict(
    steps=Integer(1, 100_000, optional=True), alpha=Real(0, 1, optional=True), alpha_end=Real(0, 1, optional=True),
    init=Choice(INITS, optional=True), augment=Choice(AUGMENTS, optional=True),
    noise_std=Real(0, 1, optional=True), aggregate=Flag(optional=True), pool=Integer(1, 8, optional=True),
    kernel=Choice(KERNELS, optional=True), kernel_length=Integer(0, 7, optional=True),
    blur_sigma=Real(0.1, 50, optional=True), units=Integer(1, 50), normalise=Flag(optional=True),
)
#: CPU seconds per image and step of the optimisation through each model's E_c (one thread, this project's
#: 2-core build machine, measured with fpbench.methods.pmt.algorithm.obfuscate at the mini settings)
STEP_SECONDS = {"mobilefacenet": 0.031, "mfn512": 0.018, "sface": 0.064, "dlib-resnet29": 0.010,
                "hse-faceres": 0.051, "hse-faceres-deep": 0.051, "mobileface256": 0.005}
SETTINGS = ("steps", "alpha", "alpha_end", "init", "augment", "noise_std", "aggregate", "pool", "kernel",
            "kernel_length", "blur_sigma", "normalise")


@METHODS.register("pmt", "PMT: noise-like image whose shallow features match the authorised model's (one model)")
class PMT(Method):
    """Privacy Minimization Transformation (Pu et al. 2023), Algorithm 1 + Algorithm 2, one authorised
    model (``--authorised NAME``). Parameters override the profile (mini / paper, see ``profiles``)."""

    name = "pmt"
    goals = ("dodge",)
    scope = "image"
    run_options = frozenset({"profile"})
    defaults: dict[str, Any] = {**{k: None for k in SETTINGS}, "units": DEFAULT_UNITS, "profile": "mini"}
    squared = True  # eq. 7; MR-PMT's eq. 8 sums plain L2 distances
    version = "1"

    def __init__(self, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params), PARAMS)
        if self.squared and merged.get("normalise"):
            raise BadInput(f"{self.name} parameter normalise applies to mr-pmt only")
        self.settings = get_settings(merged["profile"], {**{k: merged[k] for k in SETTINGS}, "squared": self.squared})
        super().__init__(**merged)
        self._splits: dict[int, Shallow] = {}

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["settings"] = asdict(self.settings)
        card["departures"] = departures(self.settings, self.params["profile"])
        return card

    def plan(self, images: int, authorised: tuple[str, ...]) -> str:
        """What the run will optimise and a rough time, printed before it starts."""
        steps = self.settings.steps
        known = [STEP_SECONDS.get(name.split(":")[0].split("[")[0]) for name in authorised]
        cost = sum(c if c is not None else max(STEP_SECONDS.values()) for c in known)
        return (f"{self.name} ({self.params['profile']} profile): {images} images x {steps} steps through the shallow "
                f"part of {', '.join(authorised) or 'the authorised model'}: about {images * steps * cost / 60:.1f} "
                "CPU-min of optimisation (measured per model on one thread; longer on a busy machine), then scoring")

    def shallow(self, model: FaceModel) -> Shallow:
        """E_c of ``model`` (its first ``units`` units), made once per model."""
        if id(model) not in self._splits:
            self._splits[id(model)] = split(model, int(self.params["units"]))[0]
        return self._splits[id(model)]

    def _shallows(self, ctx: ProtectContext) -> list[Shallow]:
        models = list(ctx.authorised)
        if not models:
            raise BadInput(f"{self.name} needs an authorised local model: run it with --protocol authorise "
                           "--authorised TARGET (a zoo model among the --target names)")
        if self.squared and len(models) > 1:
            raise BadInput(f"pmt protects for one authorised model, got {len(models)} "
                           f"({', '.join(m.card.name for m in models)}): use --method mr-pmt for several")
        return [self.shallow(m) for m in models]

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        return obfuscate(x.to(ctx.device), self._shallows(ctx), self.settings, ctx.generator)

    def features(self, x_tilde: torch.Tensor, ctx: ProtectContext) -> list[torch.Tensor]:
        """z~ = E_c(x~) of every authorised model: what a user uploads in the feature-upload case."""
        with torch.no_grad():
            return [m(x_tilde.to(ctx.device)) for m in self._shallows(ctx)]


@METHODS.register("mr-pmt", "MR-PMT: one PMT image for several authorised models (eq. 8, sum of L2 distances)")
class MRPMT(PMT):
    """MR-PMT (eq. 8): one x~ for every model named by ``--authorised a,b,...``; ``normalise=true`` [extra]
    divides each model's distance by ||z_m||_2."""

    name = "mr-pmt"
    squared = False
