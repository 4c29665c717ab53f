"""Targets: the face recognition systems a protection must fool.

A local target embeds canonical images with a zoo model; plugins (entry-point group ``fpbench.targets``)
register factories ``(device) -> Target`` for anything else. Every target says what actually ran in
``display`` (``arcface[mobilefacenet]`` when ``arcface`` resolved to the embedded ArcFace-loss model).
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from ..registry import Registry, UnknownName
from ..zoo.model import FaceModel


class Target:
    """A face recognition system that maps canonical images to unit-norm embeddings."""

    name: str = ""
    display: str = ""

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def card(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def cache_key(self) -> str:
        """Identifies the embedding function: same key, same embeddings."""
        raise NotImplementedError


class LocalTarget(Target):
    """A zoo model used as a black box (or white box, when it is also a surrogate)."""

    def __init__(self, name: str, display: str, model: FaceModel) -> None:
        self.name, self.display, self.model = name, display, model

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        dev = next(self.model.parameters()).device
        return self.model(x.to(dev)).cpu()

    def card(self) -> dict[str, Any]:
        return {"name": self.name, "display": self.display, "kind": "local", "model": self.model.card.to_dict()}

    @property
    def cache_key(self) -> str:
        c = self.model.card
        return f"{c.name}-{c.weights_sha256[:16]}"


TARGETS: Registry[Callable[[torch.device], Target]] = Registry("target", "fpbench.targets")


def target_names() -> list[str]:
    """Every name ``make_target`` accepts: plugin targets plus zoo models and their aliases."""
    from ..zoo.names import available_targets

    return sorted(set(TARGETS.names()) | set(available_targets()))


def make_target(name: str, device: torch.device | str = "cpu") -> Target:
    """Build the target a user named; ``UnknownName`` lists the valid names."""
    from ..zoo import load
    from ..zoo.names import resolve

    device = torch.device(device)
    if name in TARGETS:
        return TARGETS.get(name)(device)
    try:
        r = resolve(name)
    except UnknownName:
        raise UnknownName(f"unknown target {name!r}; available: {', '.join(target_names())}") from None
    return LocalTarget(r.requested, r.display, load(r.zoo_name, device))
