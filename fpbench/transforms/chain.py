"""Parse transform names ("jpeg50", "gauss0.003", "jpeg50+crop") into transforms; chains of them."""
from __future__ import annotations

import re

import torch

from ..registry import UnknownName
from .base import TRANSFORMS, Transform
from .family import TransformError, default_generator

#: The processing channel of ErasableMask Table V, plus the unprocessed image.
DEFAULT_CHANNEL = ["identity", "jpeg50", "gauss0.003", "resize0.5", "median5", "rotate30", "crop"]

_FAMILY_AND_PARAM = re.compile(r"(?P<family>.*?[^\d.])(?P<param>\d+(?:\.\d+)?)?")


class Chain(Transform):
    """Transforms applied in order, drawing their randomness from one generator."""

    def __init__(self, parts: list[Transform]) -> None:
        self.parts = parts
        self.name = "+".join(p.name for p in parts)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        g = default_generator(generator)
        for part in self.parts:
            x = part(x, g)
        return x

    def differentiable(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        g = default_generator(generator)
        for part in self.parts:
            x = part.differentiable(x, g)
        return x

    def card(self) -> dict:
        return {"transform": self.name, "chain": [p.card() for p in self.parts]}


def make_transform(name: str) -> Transform:
    """Build a transform from its name: a family with an optional parameter, or several joined by '+'.

    ``"jpeg"`` gives the family default (``jpeg50``); ``"crop224"`` is the 224/256 centre crop.
    """
    parts = [p.strip() for p in name.split("+")]
    if not all(parts):
        raise TransformError(f"empty step in transform {name!r}; join names with '+', e.g. jpeg50+crop")
    made = [_make_one(p) for p in parts]
    return made[0] if len(made) == 1 else Chain(made)


def _make_one(text: str) -> Transform:
    if text in TRANSFORMS:
        return TRANSFORMS.get(text)()
    m = _FAMILY_AND_PARAM.fullmatch(text)
    if m is None or m["family"] not in TRANSFORMS:
        raise UnknownName(
            f"unknown transform {text!r}; families: {', '.join(TRANSFORMS.names())} "
            "(a family may take a number, e.g. jpeg50, gauss0.003)"
        )
    factory = TRANSFORMS.get(m["family"])
    return factory(float(m["param"])) if m["param"] is not None else factory()
