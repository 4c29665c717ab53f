"""The model zoo: registered face recognition models, their weight sources, and fetch/load.

A zoo entry pairs a plain ``nn.Module`` architecture (written in fpbench) with a converter that turns a
file shipped inside a registry package into that module's state dict. ``fetch`` runs the converter once
and caches the state dict; ``load`` builds the module from the cache and never touches the network.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from ..cache import atomic_path, subdir
from ..errors import FpbenchError
from ..packages import Package
from ..registry import Registry
from .model import FaceModel, ModelCard


class MissingWeights(FpbenchError):
    """Weights are not in the cache yet; the message names the command that fetches them."""


class WeightsMismatch(FpbenchError):
    """Converted or user-supplied weights do not match the expected sha256 or key layout."""


@dataclass(frozen=True)
class ZooEntry:
    """One model of the zoo.

    ``build()`` returns the untrained backbone; ``convert(path)`` reads the package member at ``path``
    and returns the backbone's state dict. ``card.weights_sha256`` pins the converted weights.
    """

    card: ModelCard
    build: Callable[[], nn.Module]
    package: Package | None = None
    member: str = ""  # path of the weights file inside the package archive
    convert: Callable[[Path], dict[str, torch.Tensor]] | None = None
    extra_members: tuple[str, ...] = ()  # other files the converter reads from the same package

    @property
    def name(self) -> str:
        return self.card.name


ZOO: Registry[ZooEntry] = Registry("model", "fpbench.models")


def register(entry: ZooEntry) -> ZooEntry:
    ZOO.add(entry.name, entry, f"{entry.card.architecture}, {entry.card.embedding_dim}-d")
    return entry


def state_dict_sha256(sd: dict[str, torch.Tensor]) -> str:
    """Content hash of a state dict: names, dtypes, shapes and values, in sorted key order."""
    h = hashlib.sha256()
    for k in sorted(sd):
        t = sd[k].detach().to("cpu").contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def weights_path(name: str) -> Path:
    return subdir("weights") / f"{name}.pt"


def is_fetched(name: str) -> bool:
    return weights_path(name).is_file()


def fetch(name: str) -> Path:
    """Fetch the package, convert the weights, check their sha256 and cache them (idempotent)."""
    entry = ZOO.get(name)
    dest = weights_path(name)
    if dest.is_file():
        return dest
    if entry.package is None or entry.convert is None:
        raise MissingWeights(f"model {name!r} has no package source; add weights with `fpbench zoo add {name} --weights FILE`")
    for extra in entry.extra_members:
        entry.package.member(extra)
    sd = entry.convert(entry.package.member(entry.member))
    got = state_dict_sha256(sd)
    if entry.card.weights_sha256 and got != entry.card.weights_sha256:
        raise WeightsMismatch(
            f"{name}: converted weights sha256 {got[:16]}... differ from the pinned {entry.card.weights_sha256[:16]}..."
        )
    with atomic_path(dest) as tmp:
        torch.save(sd, tmp)
    return dest


def load(name: str, device: str | torch.device = "cpu") -> FaceModel:
    """Build a zoo model with cached weights, in eval mode, gradients off for its parameters."""
    entry = ZOO.get(name)
    path = weights_path(name)
    if not path.is_file():
        raise MissingWeights(f"weights for {name!r} are not in the cache; run `fpbench zoo fetch {name}`")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    backbone = entry.build()
    backbone.load_state_dict(sd, strict=True)
    card = replace(entry.card, weights_sha256=entry.card.weights_sha256 or state_dict_sha256(sd))
    model = FaceModel(backbone, card).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
