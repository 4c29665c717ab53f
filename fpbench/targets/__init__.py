"""Targets: the face recognition systems a protection must fool.

Every target scores pairs of canonical images: ``score(probes, references)`` gives one similarity per row
(higher: more alike), and ``thresholds()`` the decision thresholds it brings itself. Two kinds:

* ``EmbeddingTarget``: a model that maps images to unit-norm embeddings (zoo models as ``LocalTarget``);
  embeddings are cached per image content, so 1:N protocols can use them too;
* ``PairTarget``: a service that only compares two images (commercial face-compare APIs); pair scores are
  cached by the content hash of both images, so a re-run sends nothing.

Plugins (entry-point group ``fpbench.targets``) register factories ``(device, **options) -> Target``; users
pass options as ``--target NAME:key=value,key=value``. Every target says what actually ran in ``display``
(``arcface[mobilefacenet]`` when ``arcface`` resolved to the embedded ArcFace-loss model).
"""
from __future__ import annotations

import inspect
import math
import re
from typing import Any, Callable

import numpy as np
import torch

from ..cache import json_sha256, subdir, write_json
from ..errors import BadInput
from ..images import tensor_sha256
from ..registry import Registry, UnknownName
from ..stores import EmbeddingStore
from ..zoo.model import FaceModel


class Target:
    """A face recognition system that scores pairs of canonical images."""

    name: str = ""
    display: str = ""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def score(self, probes: torch.Tensor, references: torch.Tensor, batch_size: int = 16) -> np.ndarray:
        """Similarity of each probe with the reference in the same row, shape (N,)."""
        raise NotImplementedError

    def thresholds(self) -> dict[float, tuple[float, dict[str, Any]]]:
        """Thresholds the target brings itself (a vendor's documented ones): FAR -> (tau, provenance)."""
        return {}

    @property
    def computed(self) -> int:
        """Images embedded or pairs compared by this target object (cache misses)."""
        return 0

    def plan(self, comparisons: int) -> None:
        """Told how many comparisons the run will ask for before it asks (paid targets check their budget)."""

    def card(self) -> dict[str, Any]:
        options = dict(sorted(self.options.items()))
        return {"name": self.name, "display": self.display, "kind": "target", **({"options": options} if options else {})}


class EmbeddingTarget(Target):
    """A target that embeds images (unit norm); similarity is the cosine of two embeddings."""

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def cache_key(self) -> str:
        """Identifies the embedding function: same key, same embeddings."""
        raise NotImplementedError

    @property
    def store(self) -> EmbeddingStore:
        if getattr(self, "_store", None) is None:
            self._store = EmbeddingStore(self.cache_key)
        return self._store

    def embeddings(self, images: torch.Tensor, batch_size: int = 16) -> np.ndarray:
        """Cached embeddings (N, D) of canonical images."""
        return self.store.embed(images, self.embed, batch_size)

    def score(self, probes: torch.Tensor, references: torch.Tensor, batch_size: int = 16) -> np.ndarray:
        return np.einsum("nd,nd->n", self.embeddings(probes, batch_size), self.embeddings(references, batch_size))

    @property
    def computed(self) -> int:
        return self.store.computed


class LocalTarget(EmbeddingTarget):
    """A zoo model used as a black box (or white box, when it is also a surrogate)."""

    def __init__(self, name: str, display: str, model: FaceModel) -> None:
        super().__init__()
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


