"""The ``identify`` protocol: 1:N identification with per-pair galleries (AdvCloak / OPOM, spec A1.4).

For each protected person c and every ordered pair (i, j), i != j, of their test photos (role ``probe``):
the probe is the protected photo i; its gallery is the clean photo j (the only genuine entry) plus every
``distractor``; hit@k when fewer than k distractors are more similar to the probe than the genuine entry
(ties go to the genuine). Top-k protection = 100% - top-k accuracy, with CIs resampling identities; rows whose
probe and genuine crops come from one source photo (synthetic variants, ``same_photo``) are left out of the
``hit{k}_real`` columns, which the real-photo metrics (top1_real, top5_real) read. Person
masks are made from the person's inference photos (role ``gallery``, as the CelebA adapter writes them) and
never from test photos.

``--side gallery`` turns the search around (the Fawkes threat model): the probe is the clean photo i and the
genuine entry of its gallery is the protected photo j, i.e. the person's photos the attacker enrolled are the
masked ones. The default ``--side probe`` is AdvCloak's and OPOM's (spec A1.1). Person and universal masks
are rescaled to L2 = 4.706 ([0,1] units; 1200 on 0-255) unless ``--mask-l2`` says otherwise, as in AdvCloak's
tables (spec A2.4).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from ..data.dataset import FaceDataset, FaceRecord
from ..errors import BadInput
from ..targets import EmbeddingTarget
from .base import PROTOCOLS, OneFace, Protocol

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

TOP_K = (1, 5, 10)
#: AdvCloak's mask norm: 1200 in 0-255 units over 3 x 112 x 112 values = 1200 / 255 in [0,1] units
ADVCLOAK_MASK_L2 = 4.706
#: what each side's searches look like, for the run card and the run output
SIDE_GALLERY = {
    "probe": "per pair: protected probe photo i vs one clean genuine photo j + every distractor (spec A1.4); "
             "ties go to the genuine",
    "gallery": "per pair: clean probe photo i vs one protected genuine photo j (the attacker's enrolled photos are "
               "masked: the Fawkes threat model) + every clean distractor; ties go to the genuine",
}


class Identify(Protocol):
    """1:N identification: does a protected probe still find its owner among distractors?"""

    name = "identify"
    goals = ("dodge",)
    manifest_names = ("opom-1toN", "identification", "privacy-commons")
    needs_embeddings = True
    uses_thresholds = False
    sides = ("probe", "gallery")
    default_mask_l2 = ADVCLOAK_MASK_L2
    default_dataset = "mini-1n-synthetic"

    def items(self, dataset: FaceDataset, goal: str) -> list[OneFace]:
        probes = sorted(dataset.select(role="probe", split="test"), key=lambda r: r.id)
        per_person: dict[str, int] = {}
        for r in probes:
            per_person[r.identity] = per_person.get(r.identity, 0) + 1
        usable = [r for r in probes if per_person[r.identity] >= 2]
        if not usable:
            raise BadInput(f"dataset {dataset.name!r} has no identity with two or more 'probe' photos in split 'test': "
                           "the identify protocol needs them (and 'distractor' records); see `fpbench data manifest celeba`")
        if not dataset.select(role="distractor"):
            raise BadInput(f"dataset {dataset.name!r} has no 'distractor' records: the identify protocol's galleries need them")
        return [OneFace(r) for r in usable]

    def inference_photos(self, dataset: FaceDataset, identity: str) -> list[FaceRecord]:
        photos = sorted((r for r in dataset.select(role="gallery") if r.identity == identity), key=lambda r: r.id)
        if not photos:
            raise BadInput(f"dataset {dataset.name!r} has no inference photos (role 'gallery') of identity {identity!r} "
                           "to make a person-specific mask from")
        return photos

    def card(self, state: "RunState") -> dict[str, Any]:
        probes = state.items
        identities = {p.source.identity for p in probes}
        n = sum(_count(probes, c) * (_count(probes, c) - 1) for c in identities)
        return {"identities": len(identities), "probes": len(probes), "probe_pairs": n,
                "distractors": len(state.dataset.select(role="distractor")),
                "side": state.spec.side, "gallery": SIDE_GALLERY[state.spec.side],
                "method_scope": state.method.scope,
                "mask_l2": mask_l2_note(state.spec.mask_norm, state.method.scope)}

    def score(self, state: "RunState", protected: "Protected") -> pd.DataFrame:
        from ..pipeline.restore import channel
        from ..pipeline.work import chunks

        spec, probes = state.spec, list(state.items)
        for target in state.targets:
            if not isinstance(target, EmbeddingTarget):
                raise BadInput(f"target {target.display!r} only compares pairs; the identify protocol searches a "
                               "gallery and needs targets that embed (zoo models)")
        distractors = sorted(state.dataset.select(role="distractor"), key=lambda r: r.id)
        real_subset = has_same_photo_pairs(probes)
        rows = []
        task = state.progress.add_task("evaluate", total=len(state.targets) * len(state.transforms) * len(probes))
        for target in state.targets:
            with state.work.stage("embed"):
                clean = _embed_records(state, target, probes_records(probes))
                e_dis = _embed_records(state, target, distractors)
            clean_of = dict(zip((p.id for p in probes), clean))
            for transform in state.transforms:
                adv = []
                for chunk in chunks(probes, spec.batch_size):
                    keys = [protected.keys[p.id] for p in chunk]
                    x_t = channel(state, protected.store.get(keys), keys, transform)
                    with state.work.stage("embed"):
                        adv.append(target.embeddings(x_t, spec.batch_size))
                    state.progress.advance(task, len(chunk))
                e_adv = np.concatenate(adv)
                rows += _rows(probes, e_adv, clean_of, e_dis, target.display, transform.name, real_subset,
                              spec.side)
        return pd.DataFrame(rows)


def mask_l2_note(mask_l2: float | None, scope: str) -> str:
    """How the run's masks were scaled, for the card."""
    if mask_l2 is None:
        return ("not rescaled (--mask-l2 none)" if scope in ("person", "universal")
                else "not rescaled (image-scope method; pass --mask-l2 to rescale)")
    if mask_l2 == ADVCLOAK_MASK_L2:
        return (f"rescaled to L2 {mask_l2:g} ([0,1] units; 1200 on 0-255): the identify default for person and "
                "universal masks, as in AdvCloak's tables (--mask-l2 X overrides, --mask-l2 none turns it off)")
    return f"rescaled to L2 {mask_l2:g} ([0,1] units; {mask_l2 * 255:.0f} on 0-255) by --mask-l2"


