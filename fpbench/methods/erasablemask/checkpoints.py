"""Where ErasableMask training runs live and how a finished model is saved, found and loaded.

``FPBENCH_CACHE/methods/erasablemask/<key>/`` holds, for one (profile, dataset manifest, surrogates, target,
seed, code version):

* ``progress.pt``   the latest resumable state (weights, optimisers, loss history), rewritten atomically;
                    removed once the run is finished
* ``stage1.pt``, ``stage2.pt``   the networks at the end of stages 1 and 2
* ``model.pt``      the finished model (networks + attribute names + target), what protect/restore use
* ``card.json``     profile, manifest, surrogates, target, loss-curve summaries, wall times, departures
* ``.lock``         held while a process trains it (``fpbench.training``)

The shared ``fpbench.training.Trainer`` writes them; this module knows the keys and the model file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from ...cache import file_sha256
from ...errors import BadInput
from ...training.store import read_card, save_torch, unit_key, units_root
from ...zoo.catalog import state_dict_sha256
from ...zoo.model import FaceModel
from .networks import ErasableMaskNets
from .profiles import Profile

CODE_VERSION = "2"  # bump when training changes, so older checkpoints are not reused


class CheckpointError(BadInput):
    """A checkpoint directory that is missing, unfinished or unreadable."""


def surrogate_ids(surrogates: Sequence[FaceModel]) -> list[dict[str, str]]:
    """Name and weights sha256 of each surrogate (hashed from the weights when the card has none)."""
    return [
        {"name": m.card.name, "weights_sha256": m.card.weights_sha256 or state_dict_sha256(m.backbone.state_dict())}
        for m in surrogates
    ]


def checkpoint_key(
    profile: Profile, manifest_sha256: str, surrogates: list[dict[str, str]], target_id: str, seed: int
) -> str:
    return unit_key({
        "profile": profile.to_dict(), "manifest": manifest_sha256, "surrogates": surrogates,
        "target": target_id, "seed": seed, "code": CODE_VERSION,
    })


def stage1_path(profile: Profile, manifest_sha256: str, seed: int) -> Path:
    """Where stage 1 (attribute editing, which neither the target nor the surrogates affect) is shared
    between the models of all targets trained on the same data with the same profile and seed."""
    key = unit_key({"profile": profile.to_dict(), "manifest": manifest_sha256, "seed": seed, "code": CODE_VERSION})
    return runs_root() / f"stage1-{key}.pt"


def runs_root() -> Path:
    return units_root("erasablemask")


def run_dir(key: str) -> Path:
    return runs_root() / key


def latest_checkpoint(
    profile: str | None = None,
    manifest_sha256: str | None = None,
    surrogates: Sequence[str] | None = None,
    target_id: str | None = None,
    seed: int | None = None,
) -> Path | None:
    """The newest finished run directory whose card matches every filter given (None: any)."""
    found = []
    for d in runs_root().iterdir():
        card = read_card(d)
        if not card or not card.get("complete") or not (d / "model.pt").is_file():
            continue
        checks = [
            profile is None or card["profile"]["name"] == profile,
            manifest_sha256 is None or card["manifest_sha256"] == manifest_sha256,
            surrogates is None or [s["name"] for s in card["surrogates"]] == list(surrogates),
            target_id is None or card["target"]["id"] == target_id,
            seed is None or card["seed"] == seed,
            card.get("code_version") == CODE_VERSION,
        ]
        if all(checks):
            found.append((card.get("finished_at", ""), d.name, d))
    return max(found)[2] if found else None


@dataclass
class TrainedModel:
    """A finished ErasableMask model: its networks (eval mode) and what protect needs to use them."""

    nets: ErasableMaskNets
    profile: Profile
    attribute_names: list[str]
    flip_names: list[str]
    target_id: str
    target_images: torch.Tensor  # the canonical target face(s) it was trained toward, as given to fit
    directory: Path
    sha256: str  # of model.pt

    @property
    def flip_indices(self) -> list[int]:
        return [self.attribute_names.index(n) for n in self.flip_names]


def save_model(directory: Path, nets: ErasableMaskNets, profile: Profile, attribute_names: list[str],
               flip_names: list[str], target_id: str, target_images: torch.Tensor) -> None:
    save_torch({
        "nets": nets.state_dict(), "profile": profile.to_dict(), "attribute_names": attribute_names,
        "flip_names": flip_names, "target_id": target_id, "target_images": target_images.cpu(),
        "code_version": CODE_VERSION,
    }, Path(directory) / "model.pt")


def _frozen(nets: ErasableMaskNets, device: str | torch.device) -> ErasableMaskNets:
    nets.to(device).eval()
    for p in nets.parameters():
        p.requires_grad_(False)
    return nets


def load_stage1(path: Path, profile: Profile, attribute_names: list[str], flip_names: list[str],
                device: str | torch.device = "cpu") -> TrainedModel:
    """The attribute editor (G_enc, G_dec, D) of a shared stage-1 file, with no target and no restorer."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    nets = ErasableMaskNets(profile, len(attribute_names))
    nets.load_state_dict(blob["nets"])
    return TrainedModel(
        nets=_frozen(nets, device), profile=profile, attribute_names=list(attribute_names),
        flip_names=list(flip_names), target_id="", target_images=torch.empty(0, 3, 1, 1), directory=path.parent,
        sha256=file_sha256(path),
    )


def load_model(directory: str | Path, device: str | torch.device = "cpu") -> TrainedModel:
    """Load ``model.pt`` of a finished run directory."""
    directory = Path(directory)
    path = directory / "model.pt"
    if not path.is_file():
        raise CheckpointError(
            f"no finished ErasableMask model in {directory}; train it with `fpbench train erasablemask`"
        )
    blob = torch.load(path, map_location="cpu", weights_only=True)
    pdict = {k: v for k, v in blob["profile"].items() if k != "sigma1"}
    pdict = {k: tuple(v) if isinstance(v, list) else v for k, v in pdict.items()}
    profile = Profile(**pdict)
    nets = ErasableMaskNets(profile, len(blob["attribute_names"]))
    nets.load_state_dict(blob["nets"])
    return TrainedModel(
        nets=_frozen(nets, device), profile=profile, attribute_names=list(blob["attribute_names"]), flip_names=list(blob["flip_names"]),
        target_id=blob["target_id"], target_images=blob["target_images"], directory=directory, sha256=file_sha256(path),
    )
