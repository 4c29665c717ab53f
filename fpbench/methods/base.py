"""The protection-method contract (v2).

A method maps canonical images (see ``fpbench.images``) to protected canonical images of the same shape, at
the working resolution it declares (``image_size``). It declares what it needs; the runner supplies it through
a ``ProtectContext`` that also carries the ids of the faces involved, so methods holding several models route
by id. A method protects in one of three ways (``scope``):

* ``"image"``: ``protect(x, ctx)``, one protected image per input (FGSM/PGD, ErasableMask);
* ``"person"``: ``person_mask(images_of_one_identity, ctx)``, one additive mask per person, made from their
  inference photos and added to all their test photos (AdvCloak, OPOM, FI-UAP+); the runner never passes test
  images to it;
* ``"universal"``: ``universal_mask(ctx)``, one additive mask for everyone (GAP, FI-UAP).

Methods that learn implement ``fit`` (called once per run, in the fit stage, on the training split only, before
any output is made) and report what they fitted in ``fitted_state``, which every cache key of their outputs
contains. Methods that can undo their protection (ErasableMask) implement ``restore``.
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

#: How a method protects (see the module docstring).
SCOPES = ("image", "person", "universal")


@dataclass(frozen=True)
class TargetFace:
    """One impersonation target a method is fitted toward: its record id, identity and canonical image(s)."""

    id: str
    identity: str
    images: torch.Tensor


@dataclass
class ProtectContext:
    """Everything a method may use besides the images themselves.

    ``target_images`` are the impersonation targets paired row by row with the sources (None for dodging),
    ``target_ids``/``target_identities`` their record ids and identities, ``source_ids`` the rows' own record
    ids (for a person mask: the inference photos'); ``surrogates`` are white-box models the method may
    differentiate through; ``authorised`` the models an authorised party uses (PMT).
    """

    goal: str  # "impersonate" or "dodge"
    surrogates: Sequence[FaceModel] = ()
    target_images: torch.Tensor | None = None
    generator: torch.Generator | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    source_ids: tuple[str, ...] = ()
    target_ids: tuple[str, ...] = ()
    target_identities: tuple[str, ...] = ()
    identity: str | None = None  # the person a person_mask is made for
    authorised: Sequence[FaceModel] = ()

    def surrogate_anchors(self, x: torch.Tensor, method: str) -> tuple[list[FaceModel], list[torch.Tensor]]:
        """The surrogates and, per surrogate, the embeddings an attack on ``x`` (on ``device``) moves toward
        (the targets, impersonation) or away from (``x`` itself, dodging); ``method`` names the caller in
        the error when there is no surrogate."""
        surrogates = list(self.surrogates)
        if not surrogates:
            raise BadInput(f"{method} needs at least one surrogate model (--surrogate NAME[,NAME...])")
        with torch.no_grad():
            ref = self.target_images.to(self.device) if self.goal == "impersonate" else x
            return surrogates, [m(ref) for m in surrogates]


class Method:
    """Base class of protection methods. Subclasses set ``name``/``needs``/``scope`` and implement
    ``protect`` (scope "image"), ``person_mask`` ("person") or ``universal_mask`` ("universal").

    Constructor keyword arguments are the method's parameters; ``card()`` lists them with the scale the
    method runs at (``profile``) so that the cache key and the run card say exactly what ran.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    scope: ClassVar[str] = "image"
    reversible: ClassVar[bool] = False
    #: goals the method is made for ("impersonate", "dodge")
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
    #: side (pixels) of the square canonical crops the method works on; the runner reads the dataset at it
    image_size: int = 112

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

    # --------------------------------------------------------------------------------- learning
    def fit(self, train: FaceDataset, surrogates: Sequence[FaceModel], device: torch.device,
            target: TargetFace | None = None) -> None:
        """Learn from ``train`` (the dataset's training split only) for methods that need ``"training"``,
        toward ``target`` when the method is trained per impersonation target. Called once per run and
        target in the fit stage, cached outputs or not, so a method caches its own training and loads it here
        when it exists."""

    def fitted_state(self, target_id: str = "") -> dict[str, Any]:
        """What the outputs for ``target_id`` depend on beyond ``card()``: e.g. the sha256 of the checkpoint
        used (and so of its training data). Part of every cache key of the method's outputs."""
        return {}

    # ------------------------------------------------------------------------------- protection
    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        """Protected images, same shape as ``x`` (scope "image")."""
        raise NotImplementedError(f"{self.name} makes no image-specific protection (scope {self.scope!r})")

    def person_mask(self, images: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        """One additive mask (3, H, W) for the person whose inference photos are ``images`` (scope "person")."""
        raise NotImplementedError(f"{self.name} makes no person-specific mask (scope {self.scope!r})")

    def universal_mask(self, ctx: ProtectContext) -> torch.Tensor:
        """One additive mask (3, H, W) for everyone (scope "universal")."""
        raise NotImplementedError(f"{self.name} makes no universal mask (scope {self.scope!r})")

    # ------------------------------------------------------------------------------ reversibility
    def restore(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor:
        """Undo the protection; ``ctx`` is the context the images were protected with (methods holding one
        model per target route by its ``target_ids``)."""
        raise NotImplementedError(f"{self.name} cannot restore protected images")

    def restore_with_wrong_key(self, x: torch.Tensor, ctx: ProtectContext | None = None) -> torch.Tensor | None:
        """Undo the protection with a key the images were *not* protected with (e.g. another checkpoint's
        restorer): a sound reversible scheme must fail here. None when the method holds no second key."""
        return None

    def unperturbed(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor | None:
        """What the method outputs without its adversarial part (ErasableMask: the attribute-edited face),
        the fair reference for image quality of semantic methods; None: the clean face is the reference."""
        return None
