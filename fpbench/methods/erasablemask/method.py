"""ErasableMask as an fpbench method: fit (train or load a cached model per target), protect, restore; each
row is routed to the model of its target by the target's record id (``ProtectContext.target_ids``)."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import torch

from ...data.dataset import FaceDataset
from ...errors import BadInput
from ...images import check_canonical, tensor_sha256
from ...training import derive_seed, is_complete, read_card
from ...zoo.model import FaceModel
from .. import METHODS
from ..base import DEFAULT_SURROGATES, Method, ProtectContext, TargetFace
from .checkpoints import (
    CODE_VERSION, CheckpointError, TrainedModel, checkpoint_key, load_model, run_dir, stage1_path, surrogate_ids,
)
from .profiles import Profile, departures, get_profile
from .train import Curriculum, TrainSet, flip_one, to_resolution, train_stage1, trainer


def edit_codes(model: TrainedModel, xs: torch.Tensor, x: torch.Tensor, seed: int) -> torch.Tensor:
    """att_b * thres_int for generator inputs ``xs`` ([-1, 1]) of canonical images ``x``: att_a estimated
    by D_att, one attribute flipped, chosen from a hash of (seed, image content), independent of the batch."""
    att_a = torch.where(model.nets.d(xs)[1] >= 0, 1.0, -1.0)
    flips = model.flip_indices
    choice = torch.tensor([derive_seed(seed, tensor_sha256(xi)) % len(flips) for xi in x])
    return flip_one(att_a, flips, choice) * model.profile.thres_int


def to_canonical(y: torch.Tensor, xs: torch.Tensor, x: torch.Tensor, residual: bool) -> torch.Tensor:
    """A generator's output ``y`` for its input ``xs`` (both [-1, 1] at the working resolution) as a
    canonical image of ``x``'s size: a residual generator's change is resized and added to ``x`` itself,
    so the untouched pixels keep their full resolution; a whole-image generator's output is resized."""
    if residual:
        return (x + to_resolution((y - xs) / 2, x.shape[-1])).clamp(0, 1)
    return to_resolution((y + 1) / 2, x.shape[-1]).clamp(0, 1)


@torch.no_grad()
def generate(model: TrainedModel, x: torch.Tensor, device: torch.device, seed: int, adversarial: bool) -> torch.Tensor:
    """The protected face x_adv^{att_b} (``adversarial``) or the attribute-edited face x_cov^{att_b}, as
    canonical images of ``x``'s size."""
    nets = model.nets.to(device)
    x = x.to(device)
    xs = to_resolution(x, model.profile.resolution) * 2 - 1
    code = edit_codes(model, xs, x, seed)
    y = nets.adv_generate(xs, code) if adversarial else nets.g(xs, code)
    return to_canonical(y, xs, x, model.profile.residual)


class Restorer:
    """A trained restorer R on its own: protected canonical images -> restored canonical images.

    Any checkpoint's R can be plugged into any ErasableMask (``with_restorer``), e.g. to measure the
    erasion success rate of a wrong key."""

    def __init__(self, model: TrainedModel) -> None:
        self.model = model

    @classmethod
    def load(cls, directory: str | Path, device: str | torch.device = "cpu") -> "Restorer":
        return cls(load_model(directory, device))

    def card(self) -> dict[str, Any]:
        return {"checkpoint_sha256": self.model.sha256, "target_id": self.model.target_id}

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        nets = self.model.nets
        device = next(nets.parameters()).device
        x_in = check_canonical(x).to(device)
        xs = to_resolution(x_in, self.model.profile.resolution) * 2 - 1
        return to_canonical(nets.restore(xs), xs, x_in, self.model.profile.residual).to(x.device)


