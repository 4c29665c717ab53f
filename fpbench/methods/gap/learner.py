"""Training GAP's universal mask on the shared Trainer: one stage of seeded steps, resumable bit for bit.

Each step draws ``batch`` training faces (with replacement) and a horizontal flip per face from the step's
generator, makes U = scale_linf(G(z)) from the fixed noise z, and lowers the mean cosine similarity between
the surrogates' embeddings of x and clip(x + U). The result file holds U, z, the generator and the settings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F

from ...data.dataset import FaceDataset
from ...training import Learner, Stage, save_torch, seeded
from ...zoo.model import FaceModel
from .generator import ResnetGenerator, init_weights, scale_linf
from .profiles import Settings

CODE_VERSION = "1"  # bump when training changes, so older checkpoints are not reused


class GapLearner(Learner):
    """The generator, its optimiser and the fixed noise input."""

    result_name = "model.pt"

    def __init__(self, settings: Settings, train: FaceDataset, surrogates: Sequence[FaceModel], seed: int,
                 device: torch.device | str = "cpu", size: int = 112) -> None:
        self.settings, self.train, self.surrogates = settings, train, list(surrogates)
        self.records = sorted(train.records, key=lambda r: r.id)
        self.device, self.size = torch.device(device), size
        self.generator = ResnetGenerator(settings.ngf, settings.blocks)
        init_weights(self.generator, seeded(seed, "gap", "init"))
        self.generator.to(self.device).train()
        self.noise = (torch.rand(1, 3, size, size, generator=seeded(seed, "gap", "noise")) * 255).to(self.device)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=settings.lr, betas=(settings.beta1, 0.999))

    def describe(self) -> str:
        return f"GAP universal mask (ngf {self.settings.ngf}, {self.settings.blocks} blocks)"

    def stages(self) -> Sequence[Stage]:
        return [Stage("universal perturbation", self.settings.steps)]

    def optimizers(self) -> Sequence[torch.optim.Optimizer]:
        return [self.optimizer]

    def mask(self) -> torch.Tensor:
        """U (1, 3, S, S) in [0, 1] image units, per-channel L-infinity <= ``settings.linf``."""
        return scale_linf(self.generator(self.noise), self.settings.linf)

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        pick = torch.randint(len(self.records), (self.settings.batch,), generator=generator)
        flip = torch.rand(self.settings.batch, generator=generator) < 0.5
        x = self.train.images([self.records[int(i)] for i in pick], self.size)
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x).to(self.device)
        self.generator.train()
        x_adv = (x + self.mask()).clamp(0, 1)
        losses = []
        for model in self.surrogates:
            with torch.no_grad():
                clean = model(x)
            losses.append(F.cosine_similarity(model(x_adv), clean, dim=1).mean())
        loss = torch.stack(losses).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"cos": float(loss.detach())}

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                "noise": self.noise.cpu()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.noise = state["noise"].to(self.device)

    @torch.no_grad()
    def final_mask(self) -> torch.Tensor:
        self.generator.train()  # batch statistics, as in every training step
        return self.mask()[0].cpu()

    def save_result(self, directory: Path) -> None:
        save_torch({"mask": self.final_mask(), "noise": self.noise.cpu(), "generator": self.generator.state_dict(),
                    "settings": self.settings.to_dict(), "code_version": CODE_VERSION},
                   Path(directory) / self.result_name)

    def card(self) -> dict[str, Any]:
        return {"settings": self.settings.to_dict(), "code_version": CODE_VERSION,
                "training_faces": len(self.records)}

    def report(self) -> dict[str, Any]:
        u = self.final_mask()
        return {"mask_linf_per_channel": [round(float(v), 6) for v in u.abs().amax(dim=(1, 2))],
                "mask_l2": round(float(u.norm()), 4)}