class PairTarget(Target):
    """A target that can only compare two images (e.g. a commercial API). Subclasses implement ``compare``
    (or ``compare_entry`` and ``prepare`` to compare what they actually send) and set ``version`` (the service's
    API/model version: part of the cache key). A cached entry is ``{"similarity": float or None, "outcome":
    "scored" or "no-face"}``; None (the service found no face) scores NaN."""

    version: str = "1"
    cache_folder: str = "pair-scores"

    def compare(self, a: torch.Tensor, b: torch.Tensor) -> float:
        """Similarity of two canonical images (3, H, W)."""
        raise NotImplementedError

    def prepare(self, a: torch.Tensor, b: torch.Tensor) -> tuple[str, Any]:
        """(cache key of the pair, what ``compare_entry`` compares): by default the images' content hashes."""
        return json_sha256([tensor_sha256(a), tensor_sha256(b)]), (a, b)

    def compare_entry(self, payload: Any) -> dict[str, Any]:
        return {"similarity": float(self.compare(*payload)), "outcome": "scored"}

    def on_cached(self, entry: dict[str, Any]) -> None:
        """Called for every pair served from the cache (for request summaries)."""

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{json_sha256([self.version, self.options])[:16]}"

    def score(self, probes: torch.Tensor, references: torch.Tensor, batch_size: int = 16) -> np.ndarray:
        folder = subdir(self.cache_folder, self.cache_key)
        out = []
        for a, b in zip(probes, references):
            key, payload = self.prepare(a, b)
            path = folder / f"{key}.json"
            entry = _read_entry(path)
            if entry is None:
                entry = self.compare_entry(payload)
                write_json(path, entry)
                self._computed = self.computed + 1
            else:
                self.on_cached(entry)
            out.append(math.nan if entry["similarity"] is None else float(entry["similarity"]))
        return np.asarray(out, dtype=np.float64)

    @property
    def computed(self) -> int:
        return getattr(self, "_computed", 0)


def _read_entry(path) -> dict[str, Any] | None:
    """A cached pair score, None when absent; a one-line error when it is not a valid entry."""
    import json

    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text())
        if entry["outcome"] not in ("scored", "no-face") or (entry["similarity"] is None) != (entry["outcome"] == "no-face"):
            raise ValueError
        return entry
    except (ValueError, KeyError, TypeError):
        raise BadInput(f"corrupt cached pair score {path}; delete it and re-run (that pair is compared again)") from None


TARGETS: Registry[Callable[..., Target]] = Registry("target", "fpbench.targets")


def target_names() -> list[str]:
    """Every name ``make_target`` accepts: plugin targets plus zoo models and their aliases."""
    from ..zoo.names import available_targets

    return sorted(set(TARGETS.names()) | set(available_targets()))


#: Option names that would carry a secret: refused, because options end up in specs, cards and cache keys.
SECRET_OPTION = re.compile(r"key|secret|token|password|credential", re.I)


def parse_target(text: str) -> tuple[str, dict[str, str]]:
    """``NAME:key=value,key=value`` -> (NAME, options). Secrets never travel as options (they would be
    recorded in the run's spec and card): targets read them from the environment."""
    name, _, rest = text.partition(":")
    options: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"target option {item!r} in {text!r} is not key=value")
        if SECRET_OPTION.search(key):
            raise BadInput(f"target option {key.strip()!r} looks like a secret: set it in the environment variable the "
                           "target documents, never on the command line (options are recorded in run cards)")
        options[key.strip()] = value.strip()
    return name.strip(), options


def make_target(name: str, device: torch.device | str = "cpu") -> Target:
    """Build the target a user named (``NAME`` or ``NAME:key=value,...``); ``UnknownName`` lists the valid names."""
    from ..zoo import load
    from ..zoo.names import resolve

    device = torch.device(device)
    name, options = parse_target(name)
    if name in TARGETS:
        factory = TARGETS.get(name)
        accepted = _accepted_options(factory)
        unknown = sorted(set(options) - accepted) if accepted is not None else []
        if unknown:
            raise BadInput(f"target {name!r} takes no option(s) {unknown}; valid: {sorted(accepted or ())}")
        target = factory(device, **options)
        target.options = dict(options)
        return target
    try:
        r = resolve(name)
    except UnknownName:
        raise UnknownName(f"unknown target {name!r}; available: {', '.join(target_names())}") from None
    if options:
        raise BadInput(f"target {name!r} (a zoo model) takes no options, got {sorted(options)}")
    return LocalTarget(r.requested, r.display, load(r.zoo_name, device))


def _accepted_options(factory: Callable[..., Target]) -> set[str] | None:
    """Keyword options a factory takes (None: any, it has **kwargs)."""
    params = list(inspect.signature(factory).parameters.values())[1:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


from . import api  # noqa: E402,F401  (registers the commercial API adapters; they build on PairTarget)
