"""``fpbench zoo robustness NAME``: a natural model and its robust tags side by side.

On the evaluation data (default ``mini-1n-synthetic``, without the people the default robust training data
contains, so every evaluated face is unseen by the fine-tuning), per model:

* clean TAR at FAR ``far`` with the model's own threshold from all impostor pairs of the data;
* robust accuracy of verification decisions under white-box PGD-20 at eps 2, 4, 8/255 on ``pairs`` genuine
  pairs (the attack pushes the probe away from the reference) and ``pairs`` impostor pairs (toward it),
  with the same threshold;
* the median minimal Linf perturbation that flips a correct decision (binary search per pair, PGD-10 at each
  eps, up to ``search_max``; "> max" when more than half never flip);
* the transfer ASR of fpbench's PGD on the default surrogates (dodging the genuine probes, impersonating the
  impostor references): the share of correct decisions it flips.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from ..data import load_dataset
from ..errors import BadInput
from ..metrics.thresholds import pair_scores, thresholds_from_scores
from ..methods.base import DEFAULT_SURROGATES, ProtectContext
from ..methods.gradient import IterativeAttack
from ..training import seeded
from ..zoo import load
from ..zoo.model import FaceModel
from .attack import cosine, pgd_linf
from .data import training_identities


@dataclass(frozen=True)
class ReportSettings:
    dataset: str = "mini-1n-synthetic"
    far: float = 0.01
    eps: tuple[float, ...] = (2 / 255, 4 / 255, 8 / 255)
    pgd_steps: int = 20
    pairs: int = 16  # genuine and impostor pairs attacked, each
    search_steps: int = 6  # bisections of the minimal flipping eps
    search_pgd_steps: int = 10
    search_max: float = 32 / 255
    transfer_eps: float = 4 / 255  # fpbench's pgd default budget
    surrogates: tuple[str, ...] = DEFAULT_SURROGATES
    seed: int = 0


@dataclass
class Pairs:
    """Probe images, the indices of their reference faces, and whether each pair is genuine."""

    images: torch.Tensor  # every evaluation face
    identities: list[str]
    probe: torch.Tensor
    ref: torch.Tensor
    genuine: torch.Tensor  # bool

    @property
    def sign(self) -> torch.Tensor:
        """+1 where the attack raises the pair's cosine (impostor pairs), -1 where it lowers it."""
        return torch.where(self.genuine, -1.0, 1.0)


@dataclass
class ModelRow:
    model: str
    tau: float
    tar: float | None
    n_impostor: int
    n_genuine: int
    clean_accuracy: float
    robust_accuracy: dict[str, float] = field(default_factory=dict)  # eps in /255 -> accuracy
    median_flip_eps: float | None = None  # in /255; None: more than half never flip within search_max
    transfer_asr: float | None = None


def evaluation_pairs(s: ReportSettings) -> Pairs:
    """Faces of ``s.dataset`` outside any training split and the default training people; seeded pairs."""
    dataset = load_dataset(s.dataset)
    seen = training_identities()
    records = sorted((r for r in dataset.records if r.split != "train" and r.identity not in seen), key=lambda r: r.id)
    ids = [r.identity for r in records]
    i, j = np.triu_indices(len(records), k=1)
    same = np.array(ids)[i] == np.array(ids)[j]
    if same.sum() < 1 or (~same).sum() < 1:
        raise BadInput(f"dataset {s.dataset!r} has no genuine or no impostor pairs among its unseen faces")
    gen = seeded(s.seed, "robustness pairs")
    chosen = []
    for mask in (same, ~same):
        where = torch.from_numpy(np.flatnonzero(mask))
        chosen.append(where[torch.randperm(len(where), generator=gen)[: s.pairs]])
    pick = torch.cat(chosen)
    return Pairs(dataset.images(records, 112), ids, torch.from_numpy(i)[pick], torch.from_numpy(j)[pick],
                 torch.from_numpy(same)[pick])


