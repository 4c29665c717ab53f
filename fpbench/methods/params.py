"""Typed parameter declarations of methods: each checks and normalises one value, and ``check_params``
turns a wrong one into a one-line ``BadInput`` naming the method, the parameter and what it accepts.

    SCHEMA = {"eps": Real(0, 1), "steps": Integer(1), "norm": Choice(("linf", "l2")), "random_start": Flag()}
    params = check_params("pgd", merged, SCHEMA)  # in the method's constructor, before any work
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import BadInput


#: Most iterations a method may be asked for: far beyond any paper's (hundreds to a few thousand), and still
#: a run that ends (``--steps 1e12`` ran for ever).
MAX_STEPS = 100_000


class Param:
    """One parameter's type: ``check`` returns the normalised value or raises ``ValueError(what it must be)``."""

    optional: bool = False  # None is accepted (and kept) as "not set"

    def check(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        return self._check(value)

    def _check(self, value: Any) -> Any:
        raise NotImplementedError

    def _fail(self, what: str) -> ValueError:
        return ValueError(f"must be {what}{' (or unset)' if self.optional else ''}")


def _span(low: float, high: float) -> str:
    if math.isinf(high):
        return f">= {low:g}"
    return f"in [{low:g}, {high:g}]"


@dataclass(frozen=True)
class Real(Param):
    """A finite number in [low, high], returned as a float."""

    low: float = -math.inf
    high: float = math.inf
    optional: bool = False

    def _check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
                or not self.low <= value <= self.high:
            raise self._fail(f"a finite number {_span(self.low, self.high)}")
        return float(value)


@dataclass(frozen=True)
class Integer(Param):
    """A whole number in [low, high] (an integral float such as 20.0 is accepted), returned as an int."""

    low: float = -math.inf
    high: float = math.inf
    optional: bool = False

    def _check(self, value: Any) -> int:
        whole = isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and math.isfinite(value)
                                                         and float(value).is_integer())
        if isinstance(value, bool) or not whole or not self.low <= value <= self.high:
            raise self._fail(f"an integer {_span(self.low, self.high)}")
        return int(value)


@dataclass(frozen=True)
class Choice(Param):
    """One of a fixed set of names (case-insensitive), returned as written in ``options``."""

    options: tuple[str, ...]
    optional: bool = False

    def _check(self, value: Any) -> str:
        by_lower = {o.lower(): o for o in self.options}
        if not isinstance(value, str) or value.lower() not in by_lower:
            raise self._fail(f"one of {', '.join(self.options)}")
        return by_lower[value.lower()]


@dataclass(frozen=True)
class Flag(Param):
    """true or false (1 and 0 are accepted), returned as a bool."""

    optional: bool = False

    def _check(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        raise self._fail("true or false")


@dataclass(frozen=True)
class PathParam(Param):
    """A file or folder path, returned as a string (whether it exists is the method's check)."""

    optional: bool = False

    def _check(self, value: Any) -> str:
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
            raise self._fail("a path")
        return os.fsdecode(value)


def check_params(method: str, params: Mapping[str, Any], schema: Mapping[str, Param]) -> dict[str, Any]:
    """``params`` with every value declared in ``schema`` checked and normalised (others unchanged);
    the first wrong one is a ``BadInput``: "pgd parameter eps must be a finite number in [0, 1], got 'abc'"."""
    out = dict(params)
    for name, kind in schema.items():
        if name not in out:
            continue
        try:
            out[name] = kind.check(out[name])
        except ValueError as e:
            raise BadInput(f"{method} parameter {name} {e}, got {out[name]!r}") from None
    return out
