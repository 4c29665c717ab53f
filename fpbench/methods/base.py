"""The protection-method contract.

A method maps canonical images (see ``fpbench.images``) to protected canonical images of the same shape.
It declares what it needs; the runner supplies it through a ``ProtectContext``. Methods that can undo
their protection (ErasableMask) implement ``restore``; methods that learn implement ``fit``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import torch

from ..data.dataset import FaceDataset
from ..zoo.model import FaceModel

#: What a method may need from the runner.
NEEDS = ("surrogates", "target_images", "source_embeddings", "training")


@dataclass
class ProtectContext:
    """Everything a method may use besides the images themselves.

    ``target_images`` are the impersonation targets paired row by row with the sources (None for
    dodging); ``surrogates`` are white-box models the method may differentiate through.
    """

    goal: str  # "impersonate" or "dodge"
    surrogates: Sequence[FaceModel] = ()
    target_images: torch.Tensor | None = None
    generator: torch.Generator | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


class Method:
    """Base class of protection methods. Subclasses set ``name``/``needs`` and implement ``protect``.

    Constructor keyword arguments are the method's parameters; ``card()`` lists them with the scale the
    method runs at (``profile``) so that the cache key and the run card say exactly what ran.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    reversible: ClassVar[bool] = False
    version: ClassVar[str] = "1"  # bump when the algorithm changes, to invalidate cached outputs

    def __init__(self, **params: Any) -> None:
        self.params = params

    def card(self) -> dict[str, Any]:
        """Name, version and parameters; hashed into every cache key of this method's outputs."""
        return {"method": self.name, "version": self.version, "params": dict(sorted(self.params.items()))}

    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device) -> None:
        """Learn from training data (methods that need ``"training"``)."""

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        raise NotImplementedError

    def restore(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{self.name} cannot restore protected images")
