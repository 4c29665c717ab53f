"""``gap``: GAP's universal mask adapted to faces (spec A4.1), scope "universal".

``fit`` trains (or resumes, or loads from the cache) one generator per (settings, training manifest,
surrogates, seed) on the shared Trainer under ``FPBENCH_CACHE/methods/gap/<key>/``; ``universal_mask`` returns
the trained U, the same for everyone. The run card labels the row "GAP (face-adapted)" and lists every
departure from the official GAP code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from ...cache import file_sha256
from ...data.dataset import FaceDataset
from ...errors import BadInput
from ...training import Trainer, is_complete, read_card, unit_key, units_root
from ...zoo.integrity import state_dict_sha256
from ...zoo.model import FaceModel
from .. import METHODS
from ..base import Method, ProtectContext, TargetFace
from ..params import Integer, Param, Real, check_params
from .learner import CODE_VERSION, GapLearner
from .profiles import LABEL, Settings, departures, get_settings

PARAMS: dict[str, Param] = dict(
    ngf=Integer(1, 256, optional=True), blocks=Integer(0, 32, optional=True), batch=Integer(1, 4096, optional=True),
    steps=Integer(1, 10_000_000, optional=True), lr=Real(0, 1, optional=True), beta1=Real(0, 1, optional=True),
    linf=Real(0, 1, optional=True), seed=Integer(0),
)
SETTINGS = ("ngf", "blocks", "batch", "steps", "lr", "beta1", "linf")
#: CPU seconds per training step at the mini settings (batch 8, ngf 16, mobilefacenet surrogate), measured on
#: this project's 2-core machine while other jobs ran (80 steps in 47 s)
MINI_STEP_SECONDS = 0.6


def surrogate_ids(surrogates: Sequence[FaceModel]) -> list[dict[str, str]]:
    return [{"name": m.card.name, "weights_sha256": m.card.weights_sha256 or state_dict_sha256(m.backbone.state_dict())}
            for m in surrogates]


@METHODS.register("gap", "GAP (face-adapted, approximation): one universal mask from a generator on fixed noise, "
                         "trained to lower the surrogate's cosine similarity (spec A4.1)")
class GAP(Method):
    """Generative Adversarial Perturbations (Poursaeed et al. 2018), universal mode, face-adapted."""

    name = "gap"
    scope = "universal"
    needs = frozenset({"surrogates", "training"})
    goals = ("dodge",)
    run_options = frozenset({"profile", "seed"})
    default_surrogates = ("mobilefacenet",)
    defaults: dict[str, Any] = {**{k: None for k in SETTINGS}, "profile": "mini", "seed": 0}
    version = CODE_VERSION

    def __init__(self, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params), PARAMS)
        self.settings: Settings = get_settings(merged["profile"], {k: merged[k] for k in SETTINGS})
        super().__init__(**merged)
        self.progress = True
        self._mask: torch.Tensor | None = None
        self._checkpoint: tuple[Path, str] | None = None  # directory, sha256 of model.pt

    def card(self) -> dict[str, Any]:
        card = super().card()
        card.update(label=LABEL, approximation=True, settings=self.settings.to_dict(),
                    departures=departures(self.settings, self.params["profile"]))
        if self._checkpoint is not None:
            card["checkpoint"] = {"key": self._checkpoint[0].name, "sha256": self._checkpoint[1]}
        return card

    def plan(self, images: int, authorised: tuple[str, ...] = ()) -> str:
        """What fit will train and a rough time, printed before the run starts."""
        s = self.settings
        cost = s.steps * MINI_STEP_SECONDS * (s.batch / 8) * max(1.0, (s.ngf / 16) ** 2 / 4)
        return (f"gap ({self.params['profile']} profile, {LABEL}): one universal mask from a ResnetGenerator (ngf "
                f"{s.ngf}, {s.blocks} blocks), {s.steps} steps x batch {s.batch} of training faces, L-inf "
                f"{s.linf * 255:.3g}/255: about {cost / 60:.1f} CPU-min unless cached; then {images} test photos "
                "are masked and scored")

    # ------------------------------------------------------------------------------------------- fit
    def checkpoint_dir(self, train: FaceDataset, surrogates: Sequence[FaceModel]) -> Path:
        key = unit_key({"settings": self.settings.to_dict(), "manifest": train.manifest_sha256,
                        "surrogates": surrogate_ids(surrogates), "seed": self.params["seed"],
                        "size": self.image_size, "code": CODE_VERSION})
        return units_root("gap") / key

    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device | str,
            target: TargetFace | None = None) -> None:
        """Train U on ``train`` (split train only), or load it when this exact training is cached."""
        if not surrogates:
            raise BadInput("gap needs a white-box surrogate (--surrogate NAME)")
        if not train.records:
            raise BadInput(f"dataset {train.name!r} has no training faces (split 'train') for gap to learn from")
        directory = self.checkpoint_dir(train, surrogates)
        if not is_complete(directory, GapLearner.result_name):
            learner = GapLearner(self.settings, train, surrogates, self.params["seed"], device, self.image_size)
            meta = {"method": "gap", "label": LABEL, "profile": self.params["profile"], "dataset": train.name,
                    "manifest_sha256": train.manifest_sha256, "surrogates": surrogate_ids(surrogates),
                    "departures": departures(self.settings, self.params["profile"])}
            Trainer(learner, directory, self.params["seed"], meta=meta, progress=self.progress).run()
        path = directory / GapLearner.result_name
        blob = torch.load(path, map_location="cpu", weights_only=True)
        self._mask = blob["mask"]
        self._checkpoint = (directory, file_sha256(path))

    def fitted_state(self, target_id: str = "") -> dict[str, Any]:
        return {"checkpoint_sha256": self._fitted()[1]}

    def _fitted(self) -> tuple[Path, str]:
        if self._checkpoint is None:
            raise BadInput("gap has no trained mask yet: call fit(train, surrogates, device) first")
        return self._checkpoint

    def training_card(self) -> dict[str, Any] | None:
        """The Trainer's card of the checkpoint in use (loss curve, wall time), None before fit."""
        return read_card(self._checkpoint[0]) if self._checkpoint else None

    # --------------------------------------------------------------------------------------- protect
    def universal_mask(self, ctx: ProtectContext) -> torch.Tensor:
        self._fitted()
        return self._mask.clone()
