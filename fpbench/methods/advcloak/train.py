"""AdvCloak's two training stages as ``fpbench.training`` Learners, and where their checkpoints live.

``FPBENCH_CACHE/methods/advcloak/stage1-<key>/`` holds stage I (image-specific training, spec A2.2), keyed by
(profile, training manifest, surrogates, seed, code version) and shared by every method of the family;
``stage2-<loss>-<key>/`` holds one stage-II variant (person-specific training, A2.3), keyed by the same plus
the loss and the sha256 of the stage-I model it fine-tunes. Each is run by the shared Trainer (periodic and
Ctrl-C checkpoints, bit-identical resume, a lock, a training card) and ends in ``model.pt``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch

from ...training import Learner, Stage, Trainer, save_torch, unit_key, units_root
from ...zoo.catalog import state_dict_sha256
from ...zoo.model import FaceModel
from . import losses as L
from .data import TrainFaces
from .networks import Generator, make_networks
from .profiles import MASK_L2, Profile, departures

CODE_VERSION = "2"  # bump when training changes, so older checkpoints are not reused
RESULT = "model.pt"


def surrogate_ids(surrogates: Sequence[FaceModel]) -> list[dict[str, str]]:
    """Name and weights sha256 of each surrogate (hashed from the weights when the card has none)."""
    return [{"name": m.card.name, "weights_sha256": m.card.weights_sha256 or state_dict_sha256(m.backbone.state_dict())}
            for m in surrogates]


def stage1_dir(profile: Profile, manifest_sha256: str, surrogates: list[dict[str, str]], seed: int) -> Path:
    key = unit_key({"stage": 1, "profile": profile.stage1_settings(), "manifest": manifest_sha256, "surrogates": surrogates,
                    "seed": seed, "code": CODE_VERSION})
    return units_root("advcloak") / f"stage1-{key}"


def stage2_dir(profile: Profile, manifest_sha256: str, surrogates: list[dict[str, str]], seed: int, loss: str,
               stage1_sha256: str) -> Path:
    key = unit_key({"stage": 2, "loss": loss, "profile": profile.to_dict(), "manifest": manifest_sha256,
                    "surrogates": surrogates, "seed": seed, "stage1": stage1_sha256, "code": CODE_VERSION})
    return units_root("advcloak") / f"stage2-{loss}-{key}"


def load_generator(path: Path, device: torch.device | str = "cpu") -> Generator:
    """The frozen generator (eval mode) of a finished ``model.pt``."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    g = Generator(int(blob["ngf"]))
    g.load_state_dict(blob["g"])
    g.to(device).eval()
    for p in g.parameters():
        p.requires_grad_(False)
    return g


def set_trainable(module: torch.nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class GANStage(Learner):
    """What both stages share: G, D, their Adam optimisers, the D step, state, result and card."""

    stage_number = 0
    title = ""

    def __init__(self, profile: Profile, faces: TrainFaces, surrogates: Sequence[FaceModel], seed: int,
                 device: torch.device | str, lr: float, start: Mapping[str, Any] | None = None) -> None:
        self.p, self.faces, self.seed = profile, faces, seed
        self.device = torch.device(device)
        self.surrogates = [m.to(self.device).eval() for m in surrogates]
        self.g, self.d = make_networks(profile.ngf, seed, profile.output_gain)
        if start is not None:  # stage II fine-tunes stage I's G and D (the code's load_state_dict)
            self.g.load_state_dict(start["g"])
            self.d.load_state_dict(start["d"])
        self.g.to(self.device)
        self.d.to(self.device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=lr, betas=profile.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=lr, betas=profile.betas)

    def describe(self) -> str:
        return f"advcloak ({self.p.name} profile) {self.title}"

    def state_dict(self) -> dict[str, Any]:
        return {"g": self.g.state_dict(), "d": self.d.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])

    def save_result(self, directory: Path) -> None:
        save_torch({"g": self.g.state_dict(), "d": self.d.state_dict(), "ngf": self.p.ngf,
                    "profile": self.p.to_dict(), "stage": self.stage_number, "code_version": CODE_VERSION},
                   Path(directory) / RESULT)

    def d_step(self, x: torch.Tensor, adv: torch.Tensor, gen: torch.Generator) -> float:
        loss = L.d_loss(self.d(x), self.d(adv.detach()), self.p.label_flip, gen)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.item()

    def g_step(self, loss: torch.Tensor) -> None:
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        set_trainable(self.d, True)

    def card(self) -> dict[str, Any]:
        return {"method": "advcloak", "code_version": CODE_VERSION, "stage": self.stage_number, "title": self.title,
                "profile": self.p.to_dict(), "departures": departures(self.p), "device": str(self.device),
                "n_train_faces": len(self.faces.records)}

    @torch.no_grad()
    def report(self) -> dict[str, Any]:
        """White-box check of the finished generator on the first 8 training faces: the norm of its raw
        perturbations and the surrogate cosine of clean vs protected faces at L2 4.706."""
        self.g.eval()
        x = self.faces.images(self.faces.records[:8]).to(self.device)
        p = self.g(x)
        scaled = p * (MASK_L2 / p.flatten(1).norm(dim=1).clamp_min(1e-12)).view(-1, 1, 1, 1)
        adv = (x + scaled).clamp(0, 1)
        return {"raw_perturbation_l2": round(float(p.flatten(1).norm(dim=1).mean()), 4),
                "whitebox_cos_clean_vs_protected": {m.card.name: round(float((m(x) * m(adv)).sum(1).mean()), 4)
                                                    for m in self.surrogates}}


