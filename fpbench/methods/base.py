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
from ..errors import BadInput
from ..zoo.model import FaceModel

#: White-box surrogates of the built-in methods when a run names none: three embedded zoo models, so that
#: the others (mobilefacenet = the `arcface` fallback, hse-faceres, hse-faceres-deep, mobileface256) stay
#: black boxes, as the papers train on three models and test on the rest.
DEFAULT_SURROGATES = ("sface", "mfn512", "dlib-resnet29")

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
    #: protocols the method is made for ("impersonate", "dodge")
    goals: ClassVar[tuple[str, ...]] = ("impersonate", "dodge")
    #: run-level options ("profile", "seed") the runner passes to the constructor unless given as params
    run_options: ClassVar[frozenset[str]] = frozenset()
    #: white-box models used when the run names none (say so in the method's docstring)
    default_surrogates: ClassVar[tuple[str, ...]] = ()
    #: parameters and their defaults, for methods that take ``**params`` (see ``merge_params``)
    defaults: ClassVar[dict[str, Any]] = {}
    #: what ``unperturbed`` returns, for reports
    unperturbed_name: ClassVar[str] = "the method's output without its perturbation"
    version: ClassVar[str] = "1"  # bump when the algorithm changes, to invalidate cached outputs

    def __init__(self, **params: Any) -> None:
        self.params = params

    @classmethod
    def merge_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """``defaults`` updated with the given params (None means default); unknown names are a BadInput."""
        unknown = set(params) - set(cls.defaults)
        if unknown:
            raise BadInput(f"unknown parameter(s) {sorted(unknown)} for {cls.name}; valid: {sorted(cls.defaults)}")
        return {**cls.defaults, **{k: v for k, v in params.items() if v is not None}}

    def card(self) -> dict[str, Any]:
        """Name, version and parameters; hashed into every cache key of this method's outputs."""
        return {"method": self.name, "version": self.version, "params": dict(sorted(self.params.items()))}

    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device,
            target: torch.Tensor | None = None, target_id: str = "") -> None:
        """Learn from training data (methods that need ``"training"``), toward ``target`` when the method
        is trained per impersonation target. Called on every run, cached outputs or not (the run card names
        the trained model), so a method caches its own training and loads it here when it exists."""

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        raise NotImplementedError

    def restore(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor:
        """Undo the protection; ``ctx`` is the context the images were protected with (methods holding one
        model per target use its ``target_images`` to pick the right one)."""
        raise NotImplementedError(f"{self.name} cannot restore protected images")

    def restore_with_wrong_key(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor | None:
        """Undo the protection with a key the images were *not* protected with (e.g. another checkpoint's
        restorer): a sound reversible scheme must fail here. None when the method holds no second key."""
        return None

    def unperturbed(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor | None:
        """What the method outputs without its adversarial part (ErasableMask: the attribute-edited face),
        the fair reference for image quality of semantic methods; None: the clean face is the reference."""
        return None
