"""The ``verify`` protocol: which faces are protected and what each protected face is compared with.

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

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd
import torch

from ..data.dataset import FaceDataset, FaceRecord
from ..errors import BadInput
from .base import PROTOCOLS, Protocol

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState


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


KINDS = {"impersonate": "impersonation", "dodge": "dodging"}


class Verify(Protocol):
    """1:1 verification: impersonation (protected face vs another photo of the target) or dodging (vs another
    photo of the source); reversible methods add erasion (with the right and a wrong key) and restoration."""

    name = "verify"
    manifest_names = ("verification", "impersonation", "dodging", "clip2protect", "amt-gan")

    def items(self, dataset: FaceDataset, goal: str) -> list[Pair]:
        return make_pairs(dataset, goal)

    def card(self, state: "RunState") -> dict[str, Any]:
        pairs = state.items
        out: dict[str, Any] = {"compared_with": compared_with(pairs)}
        if state.method.reversible:
            out["restored_compared_with"] = source_references(pairs)
        return out

    def score(self, state: "RunState", protected: "Protected") -> pd.DataFrame:
        """Scores of every pair under every transform and target. Each chunk of protected images is read once,
        and transformed (and restored) once for all targets; rows come in target, transform, pair order."""
        from ..pipeline.restore import channel, restored, restored_keys, restored_store
        from ..results.files import cache_relative, record_file
        from ..pipeline.thresholds import tau
        from ..pipeline.work import chunks

        spec, pairs = state.spec, state.items
        reversible = state.method.reversible
        kind = KINDS[spec.goal]
        rows: dict[tuple[int, int], list[dict[str, Any]]] = {}  # (target index, transform index) -> rows
        task = state.progress.add_task("evaluate", total=len(state.targets) * len(state.transforms) * len(pairs))
        for target in state.targets:  # paid targets refuse to start when their request budget cannot cover the run
            target.plan(len(pairs) * len(state.transforms) * (4 if reversible else 1))
        for chunk in chunks(pairs, spec.batch_size, lambda p: p.target.id if p.target else ""):
            keys = [protected.keys[p.id] for p in chunk]
            x = protected.store.get(keys)
            refs = state.images([p.reference for p in chunk])
            src_refs = state.images([p.source_reference for p in chunk]) if reversible else None
            files = [{"clean_file": record_file(p.source, state.size),
                      "protected_file": cache_relative(protected.store.path(k)),
                      "reference_file": record_file(p.reference, state.size)} for p, k in zip(chunk, keys)]
            for f, transform in enumerate(state.transforms):
                x_t = channel(state, x, keys, transform)
                rec: dict[str, torch.Tensor | None] = {}
                rec_files: dict[str, list[str]] = {}  # kind -> restored file per pair
                if reversible:
                    store = restored_store(state, protected)
                    rec_files = {kind: [cache_relative(store.path(k))
                                        for k in restored_keys(protected, chunk, transform.name, wrong)]
                                 for kind, wrong in (("erasion", False), ("erasion-wrong-key", True))}
                    rec = {"erasion": restored(state, protected, chunk, x_t, transform),
                           "erasion-wrong-key": restored(state, protected, chunk, x_t, transform, wrong_key=True)}
                for t, target in enumerate(state.targets):
                    tau_main = tau(state, target, spec.far)
                    tau_esr = tau(state, target, spec.esr_far) if reversible else math.nan
                    with state.work.stage("embed"):
                        sims = target.score(x_t, refs, spec.batch_size)
                        sims_rec = {k: target.score(v, refs, spec.batch_size) for k, v in rec.items() if v is not None}
                        sims_src = (target.score(rec["erasion"], src_refs, spec.batch_size)
                                    if rec.get("erasion") is not None else None)
                    out = rows.setdefault((t, f), [])
                    for i, p in enumerate(chunk):
                        base = {"pair": p.id, "source": p.source.id, "target_face": p.target.id if p.target else "",
                                "target": target.display, "transform": transform.name, **files[i], "restored_file": ""}
                        sim = float(sims[i])  # NaN: the target found no face (its own outcome, never a success)
                        ok = sim > tau_main if spec.goal == "impersonate" else sim < tau_main
                        out.append({**base, "kind": kind, "similarity": sim, "threshold": tau_main, "success": ok,
                                    "outcome": outcome(sim)})
                        for rec_kind, s in sims_rec.items():  # erasion succeeds when the target no longer matches
                            out.append({**base, "kind": rec_kind, "similarity": float(s[i]), "threshold": tau_esr,
                                        "success": float(s[i]) < tau_esr, "outcome": outcome(s[i]),
                                        "restored_file": rec_files[rec_kind][i]})
                        if sims_src is not None:  # restoration succeeds when the source person matches again
                            out.append({**base, "kind": "restoration", "similarity": float(sims_src[i]),
                                        "threshold": tau_main, "success": float(sims_src[i]) > tau_main,
                                        "outcome": outcome(sims_src[i]), "restored_file": rec_files["erasion"][i],
                                        "reference_file": record_file(p.source_reference, state.size)})
                    state.progress.advance(task, len(chunk))
        return pd.DataFrame([row for key in sorted(rows) for row in rows[key]])


def outcome(similarity: float) -> str:
    """``no-face`` when the target found no face to compare (NaN similarity), else ``scored``."""
    return "no-face" if math.isnan(similarity) else "scored"


def compared_with(pairs: Sequence[Pair]) -> dict[str, Any]:
    """What protected faces were compared with: per target its reference photo, or for dodging how many
    sources had another photo of themselves."""
    if pairs and pairs[0].target is not None:
        return {p.target.id: p.reference.id for p in pairs}
    return source_references(pairs)


def source_references(pairs: Sequence[Pair]) -> dict[str, int]:
    """How many sources are verified (dodging, restoration) against another photo of the same person, and
    how many against their clean source face itself (the dataset has no other photo of them)."""
    other = sum(p.source_reference.id != p.source.id for p in pairs)
    return {"another photo of the same person": other, "the clean source itself": len(pairs) - other}


PROTOCOLS.add("verify", Verify)
