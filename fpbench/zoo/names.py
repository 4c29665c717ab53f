"""What a model name the user typed means, and what will actually run.

Zoo names (``name`` or ``name.tag``) resolve to themselves. Paper names (``arcface``, ``cosface``, ``ir152``, ``irse50``, ``facenet``,
``mobileface``/``mobile_face``) resolve to the user's checkpoint when one was added with ``fpbench zoo add``.
Without one, ``arcface`` falls back to the embedded ArcFace-loss model, and says so in ``display``
(``arcface[mobilefacenet]``); the others raise an error naming the command that adds weights.
Nothing is ever substituted silently: ``display`` always names what ran.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import UnknownName
from .catalog import ZOO, MissingWeights
from .paper import ARCHS, PAPER_ALIASES, PAPER_MODELS
from .user import canonical, user_model

#: Paper name -> embedded model trained with the same loss, used (and shown) when no user weights exist.
FALLBACKS: dict[str, str] = {"arcface": "mobilefacenet"}


@dataclass(frozen=True)
class Resolved:
    requested: str  # what the user typed
    zoo_name: str  # the ZOO entry that is loaded
    display: str  # what tables and cards show: the zoo name, or "requested[zoo_name]" for a fallback


def embedded_models() -> list[str]:
    """Zoo models whose weights come from a registry package."""
    return [e.name for e in ZOO.entries() if e.obj.package_file is not None]


def user_models() -> list[str]:
    """Zoo models whose weights the user added or fpbench derived (and that are in the cache)."""
    return [e.name for e in ZOO.entries() if e.obj.package_file is None and user_model(e.name) is not None]


def resolve(name: str) -> Resolved:
    """Map a requested model name to the zoo entry that runs; see the module docstring."""
    key = canonical(name)
    if key in PAPER_MODELS:
        if user_model(key) is not None:
            return Resolved(name, key, key)
        fallback = FALLBACKS.get(key)
        if fallback is not None:
            return Resolved(name, fallback, f"{name}[{fallback}]")
        arch = " or ".join(ARCHS[a].label for a in PAPER_MODELS[key].archs)
        raise MissingWeights(
            f"{name!r} needs your {arch} checkpoint ({PAPER_MODELS[key].reference}): run "
            f"`fpbench zoo add {key} --weights FILE`; embedded models usable instead: {', '.join(embedded_models())}"
        )
    if key in ZOO:
        return Resolved(name, key, key)
    raise UnknownName(f"unknown model {name!r}; available: {', '.join(available_targets())}")


def describe_targets() -> list[tuple[str, str, str]]:
    """(name, description, origin) of every zoo model and paper name, for ``fpbench list targets``;
    paper names without weights are listed with the command that adds them."""
    rows = [(e.name, e.description, e.obj.card.source or "zoo") for e in ZOO.entries()
            if e.obj.package_file is not None or user_model(e.name) is not None]
    for name, model in PAPER_MODELS.items():
        if user_model(name) is not None:
            continue
        fallback = FALLBACKS.get(name)
        how = f"`fpbench zoo add {name} --weights FILE`"
        desc = (f"runs {fallback} (same loss) until you add IResNet weights with {how}" if fallback
                else f"{' or '.join(ARCHS[a].label for a in model.archs)}: needs {how}")
        rows.append((name, desc, "paper model" if fallback is None else f"alias of {fallback}"))
    return rows


def available_targets() -> list[str]:
    """Every name ``resolve`` accepts now: embedded and user models, paper names with a fallback, aliases."""
    names = set(embedded_models()) | set(user_models()) | set(FALLBACKS)
    names |= {alias for alias, key in PAPER_ALIASES.items() if key in names}
    return sorted(names)
