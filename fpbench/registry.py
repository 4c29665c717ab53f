"""Plugin registries: built-ins register by decorator, third-party packages by entry point.

Each registry has a kind (``"method"``) and an entry-point group (``"fpbench.methods"``). A third-party
distribution exposes a plugin with, in its ``pyproject.toml``::

    [project.entry-points."fpbench.methods"]
    my-method = "my_package.module:MyMethod"

and fpbench finds it without any change to its own code.

A family resolves a whole namespace of names on first use: ``methods.add_family("torchattacks", factory, ...)``
makes ``get("torchattacks:PGD")`` register and return ``factory("PGD")``.
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
        self._families: dict[str, tuple[Callable[[str], T], str]] = {}
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

    def add_family(self, prefix: str, factory: Callable[[str], T], description: str) -> None:
        """Names ``prefix:NAME``, each made by ``factory(NAME)`` on first use (a BadInput for a wrong NAME)."""
        self._families[prefix] = (factory, description)

    def families(self) -> list[tuple[str, str]]:
        """(``prefix:NAME``, description) of every family, for listings."""
        return [(f"{prefix}:NAME", description) for prefix, (_, description) in sorted(self._families.items())]

    def get(self, name: str) -> T:
        self._discover()
        prefix, _, member = name.partition(":")
        if name not in self._entries and member and prefix in self._families:
            self.add(name, self._families[prefix][0](member), origin=prefix)
        if name not in self._entries:
            available = self.names() + [pattern for pattern, _ in self.families()]
            raise UnknownName(f"unknown {self.kind} {name!r}; available: {', '.join(available)}")
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
