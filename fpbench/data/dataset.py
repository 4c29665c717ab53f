"""FaceDataset: the records of a manifest and their aligned crops in the canonical image space."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch

from ..errors import BadInput
from ..images import from_uint8, read_image

#: Roles a face can play in a protocol.
ROLES = ("source", "target", "gallery", "probe", "distractor", "train")


@dataclass(frozen=True)
class FaceRecord:
    """One aligned face. ``crops`` maps crop size (112, 256, ...) to the aligned image file."""

    id: str
    identity: str
    role: str
    split: str = "test"
    crops: dict[int, Path] = field(default_factory=dict)
    attributes: dict[str, int] = field(default_factory=dict)  # CelebA-style names, values -1 / 1
    sha256: str = ""  # of the source image the crop was made from


def common_crop_size(records: Sequence[FaceRecord]) -> int:
    """The crop size to read ``records`` at: 112 when every record has a 112 crop, else the largest size they
    all have."""
    common = set.intersection(*(set(r.crops) for r in records))
    if not common:
        raise BadInput("the dataset's records share no crop size; re-prepare it")
    return 112 if 112 in common else max(common)


@dataclass
class FaceDataset:
    """A prepared dataset: records plus the manifest hash that run cards record."""

    name: str
    manifest_sha256: str
    records: list[FaceRecord]
    attribute_source: str = ""  # where attribute labels come from (dataset labels, hand-set, model)
    protocol: str = ""  # the evaluation protocol its manifest header names ("" = the runner's default)
    note: str = ""  # what every card and table of a run on it must say (e.g. "synthetic intra-class variation")
    pairs: tuple[tuple[str, str, bool], ...] = ()  # the manifest's verification pairs (id_a, id_b, same), if any

    def split(self, split: str) -> "FaceDataset":
        """The same dataset restricted to one split (e.g. the training faces a method may learn from)."""
        return FaceDataset(self.name, self.manifest_sha256, [r for r in self.records if r.split == split],
                           self.attribute_source, self.protocol, self.note, self.pairs)

    def select(self, role: str | None = None, split: str | None = None) -> list[FaceRecord]:
        return [r for r in self.records if (role is None or r.role == role) and (split is None or r.split == split)]

    def by_id(self, ids: Iterable[str]) -> list[FaceRecord]:
        index = {r.id: r for r in self.records}
        return [index[i] for i in ids]

    def images(self, records: Sequence[FaceRecord], size: int = 112) -> torch.Tensor:
        """Canonical batch (N, 3, size, size) of the records' aligned crops."""
        if not records:
            return torch.zeros(0, 3, size, size)
        missing = [r.id for r in records if size not in r.crops]
        if missing:
            have = sorted(set().union(*(r.crops for r in records)))
            raise BadInput(f"dataset {self.name!r} has no {size}px crops (e.g. {', '.join(missing[:3])}; it has "
                           f"{', '.join(map(str, have)) or 'none'}): use a method profile that works at one of those sizes")
        return torch.cat([from_uint8(read_image(r.crops[size])) for r in records])
