"""Evaluation protocols: which faces are protected and what each protected face is compared with.

* **impersonation** (ErasableMask / AMT-GAN / CLIP2Protect): every test source is protected toward every
  target identity; success when cos(FR(x_adv), FR(x_ref)) > tau, where x_ref is another photo of the target
  person (role ``gallery``) when the dataset has one, as AMT-GAN and CLIP2Protect do, else the very target
  photo the method was given (then the card says so).
* **dodging**: every test source is protected away from itself; success when cos(FR(x_adv), FR(x_ref)) < tau
  with x_ref another photo of the same person when the dataset has one, else the clean source itself.
* **restoration** (reversible methods, both goals): the restored face should be the source person again:
  success when cos(FR(x_rec), FR(x_src_ref)) > tau, x_src_ref chosen as dodging's x_ref.
"""
from __future__ import annotations

from dataclasses import dataclass

from .data.dataset import FaceDataset, FaceRecord
from .errors import BadInput


@dataclass(frozen=True)
class Pair:
    """One protected face: its source, the impersonation target (or None), the comparison reference and
    the photo of the source person a restored face is verified against."""

    source: FaceRecord
    target: FaceRecord | None
    reference: FaceRecord
    source_reference: FaceRecord

    @property
    def id(self) -> str:
        return f"{self.source.id}->{self.target.id}" if self.target is not None else self.source.id


def make_pairs(dataset: FaceDataset, goal: str) -> list[Pair]:
    """The protocol's pairs in a fixed order (sorted ids), so runs are reproducible."""
    sources = sorted(dataset.select(role="source", split="test"), key=lambda r: r.id)
    same_person: dict[str, list[FaceRecord]] = {}
    for r in sorted(dataset.records, key=lambda r: r.id):
        same_person.setdefault(r.identity, []).append(r)
    if not sources:
        raise BadInput(f"dataset {dataset.name!r} has no records with role 'source' in split 'test'")
    if goal == "impersonate":
        targets = sorted(dataset.select(role="target"), key=lambda r: r.id)
        if not targets:
            raise BadInput(f"dataset {dataset.name!r} has no records with role 'target' for impersonation")
        return [Pair(s, t, _other_photo(same_person, t, "gallery") or t, _other_photo(same_person, s) or s)
                for t in targets for s in sources if s.identity != t.identity]
    return [Pair(s, None, ref, ref) for s in sources for ref in [_other_photo(same_person, s) or s]]


def _other_photo(same_person: dict[str, list[FaceRecord]], face: FaceRecord, role: str | None = None) -> FaceRecord | None:
    """The first other photo of the same person that is not itself protected (optionally of one role)."""
    for r in same_person[face.identity]:
        if r.id != face.id and r.role not in ("source", "target") and (role is None or r.role == role):
            return r
    return None
