"""The ``authorise`` protocol (PMT, spec B1.2/C1): does the protected face still work for the models its owner
authorised, and fail for everyone else?

Verification pairs (x1, x2, y): only x1 is protected. For each target f, PMT's eq. (10):
correct = [cos(f(x~1), f(x1)) > t] and ([cos(f(x~1), f(x2)) > t] == y), at the target's calibrated threshold
(kinds ``authorised``/``unauthorised``) and at the paper's kappa = 0.2 for every model (kinds ``...-kappa``). For methods that release a float x~1 (PMT),
``correct_float`` is the same decision on the float x~1 before 8-bit quantisation (identity transform only;
spec B6 E7: does the released PNG keep the authorised accuracy?).
Targets named by ``--authorised`` are authorised, every other one unauthorised. Rows of methods with a
feature-upload output (PMT) name their float x~1 (``x_tilde``) and, for an authorised target, its shallow
feature z~1 (``z_tilde``): content hashes in the ``tensors`` cache. With x~1 = x1 (method ``none``) it is
plain verification accuracy: the Clean row. Pairs: the dataset's own pair list where its manifest has
one (lfw, agedb30, calfw, cfp-ff), else every genuine pair of the test photos (roles other than
``distractor``/``train``) and as many seeded impostor pairs; on the embedded ``mini`` set the ``mini-pmt``
pairs of spec B5.1 instead (``pmt_pairs``: 24 x1, real or synthetic genuine partners, rows flagged ``synthetic``).
"""
from __future__ import annotations

import random
from itertools import combinations
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..data.dataset import FaceDataset, FaceRecord
from ..errors import BadInput
from .base import PROTOCOLS, OneFace, Protocol
from .pmt_pairs import SYNTHETIC, mini_pmt_pairs

if TYPE_CHECKING:
    import torch

    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

KAPPA = 0.2  # PMT §6.2: one cosine threshold for every model


def verification_pairs(dataset: FaceDataset, seed: int = 0) -> list[tuple[FaceRecord, FaceRecord, int]]:
    """The dataset's own pair list (its manifest header: lfw, agedb30, calfw, cfp-ff) where it has one, else
    genuine pairs of the test photos then as many seeded impostor pairs, as (x1, x2, label)."""
    if dataset.name == "mini":
        return mini_pmt_pairs(dataset, seed)
    if dataset.pairs:
        return listed_pairs(dataset)
    faces = sorted((r for r in dataset.records if r.split == "test" and r.role not in ("distractor", "train")),
                   key=lambda r: r.id)
    genuine = [(a, b, 1) for a, b in combinations(faces, 2) if a.identity == b.identity]
    impostor = [(a, b, 0) for a, b in combinations(faces, 2) if a.identity != b.identity]
    if not genuine:
        raise BadInput(f"dataset {dataset.name!r} has no two test photos of one person: the authorise protocol needs "
                       "genuine pairs")
    random.Random(seed).shuffle(impostor)
    return genuine + sorted(impostor[: len(genuine)], key=lambda t: (t[0].id, t[1].id))


def listed_pairs(dataset: FaceDataset) -> list[tuple[FaceRecord, FaceRecord, int]]:
    """The manifest's pairs whose two faces were prepared (a face the detector missed drops its pairs)."""
    index = {r.id: r for r in dataset.records}
    pairs = [(index[a], index[b], int(same)) for a, b, same in dataset.pairs if a in index and b in index]
    if not pairs:
        raise BadInput(f"dataset {dataset.name!r}: none of the {len(dataset.pairs)} pairs of its manifest has both "
                       f"faces prepared; run `fpbench data prepare {dataset.name}`")
    return pairs


