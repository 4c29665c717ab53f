"""Shared pieces of the transform families: one numeric parameter, naming, seeding, errors."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import BadInput
from ..images import check_canonical
from .base import Transform

#: Seed of the generator used when a caller passes none, so evaluation runs are reproducible.
DEFAULT_SEED = 0


class TransformError(BadInput):
    """A transform name or parameter that cannot be used (the message says which values are valid)."""


def format_param(value: float) -> str:
    """Shortest plain decimal for a parameter: 50.0 -> "50", 0.003 -> "0.003" (never scientific)."""
    return np.format_float_positional(value, trim="-")


def default_generator(generator: torch.Generator | None) -> torch.Generator:
    """``generator`` itself, or a fresh CPU generator seeded with ``DEFAULT_SEED``."""
    return generator if generator is not None else torch.Generator().manual_seed(DEFAULT_SEED)


def rand(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) draws made on the generator's device, then moved next to ``like``."""
    g = default_generator(generator)
    return torch.rand(shape, generator=g, device=g.device).to(device=like.device, dtype=like.dtype)


def randn(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal draws made on the generator's device, then moved next to ``like``."""
    g = default_generator(generator)
    return torch.randn(shape, generator=g, device=g.device).to(device=like.device, dtype=like.dtype)


class ParamTransform(Transform):
    """A family with one numeric parameter; its name is the family followed by the parameter (``jpeg50``).

    Subclasses set ``family``, ``param_name`` and ``default``, validate in ``check`` and implement the
    torch operation in ``apply``; that operation is both the real one and the differentiable one unless a
    subclass overrides ``__call__`` or ``differentiable``.
    """

    family: str = ""
    param_name: str = ""
    default: float = 0.0

    def __init__(self, param: float | None = None) -> None:
        self.param = self.check(float(self.default if param is None else param))
        self.name = self.family + format_param(self.param)

    def check(self, value: float) -> float:
        """Return the validated parameter or raise ``TransformError``."""
        return value

    def apply(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.apply(check_canonical(x), generator)

    def differentiable(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.apply(x, generator)

    def card(self) -> dict:
        value = int(self.param) if self.param.is_integer() else self.param
        return {"transform": self.name, "family": self.family, self.param_name: value}

    def _fail(self, value: float, valid: str) -> TransformError:
        return TransformError(f"{self.family}: {self.param_name} {format_param(value)} is invalid; use {valid}")
