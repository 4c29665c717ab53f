"""The protocol contract: which faces a run protects and how protected faces are scored.

A protocol turns a dataset into ``items`` (one protected image each: ``.id``, ``.source`` record, ``.target``
record or None) and scores them against every target through the processing channel. Three are built in
(``fpbench list protocols``): ``verify`` (1:1 impersonation and dodging, with erasion and restoration for
reversible methods), ``identify`` (1:N top-k, the AdvCloak/OPOM protocol) and ``authorise`` (PMT: authorised vs
unauthorised models on verification pairs). A new protocol is one module registering a ``Protocol``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import pandas as pd

from ..data.dataset import FaceDataset, FaceRecord
from ..errors import BadInput
from ..pipeline.state import Item
from ..registry import Registry

if TYPE_CHECKING:
    from ..pipeline.state import RunState
    from ..pipeline.protect import Protected


@dataclass(frozen=True)
class OneFace:
    """An item that is one photo protected on its own (a 1:N probe, PMT's x1): no impersonation target."""

    source: FaceRecord
    target: None = None

    @property
    def id(self) -> str:
        return self.source.id


class Protocol:
    """Base class of evaluation protocols."""

    name: ClassVar[str] = ""
    #: goals the protocol can run ("impersonate", "dodge"); the first is its default
    goals: ClassVar[tuple[str, ...]] = ("impersonate", "dodge")
    #: names a dataset manifest's header may give for this protocol
    manifest_names: ClassVar[tuple[str, ...]] = ()
    #: whether the protocol needs targets that embed (1:N search cannot be done with a pair-compare API)
    needs_embeddings: ClassVar[bool] = False
    #: whether scoring decides at the targets' FAR thresholds (1:N ranking does not)
    uses_thresholds: ClassVar[bool] = True
    #: which photos the protection is applied to (``--side``; the first is the default, see ``spec.SIDES``)
    sides: ClassVar[tuple[str, ...]] = ("probe",)
    #: L2 norm ([0,1] units) person and universal masks are rescaled to unless ``--mask-l2`` says otherwise
    default_mask_l2: ClassVar[float | None] = None
    #: the dataset `fpbench run --protocol NAME` uses when no --dataset is given
    default_dataset: ClassVar[str] = "mini"
    #: targets a CLI run uses when it names none (empty: --target is required), after the --authorised ones
    default_targets: ClassVar[tuple[str, ...]] = ()
    #: adversaries a CLI run of a protecting method runs when --attacks is not given (``--attacks none``: none)
    default_attacks: ClassVar[tuple[str, ...]] = ()

    def items(self, dataset: FaceDataset, goal: str) -> Sequence[Item]:
        """The faces to protect, in a fixed order."""
        raise NotImplementedError

    def inference_photos(self, dataset: FaceDataset, identity: str) -> list[FaceRecord]:
        """The photos a person-specific mask for ``identity`` is made from (never test photos)."""
        raise BadInput(f"protocol {self.name!r} has no inference photos to make a person-specific mask from; "
                       "run person-scope methods (random-mask, the OPOM family) with --protocol identify on a 1:N "
                       "dataset such as --dataset mini-1n-synthetic")

    def score(self, state: "RunState", protected: "Protected") -> pd.DataFrame:
        """One row per protected face, target, transform and kind."""
        raise NotImplementedError

    def card(self, state: "RunState") -> dict[str, Any]:
        """What the protected faces were compared with, for the run card."""
        return {}


PROTOCOLS: Registry[type[Protocol]] = Registry("protocol", "fpbench.protocols")


def default_dataset(protocol: str) -> str:
    """The dataset a run of ``protocol`` ("" = none named) uses when it names none: the protocol's own."""
    return PROTOCOLS.get(protocol).default_dataset if protocol else Protocol.default_dataset


def protocol_for(name: str, dataset: FaceDataset) -> Protocol:
    """The protocol a run asked for (``name``), else the one the dataset's manifest names, else ``verify``."""
    if name:
        return PROTOCOLS.get(name)()
    for entry in PROTOCOLS.entries():
        if dataset.protocol and dataset.protocol in (entry.name, *entry.obj.manifest_names):
            return entry.obj()
    return PROTOCOLS.get("verify")()
