"""Evaluation protocols: which faces are protected and what each protected face is compared with.

* **impersonation** (ErasableMask / AMT-GAN / CLIP2Protect): every test source is protected toward every
  target identity; success when cos(FR(x_adv), FR(x_target)) > tau. The target image compared with is the
  one the method was given (the papers' protocol).
* **dodging**: every test source is protected away from itself; success when cos(FR(x_adv), FR(x_ref)) < tau
  with x_ref another photo of the same person when the dataset has one, else the clean source itself.
"""
from __future__ import annotations

from dataclasses import dataclass

from .data.dataset import FaceDataset, FaceRecord
from .errors import BadInput


@dataclass(frozen=True)
class Pair:
    """One protected face: its source, the impersonation target (or None) and the comparison reference."""

    source: FaceRecord
    target: FaceRecord | None
    reference: FaceRecord

    @property
    def id(self) -> str:
        return f"{self.source.id}->{self.target.id}" if self.target is not None else self.source.id


def make_pairs(dataset: FaceDataset, goal: str) -> list[Pair]:
    """The protocol's pairs in a fixed order (sorted ids), so runs are reproducible."""
    sources = sorted(dataset.select(role="source", split="test"), key=lambda r: r.id)
    if not sources:
        raise BadInput(f"dataset {dataset.name!r} has no records with role 'source' in split 'test'")
    if goal == "impersonate":
        targets = sorted(dataset.select(role="target"), key=lambda r: r.id)
        if not targets:
            raise BadInput(f"dataset {dataset.name!r} has no records with role 'target' for impersonation")
        return [Pair(s, t, t) for t in targets for s in sources if s.identity != t.identity]
    same_person = {}
    for r in sorted(dataset.records, key=lambda r: r.id):
        same_person.setdefault(r.identity, []).append(r)
    pairs = []
    for s in sources:
        others = [r for r in same_person[s.identity] if r.id != s.id and r.role != "source"]
        pairs.append(Pair(s, None, others[0] if others else s))
    return pairs
