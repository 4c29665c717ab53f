"""Training the learned attackers (``recnet.RecNet``) with the shared Trainer, cached by content hash.

One ``PairLearner`` fits a RecNet to (input, x) pairs with PMT's eq. (1), L_R = mean_i ||x_i - R(v_i)||_2,
Adam(lr) on batches drawn from a seeded per-epoch permutation of the auxiliary faces, every batch augmented
(``Batches``). ``train`` runs it into ``FPBENCH_CACHE/adversaries/<kind>-<key>/`` (key: everything that shapes
the network) or finds it there; ``auxiliary_faces`` picks the faces an attacker may train on.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from rich.console import Console

from ..cache import subdir
from ..data.dataset import FaceRecord
from ..errors import BadInput
from ..methods.erasablemask.train import augment
from ..training import Learner, Stage, Trainer, save_torch, seeded, unit_key
from ..training.progress import TrainingProgress
from .recnet import RecNet

CODE_VERSION = "1"  # bump when the network or its training changes, so older networks are not reused
RESULT = "model.pt"


@dataclass(frozen=True)
class Budget:
    """Training settings of one learned attacker per profile."""

    steps: int
    batch: int = 16
    lr: float = 1e-3
    width: int = 32
    jitter: int = 6  # flips and shifts of up to this many pixels (``augment``)
    brightness: float = 0.1  # images scaled by 1 + U(-b, b)


#: mini: 150 steps (spec B5.3), width 32; paper: the spec's width 64, longer [decision: the paper trains RecFace
#: on LFW until the Unprotected SSIM is high, 0.98-0.99, without saying for how long]
PROFILES = {"mini": Budget(steps=150), "paper": Budget(steps=3000, width=64)}
#: CPU seconds per training step on one thread (this project's 2-core build machine, batch 16) by input
STEP_SECONDS = {"mini": {"features": 0.27, "image": 0.43}, "paper": {"features": 0.47, "image": 0.72}}


def auxiliary_faces(records: Sequence[FaceRecord], evaluated: Sequence[FaceRecord]) -> list[FaceRecord]:
    """The attacker's auxiliary faces: split ``train`` records of people the run does not evaluate (disjoint
    faces and identities, spec B5.3), sorted by id."""
    people = {r.identity for r in evaluated}
    faces = sorted((r for r in records if r.split == "train" and r.identity not in people), key=lambda r: r.id)
    if not faces:
        raise BadInput("the learned attackers train on split 'train' faces of people the run does not evaluate; the "
                       "dataset has none (mark some faces of other people split=train in its manifest)")
    return faces


class Batches:
    """Seeded, augmented training batches of (input, x): the same flips, shifts and brightness for both images
    of a pair; ``encode`` (e.g. E_c) turns the augmented input image into the network input."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, budget: Budget, seed: int,
                 encode: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if inputs.shape[0] != targets.shape[0] or inputs.shape[0] == 0:
            raise ValueError(f"need as many inputs as targets (at least one), got {inputs.shape[0]} and "
                             f"{targets.shape[0]}")
        self.inputs, self.targets, self.b, self.seed, self.encode = inputs, targets, budget, seed, encode

    def __call__(self, step: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.inputs.shape[0]
        batch = min(self.b.batch, n)
        per_epoch = max(1, n // batch)
        epoch, j = divmod(step, per_epoch)
        perm = torch.randperm(n, generator=seeded(self.seed, "recnet-perm", epoch))
        idx = perm[j * batch:(j + 1) * batch]
        both = augment(torch.cat([self.inputs[idx], self.targets[idx]], 1), self.b.jitter, gen)
        scale = 1 + self.b.brightness * (2 * torch.rand(batch, 1, 1, 1, generator=gen) - 1)
        both = (both * scale).clamp(0, 1)
        v, x = both[:, :3], both[:, 3:]
        if self.encode is not None:
            with torch.no_grad():
                v = self.encode(v)
        return v, x


class PairLearner(Learner):
    """A RecNet trained on ``batches`` with eq. (1) (one stage of ``budget.steps`` steps)."""

    def __init__(self, net: RecNet, batches: Batches, budget: Budget, title: str, info: Mapping[str, Any]) -> None:
        self.net, self.batches, self.b, self.title, self.info = net, batches, budget, title, dict(info)
        self.opt = torch.optim.Adam(net.parameters(), lr=budget.lr)

    def describe(self) -> str:
        return self.title

    def stages(self) -> list[Stage]:
        return [Stage("eq. (1): mean ||x - R(v)||_2", self.b.steps)]

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        v, x = self.batches(step, generator)
        self.net.train()
        loss = (self.net(v) - x).flatten(1).norm(dim=1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"l2": loss.item()}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])

    def save_result(self, directory: Path) -> None:
        save_torch({"net": self.net.state_dict(), "code_version": CODE_VERSION}, Path(directory) / RESULT)

    def card(self) -> dict[str, Any]:
        return {"attacker": self.title, "budget": asdict(self.b), "code_version": CODE_VERSION,
                "architecture": "fpbench.adversaries.recnet.RecNet (U-Net following Wang et al. CVPR 2023, "
                                "an approximation)", **self.info}


def unit_dir(kind: str, identity: Mapping[str, Any]) -> Path:
    """``FPBENCH_CACHE/adversaries/<kind>-<key>``, the key hashing ``identity`` and the code version."""
    return subdir("adversaries") / f"{kind}-{unit_key({**identity, 'kind': kind, 'code': CODE_VERSION})}"


def seeded_net(seed: int, *args: Any, **kwargs: Any) -> RecNet:
    """A RecNet whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return RecNet(*args, **kwargs)


def train(net: RecNet, batches: Batches, budget: Budget, seed: int, directory: Path, title: str,
          info: Mapping[str, Any]) -> RecNet:
    """``net`` with the weights of the finished training in ``directory`` (trained or resumed there first;
    nothing is trained when it is complete), in eval mode and frozen."""
    learner = PairLearner(net, batches, budget, title, info)
    quiet = TrainingProgress(True, console=Console(stderr=True, force_terminal=False), lines=5)
    Trainer(learner, directory, seed, meta={"seed": seed}, progress=quiet).run()
    blob = torch.load(directory / RESULT, map_location="cpu", weights_only=True)
    net.load_state_dict(blob["net"])
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
