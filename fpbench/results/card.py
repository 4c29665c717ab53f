"""The run card (``card.json``): a versioned schema, validated whenever a card is read.

Version 2 is ``RunCard``. Version 1 cards (written before the schema, marked ``"fpbench_run": 1``, and
hand-built cards without any mark) are upgraded on load: the fields they lack get empty values and their
protocol is ``verify``, the only one version 1 had. Cards of any other version are refused.
"""
from __future__ import annotations

import json
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import BadInput

SCHEMA_VERSION = 2
PROTOCOL_NAMES = ("verify", "identify", "authorise")


@dataclass
class RunCard:
    """Spec and provenance of one finished run (what ``Runner`` records; tables read it)."""

    spec: dict[str, Any]  # RunSpec.to_dict()
    method: dict[str, Any]  # the method's card; "method" is its name
    reversible: bool
    dataset: dict[str, Any]  # name, manifest_sha256, pairs, attribute_source, note (a caveat tables repeat)
    protocol: dict[str, Any]  # goal, FARs and what protected faces were compared with
    targets: list[dict[str, Any]]
    white_box: list[str]  # display names of targets that were also surrogates
    surrogates: list[dict[str, Any]]
    thresholds: dict[str, Any]  # per target display name: thresholds at the run's FARs with provenance
    images: str
    quality: dict[str, Any]  # set-level quality ("sets") and quality-metric weights
    work: dict[str, Any]  # what the run computed (protected, restored, embedded)
    stage_seconds: dict[str, float]
    warnings: list[str]
    environment: dict[str, Any]
    protocol_name: str = "verify"
    threads: int | None = None
    mask_l2: float | None = None
    inference_photos: int | None = None  # person masks made from the first K inference photos (None: all)
    mask_seconds: dict[str, Any] | None = None  # T_cus ("customise", person/universal masks), T_gen ("generate", per image)
    controls: list[str] = field(default_factory=list)  # targets that are weak controls (outside black-box averages)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        problems = _type_problems(self)
        if problems:
            raise BadInput(f"invalid run card: {'; '.join(problems)}")

    @property
    def method_name(self) -> str:
        return self.method["method"]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``card.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "run card") -> "RunCard":
        """Validate (and upgrade) a card read from ``source``; a one-line ``BadInput`` naming it if invalid."""
        if not isinstance(data, dict):
            raise BadInput(f"{source}: not a run card (expected a JSON object, found {type(data).__name__})")
        version = data.get("schema_version", data.get("fpbench_run", 1))
        if version == 1:
            data = _upgrade_v1(data)
        elif version != SCHEMA_VERSION:
            raise BadInput(f"{source}: run card schema version {version!r} is not supported (this fpbench reads "
                           f"versions 1 to {SCHEMA_VERSION}); use the fpbench that wrote it, or re-run")
        names = {f.name for f in fields(cls)}
        missing = sorted(n for n in names if n not in data and not _has_default(cls, n))
        unknown = sorted(set(data) - names)
        if missing or unknown:
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown)}"] if unknown else [])
            raise BadInput(f"{source}: invalid run card: {'; '.join(parts)}")
        try:
            return cls(**data)
        except BadInput as e:
            raise BadInput(f"{source}: {e}") from None


def load_card(path: str | Path) -> RunCard:
    """Read and validate ``card.json``; a one-line ``BadInput`` naming the file if it is unreadable or invalid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise BadInput(f"{path}: cannot read the run card ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: run card is not UTF-8 text; re-run to rewrite it (cached work is reused)") from None
    except ValueError as e:  # JSONDecodeError
        what = "empty" if not path.stat().st_size else f"not valid JSON ({str(e).splitlines()[0]})"
        raise BadInput(f"{path}: run card is {what}; re-run to rewrite it (cached work is reused)") from None
    return RunCard.from_dict(data, path)


#: what a version 1 card lacks gets these values
_V1_DEFAULTS: dict[str, Any] = {
    "dataset": {}, "protocol": {}, "targets": [], "white_box": [], "surrogates": [], "thresholds": {}, "images": "",
    "quality": {}, "work": {}, "stage_seconds": {}, "warnings": [], "environment": {}, "reversible": False,
}


def _upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    out = {**_V1_DEFAULTS, **{k: v for k, v in data.items() if k != "fpbench_run"}}
    out.update(schema_version=SCHEMA_VERSION, protocol_name="verify")
    return out


def _has_default(cls: type, name: str) -> bool:
    f = cls.__dataclass_fields__[name]
    return f.default is not MISSING or f.default_factory is not MISSING


def _type_problems(card: RunCard) -> list[str]:
    hints = typing.get_type_hints(type(card))
    problems = [f"{f.name} should be {_describe(hints[f.name])}, found {type(getattr(card, f.name)).__name__}"
                for f in fields(card) if not _conforms(getattr(card, f.name), hints[f.name])]
    if isinstance(card.method, dict) and not isinstance(card.method.get("method"), str):
        problems.append("method.method (the method's name) should be a string")
    if card.protocol_name not in PROTOCOL_NAMES:
        problems.append(f"protocol_name should be one of {', '.join(PROTOCOL_NAMES)}, found {card.protocol_name!r}")
    return problems


def _conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` (from JSON) fits the type hint: containers are checked one level deep."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(v, args[1]) for v in value.values())
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "an integer",
             float: "a number", type(None): "null"}
    return names.get(origin or hint, str(hint))
