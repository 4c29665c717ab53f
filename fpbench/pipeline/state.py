"""RunState: what every stage of one run reads (the spec, the resolved method, data, models) and writes to
(work counts, warnings, progress)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol as Structural, Sequence

import torch
from rich.progress import Progress

from ..data.dataset import FaceDataset, FaceRecord
from ..methods import Method
from ..spec import RunSpec
from ..targets import Target
from ..transforms import Transform
from ..zoo.model import FaceModel
from .work import Work


class Item(Structural):
    """One face a run protects (protocols define their own: a verification pair, a 1:N probe, ...)."""

    @property
    def id(self) -> str: ...

    source: FaceRecord
    target: FaceRecord | None


@dataclass
class RunState:
    spec: RunSpec
    method: Method
    protocol: Any  # a fpbench.protocols.Protocol: it decides what is protected and how it is scored
    dataset: FaceDataset
    items: Sequence[Item]
    surrogate_names: tuple[str, ...]
    surrogates: list[FaceModel]
    targets: list[Target]
    transforms: list[Transform]
    device: torch.device
    progress: Progress
    threads: int
    work: Work = field(default_factory=Work)
    warnings: list[str] = field(default_factory=list)
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)
    set_quality: dict[str, Any] = field(default_factory=dict)
    attacks: dict[str, Any] = field(default_factory=dict)  # card sections of the adversaries that ran

    @property
    def size(self) -> int:
        """The working resolution: the method's."""
        return int(self.method.image_size)

    def images(self, records: Sequence, size: int | None = None) -> torch.Tensor:
        return self.dataset.images(list(records), size or self.size)

    @property
    def controls(self) -> list[str]:
        """Targets whose model is a weak control (left out of black-box averages)."""
        return [t.display for t in self.targets if getattr(getattr(t, "model", None), "card", None) is not None
                and t.model.card.control]

    @property
    def white_box(self) -> list[str]:
        """Targets whose model is also a surrogate (their scores are white-box)."""
        shas = {m.card.weights_sha256 for m in self.surrogates}
        return [t.display for t in self.targets if getattr(t, "model", None) is not None
                and t.model.card.weights_sha256 in shas]