class ErasableMask(Method):
    """ErasableMask (Shen et al.): AttGAN-based semantic adversarial mask with a trained restorer.

    Reads canonical crops at ``image_size``: 256 px for ``--profile paper`` (its networks work at 256 px),
    112 px for ``mini`` (its networks resize them to 128 px and back)."""

    name = "erasablemask"
    needs = frozenset({"surrogates", "target_images", "training"})
    reversible = True
    goals = ("impersonate",)
    version = CODE_VERSION
    run_options = frozenset({"profile", "seed"})
    default_surrogates = DEFAULT_SURROGATES
    unperturbed_name = "attribute-edited faces (the same edit without E_adv)"

    def __init__(self, profile: str = "mini", seed: int = 0, steps_scale: float = 1.0, progress: bool = True) -> None:
        self.profile: Profile = get_profile(profile, float(steps_scale))
        super().__init__(profile=profile, seed=int(seed), steps_scale=float(steps_scale))
        self.image_size = self.profile.image_size
        self.progress = progress
        self._models: dict[str, TrainedModel] = {}
        self._restorer: Restorer | None = None

    # ------------------------------------------------------------------------------------------ card
    def card(self) -> dict[str, Any]:
        card = super().card()
        card["profile"] = self.profile.to_dict()
        card["departures"] = departures(self.profile)
        card["checkpoints"] = {tid: self._checkpoint_card(m) for tid, m in sorted(self._models.items())}
        if self._restorer is not None:
            card["restorer"] = self._restorer.card()
        if self.wrong_keys():
            card["wrong_key_restorers"] = self.wrong_keys()
        return card

    @staticmethod
    def _checkpoint_card(m: TrainedModel) -> dict[str, Any]:
        train_card = read_card(m.directory) or {}
        return {"sha256": m.sha256, "directory": str(m.directory), "surrogates": train_card.get("surrogates"),
                "manifest_sha256": train_card.get("manifest_sha256"), "meta_step": train_card.get("meta_step")}

    def fitted_state(self, target_id: str = "") -> dict[str, Any]:
        """The sha256 of the checkpoint the outputs for ``target_id`` use, and of the wrong-key restorer's
        checkpoint when there is one (``wrong_keys``)."""
        model = self._route((target_id,) if target_id else (), 1)[0]
        state = {"checkpoint_sha256": model.sha256}
        wrong = self.wrong_keys().get(model.target_id)
        if wrong is not None:
            state["wrong_key_sha256"] = self._models[wrong].sha256
        return state

    # ------------------------------------------------------------------------------------------- fit
    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device | str,
            target: TargetFace | None = None) -> None:
        """Train (or resume, or load from the cache) the model that impersonates ``target`` (one fixed face
        per model, as in the paper) on ``train``'s split ``train``.

        The checkpoint key holds the target's record id (the manifest hash pins its pixels); stage 1, which
        neither the target nor the surrogates affect, is trained once and shared by every target."""
        if target is None:
            raise BadInput("erasablemask trains one model per impersonation target: pass fit(..., target=TargetFace)")
        if target.id in self._models:
            return
        target = TargetFace(target.id, target.identity, check_canonical(target.images.detach().float().cpu()))
        seed = self.params["seed"]
        surr = surrogate_ids(surrogates)
        key = checkpoint_key(self.profile, train.manifest_sha256, surr, target.id, seed)
        directory = run_dir(key)
        if not is_complete(directory, "model.pt"):
            data = TrainSet.from_dataset(train)
            shared = stage1_path(self.profile, train.manifest_sha256, seed)
            train_stage1(self.profile, data, seed, device, shared, self.progress)
            meta = {"key": key, "dataset": train.name, "manifest_sha256": train.manifest_sha256, "surrogates": surr,
                    "steps_scale": self.params["steps_scale"]}
            trainer(Curriculum(self.profile, data, surrogates, target, seed, device), directory, meta, self.progress,
                    shared).run()
        model = load_model(directory, device)
        if tensor_sha256(model.target_images) != tensor_sha256(target.images):
            raise CheckpointError(
                f"{directory} was trained toward other pixels of target {target.id!r} (e.g. another crop size, by "
                f"an older fpbench); delete that directory to retrain it"
            )
        self._models[target.id] = model

    @classmethod
    def from_checkpoint(
        cls, directory: str | Path, device: str | torch.device = "cpu", progress: bool = True
    ) -> "ErasableMask":
        """An ErasableMask holding the finished model of a run directory (see ``latest_checkpoint``)."""
        model = load_model(directory, device)
        card = read_card(Path(directory)) or {}
        method = cls(profile=model.profile.name, seed=card.get("seed", 0), steps_scale=card.get("steps_scale", 1.0),
                     progress=progress)
        method.profile = model.profile
        method.image_size = model.profile.image_size
        method._models[model.target_id] = model
        return method

    # --------------------------------------------------------------------------------------- protect
    def _route(self, target_ids: Sequence[str], n: int) -> list[TrainedModel]:
        """The trained model for each of ``n`` rows, by their target record ids (none given: the only model)."""
        trained = ", ".join(sorted(self._models)) or "none"
        if not self._models:
            raise BadInput("erasablemask has no trained model yet: call fit(train, surrogates, device, target=...) first")
        if not target_ids:
            if len(self._models) > 1:
                raise BadInput(f"erasablemask holds models for several targets ({trained}): pass their record ids "
                               "in ProtectContext.target_ids")
            return [next(iter(self._models.values()))] * n
        if len(target_ids) != n:
            raise BadInput(f"erasablemask got {len(target_ids)} target ids for {n} images (ProtectContext.target_ids)")
        unknown = sorted(set(target_ids) - set(self._models))
        if unknown:
            raise BadInput(f"erasablemask was not trained for target {unknown[0]!r} (trained: {trained}); call fit "
                           "with it as target")
        return [self._models[t] for t in target_ids]

    def _groups(self, ctx: ProtectContext | None, n: int) -> list[tuple[TrainedModel, list[int]]]:
        groups: dict[str, tuple[TrainedModel, list[int]]] = {}
        for i, m in enumerate(self._route(ctx.target_ids if ctx is not None else (), n)):
            groups.setdefault(m.target_id, (m, []))[1].append(i)
        return list(groups.values())

    def _per_model(self, x: torch.Tensor, ctx: ProtectContext, adversarial: bool) -> torch.Tensor:
        check_canonical(x)
        out = torch.empty_like(x, device=ctx.device)
        for model, rows in self._groups(ctx, x.shape[0]):
            out[rows] = generate(model, x[rows], ctx.device, self.params["seed"], adversarial)
        return out

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        """Protected faces: att_a estimated by D_att, one attribute flipped (chosen from a hash of the seed
        and the image), E_adv's semantic perturbation toward the model's target."""
        return self._per_model(x, ctx, adversarial=True)

    def unperturbed(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        """x_cov^{att_b}: the same attribute edit without E_adv, the reference of Table VI's quality."""
        return self._per_model(x, ctx, adversarial=False)

    # --------------------------------------------------------------------------------------- restore
    @property
    def restorer(self) -> Restorer:
        """The restorer in use (the plugged-in one, else the single trained model's own R)."""
        if self._restorer is not None:
            return self._restorer
        return Restorer(self._route((), 1)[0])

    def wrong_keys(self) -> dict[str, str]:
        """For each trained target, the target whose restorer stands in as a wrong key (the next one in
        sorted order); empty with fewer than two trained models."""
        ids = sorted(self._models)
        return {} if len(ids) < 2 else {t: ids[(i + 1) % len(ids)] for i, t in enumerate(ids)}

    def restore_with_wrong_key(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor | None:
        """R of another trained model (``wrong_keys``) applied to each row; None with one model only."""
        wrong = self.wrong_keys()
        if not wrong or self._restorer is not None:
            return None
        check_canonical(x)
        out = torch.empty_like(x)
        for model, rows in self._groups(ctx, x.shape[0]):
            out[rows] = Restorer(self._models[wrong[model.target_id]])(x[rows])
        return out

    def with_restorer(self, restorer: Restorer) -> "ErasableMask":
        """A copy of this method that restores with ``restorer`` (e.g. another checkpoint's R)."""
        other = copy.copy(self)
        other._restorer = restorer
        return other

    def restore(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor:
        """x_rec = R(x_adv). With several trained targets, ``ctx.target_ids`` picks each row's R."""
        check_canonical(x)
        if self._restorer is not None:
            return self._restorer(x)
        out = torch.empty_like(x)
        for model, rows in self._groups(ctx, x.shape[0]):
            out[rows] = Restorer(model)(x[rows])
        return out


METHODS.add(
    "erasablemask", ErasableMask, "ErasableMask: AttGAN semantic adversarial mask + restorer, meta-auxiliary attack"
)