@torch.no_grad()
def _embed(model: FaceModel, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([model(x[s:s + 64]) for s in range(0, len(x), 64)])


def _correct(model: FaceModel, x: torch.Tensor, ref: torch.Tensor, genuine: torch.Tensor, tau: float) -> torch.Tensor:
    with torch.no_grad():
        return (cosine(model(x), ref) > tau) == genuine


def _attack(model: FaceModel, p: Pairs, ref: torch.Tensor, eps: float | torch.Tensor, steps: int, seed: Any,
            alpha: float | torch.Tensor | None = None) -> torch.Tensor:
    sign = p.sign
    return pgd_linf(model, p.images[p.probe], lambda e: sign * cosine(e, ref), eps, steps, alpha, seeded(seed))


def minimal_flip(model: FaceModel, p: Pairs, ref: torch.Tensor, tau: float, s: ReportSettings) -> torch.Tensor:
    """Per pair, the smallest eps (binary search, PGD at each) flipping its decision; 0 for wrong decisions,
    inf for those that do not flip at ``s.search_max``."""
    x = p.images[p.probe]
    lo, hi = torch.zeros(len(x)), torch.full((len(x),), s.search_max)
    correct = _correct(model, x, ref, p.genuine, tau)
    flipped_at_max = ~_correct(model, _attack(model, p, ref, hi, s.search_pgd_steps, (s.seed, "max")), ref, p.genuine, tau)
    for k in range(s.search_steps):
        mid = (lo + hi) / 2
        flips = ~_correct(model, _attack(model, p, ref, mid, s.search_pgd_steps, (s.seed, "bisect", k)), ref, p.genuine, tau)
        hi, lo = torch.where(flips, mid, hi), torch.where(flips, lo, mid)
    return torch.where(~correct, torch.zeros_like(hi), torch.where(flipped_at_max, hi, torch.full_like(hi, float("inf"))))


def transferred(p: Pairs, s: ReportSettings) -> torch.Tensor:
    """fpbench's PGD (eps ``s.transfer_eps``, 20 steps) on the default surrogates: dodging for genuine pairs,
    impersonating the reference for impostor pairs."""
    surrogates = [load(n) for n in s.surrogates]
    attack = IterativeAttack(eps=s.transfer_eps)
    x = p.images[p.probe]
    out = x.clone()
    for goal, mask in (("dodge", p.genuine), ("impersonate", ~p.genuine)):
        if mask.any():
            ctx = ProtectContext(goal=goal, surrogates=surrogates, generator=seeded(s.seed, "transfer", goal),
                                 target_images=p.images[p.ref[mask]] if goal == "impersonate" else None)
            out[mask] = attack.protect(x[mask], ctx).cpu()
    return out


def model_row(name: str, p: Pairs, s: ReportSettings, x_transfer: torch.Tensor | None,
              model: FaceModel | None = None) -> ModelRow:
    """The report's measurements of one model (``model`` given: used instead of loading ``name``)."""
    model = model if model is not None else load(name)
    emb = _embed(model, p.images)
    impostor, genuine = pair_scores(emb.numpy(), p.identities)
    estimates, skipped = thresholds_from_scores(impostor, genuine, [s.far])
    if not estimates:
        raise next(iter(skipped.values()))
    est = estimates[s.far]
    ref = emb[p.ref]
    x = p.images[p.probe]
    correct = _correct(model, x, ref, p.genuine, est.tau)
    row = ModelRow(name, est.tau, est.tar, est.n_impostor, est.n_genuine, float(correct.float().mean()))
    for eps in s.eps:
        adv = _attack(model, p, ref, eps, s.pgd_steps, (s.seed, "pgd", eps), alpha=2.5 * eps / s.pgd_steps)
        row.robust_accuracy[f"{eps * 255:g}"] = float(_correct(model, adv, ref, p.genuine, est.tau).float().mean())
    flips = minimal_flip(model, p, ref, est.tau, s)[correct]
    if len(flips):
        median = statistics.median(flips.tolist())
        row.median_flip_eps = None if median == float("inf") else round(median * 255, 2)
    if x_transfer is not None and correct.any():
        still = _correct(model, x_transfer, ref, p.genuine, est.tau)
        row.transfer_asr = float((~still[correct]).float().mean())
    return row


def robustness_report(names: Sequence[str], s: ReportSettings, transfer: bool = True) -> dict[str, Any]:
    """Every model's row on the same pairs, with the settings (JSON-ready)."""
    p = evaluation_pairs(s)
    x_transfer = transferred(p, s) if transfer else None
    rows = [model_row(n, p, s, x_transfer) for n in names]
    return {"settings": asdict(s), "n_faces": len(p.identities), "n_people": len(set(p.identities)),
            "pairs": {"genuine": int(p.genuine.sum()), "impostor": int((~p.genuine).sum())},
            "rows": [asdict(r) for r in rows]}
