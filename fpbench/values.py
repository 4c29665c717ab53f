"""Parameter values as users write them (``8/255``, ``true``, ``20``), shared by the CLI and sweep files."""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any


def to_number(text: str) -> float:
    """A finite float that may be written as a fraction (``8/255``); ``ValueError`` otherwise (nan, inf too)."""
    try:
        value = float(Fraction(text)) if "/" in text else float(text)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ValueError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def parse_value(raw: Any) -> Any:
    """A string as bool, int or number (fractions allowed), else the string itself; non-strings unchanged."""
    if not isinstance(raw, str):
        return raw
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return to_number(raw)
    except ValueError:
        return raw