class Authorise(Protocol):
    """PMT's authorised vs unauthorised accuracy on verification pairs (eq. 10)."""

    name = "authorise"
    goals = ("dodge",)
    manifest_names = ("pmt", "lfw-pairs")
    needs_embeddings = False
    #: the paper scores five models; fpbench's embedded ones (mobileface256, a weak control, left out)
    default_targets = ("mobilefacenet", "sface", "mfn512", "dlib-resnet29", "hse-faceres", "hse-faceres-deep")
    default_attacks = ("attributes",)  # under a minute: the Table VIII lines of every PMT run

    def items(self, dataset: FaceDataset, goal: str) -> list[OneFace]:
        seen: dict[str, OneFace] = {}
        for a, _, _ in verification_pairs(dataset):
            seen.setdefault(a.id, OneFace(a))
        return list(seen.values())

    def card(self, state: "RunState") -> dict[str, Any]:
        pairs = verification_pairs(state.dataset)
        return {"pairs": len(pairs), "genuine": sum(y for _, _, y in pairs), "kappa": KAPPA,
                "synthetic_genuine": sum(b.role == SYNTHETIC for _, b, _ in pairs),
                "authorised": list(state.spec.authorised)}

    def score(self, state: "RunState", protected: "Protected") -> pd.DataFrame:
        from ..pipeline.restore import channel
        from ..pipeline.thresholds import tau

        spec = state.spec
        if not spec.authorised:
            raise BadInput("the authorise protocol needs --authorised TARGET[,TARGET] (the models the owner allows)")
        names = {n for t in state.targets for n in (t.name, t.display)}
        unknown = [a for a in spec.authorised if a not in names]
        if unknown:
            raise BadInput(f"--authorised {unknown[0]!r} is not one of the run's targets ({', '.join(sorted(names))})")
        pairs = verification_pairs(state.dataset)
        items = {p.id: p for p in state.items}
        keys = [protected.keys[a.id] for a, _, _ in pairs]
        x1 = state.images([a for a, _, _ in pairs])
        x2 = state.images([b for _, b, _ in pairs])
        adv = protected.store.get(keys)
        refs = {a.id: protected.refs(a.id) or {} for a, _, _ in pairs}
        floats = float_x_tilde(protected, [refs[a.id] for a, _, _ in pairs])
        rows = []
        for transform in state.transforms:
            adv_t = channel(state, adv, keys, transform)
            for target in state.targets:
                allowed = target.name in spec.authorised or target.display in spec.authorised
                with state.work.stage("embed"):
                    s_self = target.score(adv_t, x1, spec.batch_size)
                    s_pair = target.score(adv_t, x2, spec.batch_size)
                    if floats is not None and transform.name == "identity":
                        f_self, f_pair = target.score(floats, x1, spec.batch_size), target.score(floats, x2, spec.batch_size)
                    else:
                        f_self = f_pair = [None] * len(pairs)
                for kind, t in (("", tau(state, target, spec.far)), ("-kappa", KAPPA)):
                    for (a, b, y), ss, sp, fs, fp in zip(pairs, s_self, s_pair, f_self, f_pair):
                        rows.append({"pair": f"{a.id}|{b.id}", "source": items[a.id].id, "target": target.display,
                                     "transform": transform.name,
                                     "kind": ("authorised" if allowed else "unauthorised") + kind, "label": y,
                                     "synthetic": b.role == SYNTHETIC,
                                     "similarity": float(sp), "self_similarity": float(ss), "threshold": t,
                                     "correct": bool(ss > t and (sp > t) == bool(y)),
                                     "correct_float": None if fs is None else bool(fs > t and (fp > t) == bool(y)),
                                     "x_tilde": refs[a.id].get("x_tilde"),
                                     "z_tilde": (refs[a.id].get("z_tilde") or {}).get(target.display)})
        return pd.DataFrame(rows)


def float_x_tilde(protected: "Protected", refs: list[dict[str, Any]]) -> "torch.Tensor | None":
    """The float x~1 of every pair (before 8-bit quantisation) when the method released them, else None."""
    hashes = [r.get("x_tilde") for r in refs]
    if protected.tensors is None or not hashes or None in hashes:
        return None
    import torch

    return torch.stack([protected.tensors.get(h) for h in hashes])


PROTOCOLS.add("authorise", Authorise)
