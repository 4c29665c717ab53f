"""What the AdvCloak family's methods share: the profile, fitting (train, resume or load the cached stage-I and
stage-II generators), the person mask of spec A2.6, the plan printed before a run, and the card."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Sequence

import torch

from ...cache import file_sha256
from ...data.dataset import FaceDataset
from ...errors import BadInput
from ...images import check_canonical
from ...training import is_complete
from ...zoo.model import FaceModel
from ..base import Method, ProtectContext, TargetFace
from ..params import Integer, Param, Real, check_params
from .data import TrainFaces
from .networks import SIZE, Generator
from .profiles import ADVFACES, MASK_L2, MINI, Profile, departures, get_profile, step_seconds
from .train import (
    CODE_VERSION, RESULT, ClassStage, ImageStage, load_generator, run_stage, stage1_blob, stage1_dir, stage2_dir,
    surrogate_ids,
)

#: The spec's mini surrogate (A5.3): one embedded ArcFace-style model (IR-50 CASIA sources are not available).
DEFAULT_SURROGATE = ("mobilefacenet",)

#: profile settings a run may override (``--param stage1_lr=1e-3``); the card lists them as departures
OVERRIDES = ("stage1_lr", "stage2_lr", "stage1_steps", "stage2_steps")
PARAMS: dict[str, Param] = dict(
    seed=Integer(0), stage1_lr=Real(0, 1, optional=True),
    stage2_lr=Real(0, 1, optional=True), stage1_steps=Integer(1, 10**7, optional=True),
    stage2_steps=Integer(1, 10**7, optional=True),
)


def rescale(p: torch.Tensor, l2: float = MASK_L2) -> torch.Tensor:
    """Each perturbation of ``p`` (N, 3, H, W) scaled to L2 norm ``l2`` exactly (the code's ``projcet_function``)."""
    return p * (l2 / p.flatten(1).norm(dim=1).clamp_min(1e-12)).view(-1, 1, 1, 1)


class GeneratorMethod(Method):
    """Base of the AdvCloak family; subclasses set ``name``, ``scope``, ``stage`` (1: the stage-I generator,
    2: a stage-II one) and ``loss`` (the stage-II variant)."""

    needs = frozenset({"surrogates", "training"})
    goals = ("dodge",)
    scope = "person"
    run_options = frozenset({"profile", "seed"})
    default_surrogates = DEFAULT_SURROGATE
    version = CODE_VERSION
    image_size = SIZE
    stage: ClassVar[int] = 2
    loss: ClassVar[str] = "cos"

    defaults: dict[str, Any] = {"profile": "mini", "seed": 0, **{k: None for k in OVERRIDES}}

    def __init__(self, progress: bool = True, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params), PARAMS)
        overrides = {k: merged[k] for k in OVERRIDES if merged[k] is not None}
        for stage in ("stage1", "stage2"):  # a step count replaces the profile's epochs
            if f"{stage}_steps" in overrides:
                overrides[f"{stage}_epochs"] = None
        self.profile: Profile = replace(get_profile(merged["profile"]), **overrides)
        super().__init__(**merged)
        self.progress = progress
        self._generator: Generator | None = None
        self._checkpoints: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------------------------------- fit
    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device | str,
            target: TargetFace | None = None) -> None:
        """Train (or resume, or load from the cache) stage I, then this method's stage-II variant."""
        if self._generator is not None:
            return
        if not surrogates:
            raise BadInput(f"{self.name} needs a white-box surrogate (--surrogate NAME)")
        seed, p = self.params["seed"], self.profile
        surr = surrogate_ids(surrogates)
        meta = {"dataset": train.name, "manifest_sha256": train.manifest_sha256, "surrogates": surr}
        faces: list[TrainFaces] = []  # built only when something trains

        def data() -> TrainFaces:
            if not faces:
                faces.append(TrainFaces.from_dataset(train, p, seed))
            return faces[0]

        d1 = stage1_dir(p, train.manifest_sha256, surr, seed)
        if not is_complete(d1, RESULT):
            run_stage(ImageStage(p, data(), surrogates, seed, device), d1, meta, self.progress)
        path = d1 / RESULT
        self._record("stage1", path)
        if self.stage == 2:
            d2 = stage2_dir(p, train.manifest_sha256, surr, seed, self.loss, file_sha256(path))
            if not is_complete(d2, RESULT):
                learner = ClassStage(p, data(), surrogates, seed, device, self.loss, stage1_blob(path))
                run_stage(learner, d2, {**meta, "stage1_sha256": file_sha256(path)}, self.progress)
            path = d2 / RESULT
            self._record(f"stage2-{self.loss}", path)
        self._generator = load_generator(path, device)
        self._sha256 = file_sha256(path)

    def _record(self, stage: str, path: Path) -> None:
        self._checkpoints[stage] = {"directory": str(path.parent), "sha256": file_sha256(path)}

    def fitted_state(self, target_id: str = "") -> dict[str, Any]:
        """The sha256 of the generator's checkpoint (and so of its training data, surrogates and profile)."""
        return {"generator_sha256": self._trained()[1]}

    def _trained(self) -> tuple[Generator, str]:
        if self._generator is None:
            raise BadInput(f"{self.name} has no trained generator yet: call fit(train, surrogates, device) first")
        return self._generator, self._sha256

    # ------------------------------------------------------------------------------------ protection
    @torch.no_grad()
    def perturbations(self, x: torch.Tensor, device: torch.device) -> torch.Tensor:
        """G(x) of canonical 112 px images, on the CPU."""
        check_canonical(x)
        if x.shape[-1] != SIZE:
            raise BadInput(f"{self.name} works on {SIZE} px canonical crops, got {x.shape[-1]} px")
        generator = self._trained()[0].to(device)
        return generator(x.to(device)).cpu()

    def person_mask(self, images: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        """M = mean_k G(x_k) over the person's inference photos, rescaled to L2 = 4.706 (spec A2.6)."""
        mask = self.perturbations(images, ctx.device).mean(0, keepdim=True)
        return rescale(mask)[0]

    # ---------------------------------------------------------------------------------------- report
    def card(self) -> dict[str, Any]:
        card = super().card()
        card["generator"] = ("stage I (image-specific training)" if self.stage == 1
                             else f"stage II (person-specific training, loss {self.loss})")
        card["mask_l2"] = f"{MASK_L2:.4f} ([0, 1] units; 1200 on 0-255), every mask rescaled to it exactly"
        card["profile"] = self.profile.to_dict()
        m = MINI
        card["profiles"] = (f"mini: ngf {m.ngf}, stage I {m.stage1_steps} steps x {m.stage1_batch} faces, stage II "
                            f"{m.stage2_steps} steps x {m.identities} x {m.images} synthetic variants at lr "
                            f"{m.stage2_lr:g} (spec A5.3, with the departures listed); paper: spec A2 exactly (A5.4)")
        card["departures"] = departures(self.profile) + (list(ADVFACES) if self.stage == 1 else [])
        card["checkpoints"] = dict(self._checkpoints)
        return card

    def plan(self, images: int, authorised: tuple[str, ...] = ()) -> str:
        """What fitting will train (unless cached) and a rough CPU time, printed before a run starts."""
        p = self.profile
        parts = [f"stage I {_length(p.stage1_steps, p.stage1_epochs)} x {p.stage1_batch} faces "
                 f"(~{step_seconds(p, 1):.1f} CPU-s/step)"]
        if self.stage == 2:
            parts.append(f"stage II ({self.loss}) {_length(p.stage2_steps, p.stage2_epochs)} x {p.identities} x "
                         f"{p.images} images (~{step_seconds(p, 2):.1f} CPU-s/step)")
        fixed = [(p.stage1_steps, 1)] + ([(p.stage2_steps, 2)] if self.stage == 2 else [])
        if all(steps is not None for steps, _ in fixed):
            minutes = sum(steps * step_seconds(p, k) for steps, k in fixed) / 60
            estimate = f"about {minutes:.0f} CPU-min on 2 idle cores if nothing is cached"
        else:
            estimate = "epochs over the training set: GPU-hours (see the card)"
        return (f"{self.name} ({p.name} profile, ngf {p.ngf}): {'; '.join(parts)}: {estimate} (a cached generator "
                f"is loaded, not retrained; Ctrl-C saves, a re-run resumes); then one mask per person from their "
                f"inference photos, rescaled to L2 {MASK_L2:.3f}, for {images} test images")


def _length(steps: int | None, epochs: float | None) -> str:
    return f"{steps} steps" if steps is not None else f"{epochs:g} epochs of steps"


def image_masks(method: GeneratorMethod, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
    """Image-specific protection: x + G(x), each perturbation rescaled to L2 4.706, clipped to [0, 1]."""
    return (x + rescale(method.perturbations(x, ctx.device))).clamp(0, 1)
