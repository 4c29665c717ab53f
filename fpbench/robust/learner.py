"""Adversarial fine-tuning of a face model as a ``fpbench.training`` Learner (the shared Trainer runs it:
checkpoints, Ctrl-C, bit-identical resume, progress).

``feature`` (identity-agnostic, no labels): a frozen copy f0 of the natural model anchors the embeddings. The
inner attack is PGD-Linf from a random start maximising 1 - cos(f(x + d), f0(x)) (optionally also pulling
toward another face of the batch); the outer loss is
[1 - cos(f(x_adv), f0(x))] + lambda [1 - cos(f(x), f0(x))], the second term keeping the clean embeddings of
unseen people where the natural model put them.

``trades`` (identity-labelled data): an ArcFace head (s, m), initialised at the identities' mean f0
embeddings, gives logits; the loss is ArcFace CE on clean faces + beta KL(p(x_adv) || p(x)) (the inner attack
maximises that KL) + lambda times the same clean anchor.

Batch-norm statistics stay frozen (the model is in eval mode throughout); only the backbone's weights learn.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import BadInput
from ..training import Learner, Stage, save_torch, seeded
from ..zoo.model import FaceModel
from .attack import cosine, pgd_linf
from .data import FaceCrops

KINDS = ("feature", "trades")
CODE_VERSION = "1"


@dataclass(frozen=True)
class Recipe:
    """Everything that shapes a robust fine-tuning besides the data, the base weights and the seed."""

    kind: str = "feature"
    eps: float = 4 / 255
    pgd_steps: int = 7
    targeted: float = 0.0  # weight of the inner pull toward another face of the batch (0: off)
    anchor: float = 1.0  # lambda of the clean-anchor term
    lr: float = 1e-4
    steps: int = 60
    batch_size: int = 16
    jitter: int = 4  # random shift in pixels (with random flips) applied to every batch
    beta: float = 6.0  # TRADES KL weight
    arc_scale: float = 32.0
    arc_margin: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadInput(f"robust recipe must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not (0 < self.eps <= 32 / 255 and self.pgd_steps >= 1 and self.steps >= 1 and self.batch_size >= 2
                and self.lr > 0 and self.anchor >= 0 and self.targeted >= 0):
            raise BadInput("robust recipe: need 0 < eps <= 32/255, pgd steps >= 1, steps >= 1, batch size >= 2, "
                           "lr > 0, lambda >= 0, targeted >= 0")

    @property
    def tag(self) -> str:
        """``at-eps4`` / ``trades-eps8``: the tag the robust weights get (eps in 1/255)."""
        return f"{'at' if self.kind == 'feature' else 'trades'}-eps{self.eps * 255:g}"

    def describe(self) -> str:
        """The recipe in one sentence, for the model card."""
        pgd = (f"PGD-Linf eps {self.eps * 255:g}/255, step eps/4, {self.pgd_steps} steps, random start"
               + (f", targeted pull {self.targeted:g}" if self.targeted else ""))
        if self.kind == "feature":
            loss = f"[1 - cos(f(x_adv), f0(x))] + {self.anchor:g} [1 - cos(f(x), f0(x))]"
            what = "identity-agnostic feature-space adversarial fine-tuning (no labels)"
        else:
            loss = (f"ArcFace CE (s {self.arc_scale:g}, m {self.arc_margin:g}) + {self.beta:g} KL(p(x_adv) || p(x)) "
                    f"+ {self.anchor:g} [1 - cos(f(x), f0(x))]")
            what = "TRADES-style adversarial fine-tuning with an ArcFace head (identity labels)"
        return (f"{what}: inner {pgd}; outer {loss}; Adam lr {self.lr:g}, {self.steps} steps of batch "
                f"{self.batch_size}, flips and +-{self.jitter} px shifts, frozen batch-norm statistics")


def flip_and_shift(x: torch.Tensor, jitter: int, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and shifts of up to ``jitter`` pixels (reflect padding)."""
    n, size = x.shape[0], x.shape[-1]
    flip = (torch.rand(n, generator=gen) < 0.5).view(-1, 1, 1, 1)
    x = torch.where(flip, x.flip(3), x)
    if jitter <= 0:
        return x
    shifts = torch.randint(0, 2 * jitter + 1, (n, 2), generator=gen).tolist()
    padded = F.pad(x, (jitter,) * 4, mode="reflect")
    return torch.stack([padded[i, :, dy:dy + size, dx:dx + size] for i, (dy, dx) in enumerate(shifts)])


