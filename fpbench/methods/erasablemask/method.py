"""ErasableMask as an fpbench method: fit (train or load a cached model per target), protect, restore."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Sequence

import torch

from ...data.dataset import FaceDataset
from ...errors import BadInput
from ...images import check_canonical, tensor_sha256
from ...zoo.model import FaceModel
from .. import METHODS
from ..base import DEFAULT_SURROGATES, Method, ProtectContext
from .checkpoints import (
    CODE_VERSION, TrainedModel, checkpoint_key, load_model, read_card, run_dir, stage1_path, surrogate_ids,
)
from .profiles import Profile, departures, get_profile
from .train import Trainer, TrainSet, derive_seed, flip_one, to_resolution

#: Largest mean absolute pixel difference at which a context target counts as the trained target.
TARGET_TOLERANCE = 0.05


def edit_codes(model: TrainedModel, xs: torch.Tensor, x: torch.Tensor, seed: int) -> torch.Tensor:
    """att_b * thres_int for generator inputs ``xs`` ([-1, 1]) of canonical images ``x``: att_a estimated
    by D_att, one attribute flipped, chosen from a hash of (seed, image content), independent of the batch."""
    att_a = torch.where(model.nets.d(xs)[1] >= 0, 1.0, -1.0)
    flips = model.flip_indices
    choice = torch.tensor([derive_seed(seed, tensor_sha256(xi)) % len(flips) for xi in x])
    return flip_one(att_a, flips, choice) * model.profile.thres_int


@torch.no_grad()
def generate(model: TrainedModel, x: torch.Tensor, device: torch.device, seed: int, adversarial: bool) -> torch.Tensor:
    """The protected face x_adv^{att_b} (``adversarial``) or the attribute-edited face x_cov^{att_b}, as
    canonical images of ``x``'s size."""
    nets = model.nets.to(device)
    xs = to_resolution(x.to(device), model.profile.resolution) * 2 - 1
    code = edit_codes(model, xs, x, seed)
    y = nets.adv_generate(xs, code) if adversarial else nets.g(xs, code)
    return to_resolution((y + 1) / 2, x.shape[-1]).clamp(0, 1)


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
        xs = to_resolution(check_canonical(x).to(device), self.model.profile.resolution)
        y = (nets.restore(xs * 2 - 1) + 1) / 2
        return to_resolution(y, x.shape[-1]).clamp(0, 1).to(x.device)


class ErasableMask(Method):
    """ErasableMask (Shen et al.): AttGAN-based semantic adversarial mask with a trained restorer."""

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

    # ------------------------------------------------------------------------------------------- fit
    def fit(
        self,
        train: FaceDataset,
        surrogates: Sequence[FaceModel],
        device: torch.device | str,
        *,
        target: torch.Tensor | None = None,
        target_id: str | None = None,
    ) -> None:
        """Train (or resume, or load from the cache) the model that impersonates ``target`` (canonical
        target face image(s), one fixed face per model as in the paper) on ``train``'s split ``train``.

        The cache key holds ``target_id`` (the dataset record id; the manifest hash pins its pixels), so the
        same target given at another crop size reuses the model; without an id the image hash is the id."""
        if target is None:
            raise BadInput(
                "erasablemask trains toward one fixed target face: call fit(..., target=IMAGES, target_id=ID)"
            )
        target = check_canonical(target.detach().float().cpu())
        target_id = target_id or tensor_sha256(target)[:12]
        if target_id in self._models:
            return
        seed = self.params["seed"]
        surr = surrogate_ids(surrogates)
        key = checkpoint_key(self.profile, train.manifest_sha256, surr, target_id, seed)
        directory = run_dir(key)
        card = read_card(directory) or {}
        if not (card.get("complete") and (directory / "model.pt").is_file()):
            meta = {
                "key": key, "dataset": train.name, "manifest_sha256": train.manifest_sha256, "surrogates": surr,
                "steps_scale": self.params["steps_scale"],
            }
            Trainer(self.profile, TrainSet.from_dataset(train), surrogates, target, target_id, directory, seed, device,
                    meta=meta, progress=self.progress,
                    shared_stage1=stage1_path(self.profile, train.manifest_sha256, seed)).run()
        self._models[target_id] = load_model(directory, device)

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
        method._models[model.target_id] = model
        return method

    # --------------------------------------------------------------------------------------- protect
    def _route(self, targets: torch.Tensor | None, n: int) -> list[TrainedModel]:
        """The trained model for each of ``n`` rows, matched by their context target image."""
        if not self._models:
            raise BadInput(
                "erasablemask has no trained model yet: call fit(train, surrogates, device, target=...) first"
            )
        if targets is None:
            if len(self._models) > 1:
                raise BadInput("erasablemask holds models for several targets: pass the target images in the context")
            return [next(iter(self._models.values()))] * n
        chosen = []
        for row in targets:
            dists = {tid: self._target_distance(m, row) for tid, m in self._models.items()}
            best = min(dists, key=dists.get)
            if dists[best] > TARGET_TOLERANCE:
                raise BadInput(
                    f"erasablemask was not trained for this target face (nearest: {best!r}, mean difference "
                    f"{dists[best]:.3f}); call fit with it as target"
                )
            chosen.append(self._models[best])
        return chosen

    @staticmethod
    def _target_distance(model: TrainedModel, row: torch.Tensor) -> float:
        ref = to_resolution(model.target_images, row.shape[-1])
        return float((ref - row.detach().cpu()).abs().mean(dim=(1, 2, 3)).min())

    def _groups(self, targets: torch.Tensor | None, n: int) -> list[tuple[TrainedModel, list[int]]]:
        groups: dict[int, tuple[TrainedModel, list[int]]] = {}
        for i, m in enumerate(self._route(targets, n)):
            groups.setdefault(id(m), (m, []))[1].append(i)
        return list(groups.values())

    def _per_model(self, x: torch.Tensor, ctx: ProtectContext, adversarial: bool) -> torch.Tensor:
        check_canonical(x)
        out = torch.empty_like(x, device=ctx.device)
        for model, rows in self._groups(ctx.target_images, x.shape[0]):
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
        return Restorer(self._route(None, 1)[0])

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
        for model, rows in self._groups(ctx.target_images if ctx is not None else None, x.shape[0]):
            out[rows] = Restorer(self._models[wrong[model.target_id]])(x[rows])
        return out

    def with_restorer(self, restorer: Restorer) -> "ErasableMask":
        """A copy of this method that restores with ``restorer`` (e.g. another checkpoint's R)."""
        other = copy.copy(self)
        other._restorer = restorer
        return other

    def restore(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor:
        """x_rec = R(x_adv). With several trained targets, ``ctx.target_images`` picks each row's R."""
        check_canonical(x)
        if self._restorer is not None:
            return self._restorer(x)
        out = torch.empty_like(x)
        for model, rows in self._groups(ctx.target_images if ctx is not None else None, x.shape[0]):
            out[rows] = Restorer(model)(x[rows])
        return out


METHODS.add(
    "erasablemask", ErasableMask, "ErasableMask: AttGAN semantic adversarial mask + restorer, meta-auxiliary attack"
)