class ImageStage(GANStage):
    """Stage I: one perturbation per image, L_GAN + 10 cos + 1 max(||p||, 3) (spec A2.2)."""

    stage_number = 1
    title = "stage I (image-specific training)"

    def __init__(self, profile: Profile, faces: TrainFaces, surrogates: Sequence[FaceModel], seed: int,
                 device: torch.device | str) -> None:
        super().__init__(profile, faces, surrogates, seed, device, profile.stage1_lr)

    def stages(self) -> list[Stage]:
        return [Stage("image-specific (eq. 10, 12, 14)", self.p.steps(1, self.faces.stage1_steps_per_epoch()))]

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        x = self.faces.stage1_batch(step, generator).to(self.device)
        self.g.train()
        self.d.train()
        p = self.g(x)
        adv = (x + p).clamp(0, 1)
        l_d = self.d_step(x, adv, generator)
        set_trainable(self.d, False)
        l_gan = L.g_gan_loss(self.d(adv))
        l_adv = L.image_cos_loss(self.surrogates, x, adv)
        l_norm = L.norm_hinge(p, self.p.hinge)
        self.g_step(l_gan + self.p.lambda_adv1 * l_adv + self.p.lambda_norm * l_norm)
        return {"gan": l_gan.item(), "adv_cos": l_adv.item(), "norm": l_norm.item(), "d": l_d}


class ClassStage(GANStage):
    """Stage II: P identities x N images, one aggregated mask M_c per identity, L_GAN + 15 L_adv^cls +
    1 max(||M_c||, 3) (spec A2.3); ConvexHull uses the class-center loss for its warm-up steps."""

    stage_number = 2

    def __init__(self, profile: Profile, faces: TrainFaces, surrogates: Sequence[FaceModel], seed: int,
                 device: torch.device | str, loss: str, stage1: Mapping[str, Any]) -> None:
        if loss not in L.LOSSES:
            raise ValueError(f"unknown advcloak loss {loss!r}; known: {', '.join(L.LOSSES)}")
        super().__init__(profile, faces, surrogates, seed, device, profile.stage2_lr, start=stage1)
        self.loss = loss
        self.title = f"stage II (person-specific training, loss {loss})"
        self.warmup = profile.warmup(faces.stage2_steps_per_epoch()) if loss == "convex" else 0

    def stages(self) -> list[Stage]:
        return [Stage(f"person-specific, {self.loss} (eq. 2, 3, 11, 13, 15-19)",
                      self.p.steps(2, self.faces.stage2_steps_per_epoch()))]

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        xs = self.faces.stage2_batch(step).to(self.device)  # (P, N, 3, S, S)
        n_id, n = xs.shape[:2]
        flat = xs.flatten(0, 1)
        self.g.train()
        self.d.train()
        masks = self.g(flat).view(xs.shape).mean(1, keepdim=True)  # M_c = mean_i G(x_i) (eq. 2)
        adv = (xs + masks).clamp(0, 1)  # eq. 3
        l_d = self.d_step(flat, adv.flatten(0, 1), generator)
        set_trainable(self.d, False)
        loss = "center" if step < self.warmup else self.loss
        l_gan = L.g_gan_loss(self.d(adv.flatten(0, 1)))
        l_adv = L.class_loss(self.surrogates, xs, adv, loss)
        l_norm = L.norm_hinge(masks.flatten(0, 1), self.p.hinge)
        self.g_step(l_gan + self.p.lambda_adv2 * l_adv + self.p.lambda_norm * l_norm)
        return {"gan": l_gan.item(), "adv": l_adv.item(), "norm": l_norm.item(), "d": l_d}

    def card(self) -> dict[str, Any]:
        return {**super().card(), "loss": self.loss, "warmup_steps": self.warmup,
                "identities": self.faces.n_identities}


def run_stage(learner: GANStage, directory: Path, meta: Mapping[str, Any], progress: bool) -> Path:
    """Train (or resume) ``learner`` into ``directory``; the path of its finished ``model.pt``."""
    Trainer(learner, directory, learner.seed, meta=meta, progress=progress,
            checkpoint_every=learner.p.checkpoint_every).run()
    return directory / RESULT


def stage1_blob(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)