class AdversarialFineTuning(Learner):
    """Fine-tunes a copy of ``model`` on ``data`` with ``recipe`` (``labels``: identity index per crop, TRADES)."""

    def __init__(self, model: FaceModel, recipe: Recipe, data: FaceCrops, seed: int,
                 device: torch.device | str = "cpu", labels: torch.Tensor | None = None) -> None:
        if recipe.kind == "trades" and (labels is None or int(labels.max()) < 1):
            raise BadInput("the trades recipe needs identity-labelled faces of at least 2 people (--dataset)")
        self.recipe, self.data, self.seed = recipe, data, seed
        self.device = torch.device(device)
        self.f0 = copy.deepcopy(model).to(self.device).eval()
        self.f = copy.deepcopy(model).to(self.device).eval()  # eval: batch-norm statistics stay frozen
        for p in self.f0.parameters():
            p.requires_grad_(False)
        for p in self.f.backbone.parameters():
            p.requires_grad_(True)
        self.labels = labels.to(self.device) if labels is not None else None
        self.batch = min(recipe.batch_size, len(data))
        self.steps_per_epoch = max(1, len(data) // self.batch)
        params = [p for p in self.f.backbone.parameters() if p.requires_grad]
        self.head: nn.Parameter | None = None
        if recipe.kind == "trades":
            self.head = nn.Parameter(self._class_means())
            params.append(self.head)
        self.opt = torch.optim.Adam(params, lr=recipe.lr)

    @torch.no_grad()
    def _class_means(self) -> torch.Tensor:
        assert self.labels is not None
        emb = torch.cat([self.f0(self.data.batch(torch.arange(s, min(s + 64, len(self.data)))).to(self.device))
                         for s in range(0, len(self.data), 64)])
        means = torch.zeros(int(self.labels.max()) + 1, emb.shape[1], device=self.device).index_add_(0, self.labels, emb)
        return F.normalize(means, dim=1)

    # ------------------------------------------------------------------------------- Learner hooks
    def stages(self) -> list[Stage]:
        return [Stage(f"{self.recipe.kind} adversarial fine-tuning, eps {self.recipe.eps * 255:g}/255", self.recipe.steps)]

    def describe(self) -> str:
        return f"robust fine-tuning of {self.f0.card.name} ({self.recipe.tag})"

    def state_dict(self) -> dict[str, Any]:
        out = {"backbone": self.f.backbone.state_dict(), "opt": self.opt.state_dict()}
        if self.head is not None:
            out["head"] = self.head.detach().clone()
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.f.backbone.load_state_dict(state["backbone"])
        self.opt.load_state_dict(state["opt"])
        if self.head is not None:
            self.head.data.copy_(state["head"])

    def save_result(self, directory: Path) -> None:
        save_torch({k: v.detach().cpu() for k, v in self.f.backbone.state_dict().items()}, Path(directory) / self.result_name)

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        epoch, j = divmod(step, self.steps_per_epoch)
        idx = torch.randperm(len(self.data), generator=seeded(self.seed, "perm", epoch))[j * self.batch:(j + 1) * self.batch]
        x = flip_and_shift(self.data.batch(idx), self.recipe.jitter, generator).to(self.device)
        with torch.no_grad():
            anchor = self.f0(x)
        if self.recipe.kind == "feature":
            return self._feature_step(x, anchor, generator)
        assert self.labels is not None
        return self._trades_step(x, anchor, self.labels[idx.to(self.device)], generator)

    # ----------------------------------------------------------------------------------------- steps
    def _attack(self, x: torch.Tensor, objective: Any, gen: torch.Generator) -> torch.Tensor:
        r = self.recipe
        return pgd_linf(self.f, x, objective, r.eps, r.pgd_steps, generator=gen)

    def _feature_step(self, x: torch.Tensor, anchor: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        r = self.recipe
        other = anchor.roll(1, dims=0)

        def away(e: torch.Tensor) -> torch.Tensor:
            return 1 - cosine(e, anchor) + (r.targeted * cosine(e, other) if r.targeted else 0)

        x_adv = self._attack(x, away, gen)
        adv = (1 - cosine(self.f(x_adv), anchor)).mean()
        clean = (1 - cosine(self.f(x), anchor)).mean()
        loss = adv + r.anchor * clean
        self._update(loss)
        return {"loss": loss.item(), "adv": adv.item(), "clean": clean.item()}

    def _logits(self, e: torch.Tensor) -> torch.Tensor:
        assert self.head is not None
        return self.recipe.arc_scale * (e @ F.normalize(self.head, dim=1).T)

    def _trades_step(self, x: torch.Tensor, anchor: torch.Tensor, y: torch.Tensor,
                     gen: torch.Generator) -> dict[str, float]:
        r = self.recipe
        with torch.no_grad():
            p_clean = F.log_softmax(self._logits(self.f(x)), dim=1)

        def divergence(e: torch.Tensor) -> torch.Tensor:
            return F.kl_div(p_clean, F.log_softmax(self._logits(e), dim=1), log_target=True, reduction="none").sum(1)

        x_adv = self._attack(x, divergence, gen)
        e = self.f(x)
        cos = e @ F.normalize(self.head, dim=1).T
        theta = torch.acos(cos.gather(1, y[:, None]).clamp(-1 + 1e-6, 1 - 1e-6))
        logits = r.arc_scale * cos.scatter(1, y[:, None], torch.cos(theta + r.arc_margin))
        ce = F.cross_entropy(logits, y)
        kl = F.kl_div(F.log_softmax(self._logits(e), dim=1), F.log_softmax(self._logits(self.f(x_adv)), dim=1),
                      log_target=True, reduction="batchmean")
        clean = (1 - cosine(e, anchor)).mean()
        loss = ce + r.beta * kl + r.anchor * clean
        self._update(loss)
        return {"loss": loss.item(), "ce": ce.item(), "kl": kl.item(), "clean": clean.item()}

    def _update(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    # ------------------------------------------------------------------------------------------ card
    def card(self) -> dict[str, Any]:
        return {"method": "robust-fine-tuning", "code_version": CODE_VERSION, "base": self.f0.card.name,
                "base_weights_sha256": self.f0.card.weights_sha256, "recipe": asdict(self.recipe),
                "recipe_text": self.recipe.describe(), "data": self.data.description, "n_train": len(self.data),
                "device": str(self.device)}

    def report(self) -> dict[str, Any]:
        return {"check": self.anchor_cosines()}

    def anchor_cosines(self, n: int = 32, seed: int = 1) -> dict[str, float]:
        """Mean cos to f0(x) of the fine-tuned model's clean and PGD (training eps) embeddings, and of the natural
        model's PGD embeddings, on the first ``n`` training crops."""
        x = self.data.batch(torch.arange(min(n, len(self.data)))).to(self.device)
        with torch.no_grad():
            anchor = self.f0(x)
        out = {}
        for label, model in (("fine-tuned", self.f), ("natural", self.f0)):
            adv = pgd_linf(model, x, lambda e: 1 - cosine(e, anchor), self.recipe.eps, 10, generator=seeded(seed))
            with torch.no_grad():
                out[f"{label}_adv_cos_to_f0"] = round(float(cosine(model(adv), anchor).mean()), 4)
        with torch.no_grad():
            out["fine-tuned_clean_cos_to_f0"] = round(float(cosine(self.f(x), anchor).mean()), 4)
        return out