def probes_records(probes: Sequence[OneFace]) -> list[FaceRecord]:
    return [p.source for p in probes]


def has_same_photo_pairs(probes: Sequence[OneFace]) -> bool:
    """Whether two probes of one person are crops of one source photo (a set with synthetic variants)."""
    seen = [(p.source.identity, p.source.sha256) for p in probes if p.source.sha256]
    return len(set(seen)) < len(seen)


def _count(probes: Sequence[OneFace], identity: str) -> int:
    return sum(p.source.identity == identity for p in probes)


def _embed_records(state: "RunState", target: EmbeddingTarget, records: list[FaceRecord]) -> np.ndarray:
    out = []
    for start in range(0, len(records), 256):  # bounded memory for 10,000 distractors
        out.append(target.embeddings(state.images(records[start : start + 256]), state.spec.batch_size))
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _rows(probes: Sequence[OneFace], e_adv: np.ndarray, clean_of: dict[str, np.ndarray], e_dis: np.ndarray,
          target: str, transform: str, real_subset: bool, side: str = "probe") -> list[dict[str, Any]]:
    """Per ordered pair (probe i, genuine j) of one identity: distractors above the genuine. ``side`` "probe":
    protected i vs clean j; "gallery": clean i vs protected j. With ``real_subset``, also the hits of the pairs
    of two different photos (``hit{k}_real``)."""
    rows = []
    adv_of = {p.id: e for p, e in zip(probes, e_adv)}
    query_of, genuine_of = (adv_of, clean_of) if side == "probe" else (clean_of, adv_of)
    queries = np.stack([query_of[p.id] for p in probes]) if probes else e_adv
    above_all = queries @ e_dis.T  # (probes, distractors)
    for a, p in enumerate(probes):
        for q in probes:
            if q.source.identity != p.source.identity or q.id == p.id:
                continue
            s_pg = float(queries[a] @ genuine_of[q.id])
            n_above = int((above_all[a] > s_pg).sum())
            same = bool(p.source.sha256) and p.source.sha256 == q.source.sha256
            hits = {k: n_above < k for k in TOP_K}
            rows.append({"pair": f"{p.id}|{q.id}", "identity": p.source.identity, "source": p.id, "genuine": q.id,
                         "target": target, "transform": transform, "kind": "identification", "side": side,
                         "similarity": s_pg, "n_above": n_above, "same_photo": same,
                         **{f"hit{k}": hit for k, hit in hits.items()},
                         **({f"hit{k}_real": None if same else hit for k, hit in hits.items()} if real_subset else {})})
    return rows


PROTOCOLS.add("identify", Identify)
