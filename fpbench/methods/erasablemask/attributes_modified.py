"""The "Attributes Modified" baseline of ErasableMask's Table II: stage 1 alone (AttGAN attribute editing,
eq. 14) with the same attribute flip as ErasableMask's protect, and no adversarial perturbation.

It measures how much of ErasableMask's success the attribute edit explains by itself; it shares the
trained stage-1 file with ErasableMask (same profile, data and seed), so running both trains stage 1 once.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ...data.dataset import FaceDataset
from ...errors import BadInput
from ...images import check_canonical
from ...zoo.model import FaceModel
from .. import METHODS
from ..base import Method, ProtectContext, TargetFace
from .checkpoints import CODE_VERSION, TrainedModel, load_stage1, stage1_path
from .method import generate
from .profiles import Profile, departures, get_profile
from .train import TrainSet, train_stage1


class AttributesModified(Method):
    """ErasableMask's attribute editor without E_adv: x_cov^{att_b} = G_dec(G_enc(x), att_b).

    Profiles as ErasableMask (``mini`` on CPU by default, ``paper`` for the paper's settings); only stage 1
    is trained (its length and every departure from the paper are in the card)."""

    name = "attributes-modified"
    needs = frozenset({"training"})
    version = CODE_VERSION
    run_options = frozenset({"profile", "seed"})

    def __init__(self, profile: str = "mini", seed: int = 0, steps_scale: float = 1.0, progress: bool = True) -> None:
        self.profile: Profile = get_profile(profile, float(steps_scale))
        super().__init__(profile=profile, seed=int(seed), steps_scale=float(steps_scale))
        self.image_size = self.profile.image_size
        self.progress = progress
        self._model: TrainedModel | None = None

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["profile"] = self.profile.to_dict()
        card["departures"] = departures(self.profile)
        if self._model is not None:
            card["stage1_sha256"] = self._model.sha256
        return card

    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device | str,
            target: TargetFace | None = None) -> None:
        """Train (or load) the shared stage 1 on ``train``'s split ``train``; target and surrogates unused."""
        if self._model is not None:
            return
        seed = self.params["seed"]
        data = TrainSet.from_dataset(train)
        path = stage1_path(self.profile, train.manifest_sha256, seed)
        train_stage1(self.profile, data, seed, device, path, self.progress)
        self._model = load_stage1(path, self.profile, data.attribute_names, data.flip_names, device)

    def fitted_state(self, target_id: str = "") -> dict[str, Any]:
        """The sha256 of the shared stage-1 file every output uses (the same for every target)."""
        if self._model is None:
            raise BadInput("attributes-modified has no trained model yet: call fit(train, surrogates, device) first")
        return {"checkpoint_sha256": self._model.sha256}

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        check_canonical(x)
        if self._model is None:
            raise BadInput("attributes-modified has no trained model yet: call fit(train, surrogates, device) first")
        return generate(self._model, x, ctx.device, self.params["seed"], adversarial=False)


METHODS.add("attributes-modified", AttributesModified,
            "ErasableMask stage 1 only: the attribute edit without adversarial perturbation (Table II baseline)")
