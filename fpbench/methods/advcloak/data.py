"""AdvCloak's training data from a dataset's split ``train``: random faces for stage I and P identities x N
images for stage II (real identities with N or more photos, or, in ``mini``, N seeded family-I variants of each
training face: synthetic intra-class variation, spec A5.1/A5.3). Every draw comes from seeded generators, so a
resumed training sees the same batches."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ...data.dataset import FaceDataset, FaceRecord
from ...data.variants import apply, draw, variant_rng
from ...errors import BadInput
from ..erasablemask.train import augment  # flips and shifts, shared with ErasableMask
from ...training import seeded
from .networks import SIZE
from .profiles import Profile


def variant(image: torch.Tensor, face_id: str, k: int, seed: int) -> torch.Tensor:
    """Family-I variant ``k`` of one canonical image (3, S, S), seeded by (seed, face id, k)."""
    crop = image.permute(1, 2, 0).mul(255).round().byte().numpy()
    out = apply(crop, draw("I", variant_rng(seed, face_id, f"advcloak-train/{k}")))
    return torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).float().div(255)


@dataclass
class TrainFaces:
    """The training faces of a dataset, read lazily at 112 px, and the stage-II identities made of them."""

    dataset: FaceDataset
    records: list[FaceRecord]
    profile: Profile
    seed: int
    people: list[list[FaceRecord]] = field(default_factory=list)  # real stage-II identities, N photos each
    _variants: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def from_dataset(cls, dataset: FaceDataset, profile: Profile, seed: int) -> "TrainFaces":
        records = sorted(dataset.select(split="train"), key=lambda r: r.id)
        if not records:
            raise BadInput(f"dataset {dataset.name!r} has no records in split 'train' to train advcloak on")
        faces = cls(dataset, records, profile, seed)
        if profile.synthetic_identities and len(records) < profile.identities:
            raise BadInput(f"advcloak ({profile.name} profile) makes one stage-II identity per training face and needs "
                           f"{profile.identities}; dataset {dataset.name!r} has {len(records)} in split 'train'")
        if not profile.synthetic_identities:
            by_person: dict[str, list[FaceRecord]] = {}
            for r in records:
                by_person.setdefault(r.identity, []).append(r)
            faces.people = [rs[:profile.images] for _, rs in sorted(by_person.items()) if len(rs) >= profile.images]
            if len(faces.people) < profile.identities:
                raise BadInput(f"advcloak ({profile.name} profile) trains stage II on identities with "
                               f"{profile.images}+ training photos; dataset {dataset.name!r} has {len(faces.people)} "
                               f"(needs {profile.identities}); use --profile mini or a dataset such as CASIA-WebFace")
        return faces

    @property
    def n_identities(self) -> int:
        return len(self.records) if self.profile.synthetic_identities else len(self.people)

    def images(self, records: list[FaceRecord]) -> torch.Tensor:
        return self.dataset.images(records, SIZE)

    def stage1_batch(self, step: int, gen: torch.Generator) -> torch.Tensor:
        """Stage-I faces of ``step``: a slice of the epoch's seeded permutation, augmented when the profile says."""
        batch = min(self.profile.stage1_batch, len(self.records))
        per_epoch = max(1, len(self.records) // batch)
        epoch, j = divmod(step, per_epoch)
        perm = torch.randperm(len(self.records), generator=seeded(self.seed, "advcloak-perm", 1, epoch))
        x = self.images([self.records[int(i)] for i in perm[j * batch:(j + 1) * batch]])
        return augment(x, self.profile.jitter, gen) if self.profile.augment else x

    def stage1_steps_per_epoch(self) -> int:
        return max(1, len(self.records) // min(self.profile.stage1_batch, len(self.records)))

    def stage2_steps_per_epoch(self) -> int:
        return max(1, self.n_identities // self.profile.identities)

    def stage2_batch(self, step: int) -> torch.Tensor:
        """Stage-II batch of ``step``: (P, N, 3, 112, 112), P identities of the epoch's seeded permutation."""
        p = self.profile
        per_epoch = self.stage2_steps_per_epoch()
        epoch, j = divmod(step, per_epoch)
        perm = torch.randperm(self.n_identities, generator=seeded(self.seed, "advcloak-perm", 2, epoch))
        chosen = [int(i) for i in perm[j * p.identities:(j + 1) * p.identities]]
        if p.synthetic_identities:
            return torch.stack([self._synthetic(self.records[i]) for i in chosen])
        return torch.stack([self.images(self.people[i]) for i in chosen])

    def _synthetic(self, record: FaceRecord) -> torch.Tensor:
        if record.id not in self._variants:
            image = self.images([record])[0]
            self._variants[record.id] = torch.stack([variant(image, record.id, k, self.seed)
                                                     for k in range(self.profile.images)])
        return self._variants[record.id]
