"""Plugin registries: built-ins register by decorator, third-party packages by entry point.

Each registry has a kind (``"method"``) and an entry-point group (``"fpbench.methods"``). A third-party
distribution exposes a plugin with, in its ``pyproject.toml``::

    [project.entry-points."fpbench.methods"]
    my-method = "my_package.module:MyMethod"

and fpbench finds it without any change to its own code.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable, Generic, TypeVar

from .errors import BadInput

T = TypeVar("T")


class UnknownName(BadInput, KeyError):
    """A name that is not registered; ``str()`` lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    description: str
    origin: str  # "fpbench" or the entry point's distribution name


class Registry(Generic[T]):
    """Name -> plugin object (usually a class or factory) with a one-line description."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = False

    def register(self, name: str, description: str | None = None) -> Callable[[T], T]:
        """Decorator: ``@methods.register("pgd", "Projected gradient descent")``."""

        def deco(obj: T) -> T:
            self.add(name, obj, description)
            return obj

        return deco

    def add(self, name: str, obj: T, description: str | None = None, origin: str = "fpbench") -> None:
        if name in self._entries and self._entries[name].obj is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered by {self._entries[name].origin}")
        doc = description or (getattr(obj, "__doc__", None) or "").strip().split("\n")[0]
        self._entries[name] = Entry(name, obj, doc, origin)

    def get(self, name: str) -> T:
        self._discover()
        if name not in self._entries:
            raise UnknownName(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}")
        return self._entries[name].obj

    def entry(self, name: str) -> Entry[T]:
        self.get(name)
        return self._entries[name]

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: str) -> bool:
        self._discover()
        return name in self._entries

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for ep in entry_points(group=self.group):
            if ep.name not in self._entries:
                dist = ep.dist.name if ep.dist is not None else ep.value
                self.add(ep.name, ep.load(), origin=dist)
