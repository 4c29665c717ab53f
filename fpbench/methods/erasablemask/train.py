"""Three-stage curriculum of ErasableMask (eq. 14-16) as a ``fpbench.training`` Learner: its data, stage
steps and card. The shared Trainer runs it (checkpoints, Ctrl-C, bit-identical resume, progress, lock).

Every random draw of a step (batch order, augmentation, target attributes, noise-pool operation) comes
from generators seeded by (seed, stage, step), so a resumed run produces the same weights, bit for bit, as
an uninterrupted one. On several processes (``fpbench train erasablemask --nproc N``) each draws them for the
whole batch, then trains on its own rows (``shard``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...data.dataset import FaceDataset, FaceRecord
from ...errors import BadInput
from ...images import tensor_sha256
from ...training import Learner, Stage, Trainer, derive_seed, seeded
from ...training.distributed import mean, shard
from ...zoo.model import FaceModel
from ..base import TargetFace
from . import losses as L
from .checkpoints import CODE_VERSION, save_model
from .meta_aux import AdaptiveWeights, meta_auxiliary_losses
from .networks import ErasableMaskNets
from .noise_pool import NoisePool
from .profiles import ATTGAN_ATTRIBUTES, FLIP_ATTRIBUTES, INTERPRETATIONS, Profile, departures

STAGE_TITLES = ("attribute editing (eq. 14)", "adversarial mask + restorer (eq. 15)", "restorer (eq. 16)")


def to_resolution(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a square batch to ``size`` (antialiased bilinear); unchanged if it already is."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def flip_one(att: torch.Tensor, flip_idx: Sequence[int], choice: torch.Tensor) -> torch.Tensor:
    """att_b: ``att`` (+-1) with attribute ``flip_idx[choice[i]]`` of row i negated."""
    cols = torch.tensor(list(flip_idx), device=att.device)[choice.to(att.device)]
    att_b = att.clone()
    rows = torch.arange(att.shape[0], device=att.device)
    att_b[rows, cols] = -att_b[rows, cols]
    return att_b


def choose_attributes(records: Sequence[FaceRecord]) -> tuple[list[str], list[str]]:
    """Attributes the generator is conditioned on (AttGAN's and the flip candidates the dataset has, else all
    labels every record carries) and the ones flipped to form att_b."""
    common = [n for n in records[0].attributes if all(n in r.attributes for r in records)]
    if not common:
        raise BadInput("erasablemask needs attribute labels on every training face (FaceRecord.attributes)")
    names = [n for n in common if n in ATTGAN_ATTRIBUTES or n in FLIP_ATTRIBUTES] or common
    return names, [n for n in names if n in FLIP_ATTRIBUTES] or names


@dataclass
class TrainSet:
    """Training faces of a dataset (split ``train``), read lazily, with their attribute matrix."""

    dataset: FaceDataset
    records: list[FaceRecord]
    crop_size: int
    attrs: torch.Tensor  # (N, n) in {-1, 1}
    attribute_names: list[str]
    flip_names: list[str]

    @classmethod
    def from_dataset(cls, dataset: FaceDataset) -> "TrainSet":
        records = sorted(dataset.select(split="train"), key=lambda r: r.id)
        if not records:
            raise BadInput(f"dataset {dataset.name!r} has no records in split 'train' to train erasablemask on")
        sizes = set.intersection(*(set(r.crops) for r in records))
        if not sizes:
            raise BadInput(f"dataset {dataset.name!r}: the training faces share no crop size")
        names, flips = choose_attributes(records)
        attrs = torch.tensor([[float(r.attributes[n]) for n in names] for r in records])
        if not bool(((attrs == 1) | (attrs == -1)).all()):
            raise BadInput(f"dataset {dataset.name!r}: attribute values must be -1 or 1")
        return cls(dataset, records, max(sizes), attrs, names, flips)

    @property
    def flip_indices(self) -> list[int]:
        return [self.attribute_names.index(n) for n in self.flip_names]

    def images(self, idx: torch.Tensor, resolution: int) -> torch.Tensor:
        recs = [self.records[int(i)] for i in idx]
        return to_resolution(self.dataset.images(recs, self.crop_size), resolution)


def augment(x: torch.Tensor, jitter: int, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips and integer shifts of up to ``jitter`` pixels (reflect padding)."""
    n, size = x.shape[0], x.shape[-1]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    if jitter <= 0:
        return x
    shifts = torch.randint(0, 2 * jitter + 1, (n, 2), generator=gen)
    padded = F.pad(x, (jitter,) * 4, mode="reflect")
    return torch.stack([padded[i, :, dy : dy + size, dx : dx + size] for i, (dy, dx) in enumerate(shifts.tolist())])


def set_trainable(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


class Curriculum(Learner):
    """The networks, optimisers and stage steps of one ErasableMask model toward ``target`` (None: stage 1
    only, which neither the target nor the surrogates affect)."""

    def __init__(self, profile: Profile, data: TrainSet, surrogates: Sequence[FaceModel], target: TargetFace | None,
                 seed: int, device: torch.device | str) -> None:
        self.p = profile
        self.data = data
        self.device = torch.device(device)
        self.seed = seed
        self.surrogates = [m.to(self.device).eval() for m in surrogates]
        self.target_images = target.images.detach().cpu() if target is not None else None
        self.target_id = target.id if target is not None else ""
        self.target_embs: list[torch.Tensor] = []
        n = len(data.records)
        self.batch = min(profile.batch_size, n)
        self.steps_per_epoch = max(1, n // self.batch)
        self.flip_idx = data.flip_indices
        self.pool = NoisePool(profile.noise_pool, profile.noise_identity)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(seed, "init"))
            self.nets = ErasableMaskNets(profile, len(data.attribute_names)).to(self.device)
        self.weights = AdaptiveWeights(len(self.surrogates))
        nets, lr, betas = self.nets, profile.lr, profile.betas
        self.opts = {
            "g": torch.optim.Adam(nets.g.parameters(), lr=lr, betas=betas),
            "d": torch.optim.Adam(nets.d.parameters(), lr=lr, betas=betas),
            "er": torch.optim.Adam(nets.adversarial_param_groups(lr, profile.adv_decoder_lr_scale), lr=lr, betas=betas),
            "r": torch.optim.Adam(nets.r.parameters(), lr=lr, betas=betas),
        }

    # ------------------------------------------------------------------------------- Learner hooks
    def stages(self) -> list[Stage]:
        return [Stage(title, self.p.steps(k, self.steps_per_epoch)) for k, title in enumerate(STAGE_TITLES, 1)]

    def describe(self) -> str:
        what = f"target {self.target_id!r}" if self.target_images is not None else "stage 1 (attribute editing)"
        return f"erasablemask ({self.p.name} profile), {what}"

    def check(self, until: int) -> None:
        if until >= 2:
            self._prepare_attack()

    def state_dict(self) -> dict[str, Any]:
        return {"nets": self.nets.state_dict(), "opts": {k: o.state_dict() for k, o in self.opts.items()},
                "weights": self.weights.state_dict()}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return list(self.opts.values())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.nets.load_state_dict(state["nets"])
        for k, o in self.opts.items():
            o.load_state_dict(state["opts"][k])
        self.weights.load_state_dict(state["weights"])

    def start_stage(self, stage: int) -> None:
        if stage == 2:
            self.nets.start_stage2()

    def end_step(self, stage: int, done: int) -> None:
        if stage == 2 and done % self.steps_per_epoch == 0:
            self.weights.end_epoch()

    def snapshot(self) -> dict[str, torch.Tensor]:
        return self.nets.state_dict()

    def shared_result(self, stage: int) -> dict[str, Any]:
        return {"nets": self.nets.state_dict(), "opts": {k: self.opts[k].state_dict() for k in ("g", "d")}}

    def load_shared_result(self, stage: int, blob: Mapping[str, Any]) -> None:
        self.nets.load_state_dict(blob["nets"])
        for k in ("g", "d"):
            self.opts[k].load_state_dict(blob["opts"][k])

    def save_result(self, directory: Path) -> None:
        assert self.target_images is not None
        save_model(directory, self.nets, self.p, self.data.attribute_names, self.data.flip_names,
                   self.target_id, self.target_images)

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        x01, att_a = self._batch(stage, step, generator)
        self._modes(stage)
        return (self._stage1, self._stage2, self._stage3)[stage - 1](x01, att_a, generator)

    # ----------------------------------------------------------------------------------------- data
    def _batch(self, stage: int, step: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, j = divmod(step, self.steps_per_epoch)
        perm = torch.randperm(len(self.data.records), generator=seeded(self.seed, "perm", stage, epoch))
        idx = perm[j * self.batch : (j + 1) * self.batch]
        x = self.data.images(idx, self.p.resolution)
        if self.p.augment:
            x = augment(x, self.p.jitter, gen)
        return x.to(self.device), self.data.attrs[idx].to(self.device)

    def _att_b(self, att_a: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        choice = torch.randint(len(self.flip_idx), (att_a.shape[0],), generator=gen)
        return flip_one(att_a, self.flip_idx, choice)

    # ----------------------------------------------------------------------------------------- steps
    def _modes(self, stage: int) -> None:
        n = self.nets
        n.train(False)
        set_trainable(n, False)
        if stage == 1:
            n.g.train()
            set_trainable(n.g, True)
        if stage in (1, 2):
            n.d.train()
            set_trainable(n.d, True)
        if stage == 2:  # E_adv (and the adversarial decoder) keep G's batch-norm statistics (eval mode)
            for p in n.adversarial_parameters():
                p.requires_grad_(True)
        if stage in (2, 3):
            n.r.train()
            set_trainable(n.r, True)

    def _d_step(self, x: torch.Tensor, att_a: torch.Tensor, fake: torch.Tensor) -> float:
        d = self.nets.d
        real_logit, real_att = d(x)
        fake_logit, _ = d(fake.detach())
        loss = L.d_adv_loss(real_logit, fake_logit) + L.att_loss(real_att, att_a)
        self.opts["d"].zero_grad(set_to_none=True)
        loss.backward()
        self.opts["d"].step()
        return loss.item()

    def _stage1(self, x01: torch.Tensor, att_a: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        p, g, d = self.p, self.nets.g, self.nets.d
        x = x01 * 2 - 1
        att_b = att_a[torch.randperm(att_a.shape[0], generator=gen).to(att_a.device)]
        x, att_a, att_b = shard(x), shard(att_a), shard(att_b)
        code_a, code_b = att_a * p.thres_int, att_b * p.thres_int
        with torch.no_grad():
            fake = g(x, code_b)
        l_d = self._d_step(x, att_a, fake)
        set_trainable(d, False)
        zs = g.enc(x)
        fake_logit, fake_att = d(g.decode(x, zs, code_b))
        l_rec = L.rec_loss(g.decode(x, zs, code_a), x)
        l_att = L.att_loss(fake_att, att_b)
        l_g = L.g_adv_loss(fake_logit)
        loss = p.lambda_rec * l_rec + p.lambda_att * l_att + p.lambda_g * l_g
        self.opts["g"].zero_grad(set_to_none=True)
        loss.backward()
        self.opts["g"].step()
        set_trainable(d, True)
        return {"loss": loss.item(), "rec": l_rec.item(), "att": l_att.item(), "g": l_g.item(), "d": l_d}

    def _stage2(self, x01: torch.Tensor, att_a: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        self._prepare_attack()
        p, nets = self.p, self.nets
        x = x01 * 2 - 1
        att_b = self._att_b(att_a, gen)
        _, channel = self.pool.draw(gen)
        x, att_a, att_b = shard(x), shard(att_a), shard(att_b)
        code_b = att_b * p.thres_int
        with torch.no_grad():
            ft = nets.g.enc(x)
            x_cov_b = nets.g.decode(x, ft, code_b)
            fake = nets.adv_generate(x, code_b, ft)
        l_d = self._d_step(x, att_a, fake)
        set_trainable(nets.d, False)
        x_adv = nets.adv_generate(x, code_b, ft)
        x_seen = channel((x_adv + 1) / 2)
        params = dict(nets.e_adv.named_parameters())

        def regenerate(inner: dict[str, torch.Tensor]) -> torch.Tensor:
            return channel((nets.adv_generate(x, code_b, ft, inner) + 1) / 2)

        pri, aux = meta_auxiliary_losses(
            x_seen, regenerate, params, self.surrogates, self.target_embs,
            self.weights.weights().to(self.device), p.meta_lr, p.second_order,
        )
        l_adv = L.adv_loss(pri, aux, p.epsilon)
        l_era = L.era_loss(nets.restore(x_seen * 2 - 1), x)
        fake_logit, fake_att = nets.d(x_adv)
        l_att = L.att_loss(fake_att, att_b)
        l_g = L.g_adv_loss(fake_logit)
        l_perb = L.perb_loss(x_adv, x_cov_b, p.sigma1)
        loss = (p.lambda_att * l_att + p.lambda_g * l_g + p.lambda_adv * l_adv + p.lambda_era * l_era
                + p.lambda_perb * l_perb)
        self.opts["er"].zero_grad(set_to_none=True)
        loss.backward()
        self.opts["er"].step()
        set_trainable(nets.d, True)
        self.weights.record(mean(pri.detach()).tolist())  # every rank's weights follow the global batch
        out = {"loss": loss.item(), "adv": l_adv.item(), "era": l_era.item(), "perb": l_perb.item(),
               "att": l_att.item(), "g": l_g.item(), "d": l_d, "aux": aux.mean().item()}
        out.update({f"pri_{m.card.name}": v for m, v in zip(self.surrogates, pri.tolist())})
        return out

    def _stage3(self, x01: torch.Tensor, att_a: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        p, nets = self.p, self.nets
        x = x01 * 2 - 1
        code_b = self._att_b(att_a, gen) * p.thres_int
        _, channel = self.pool.draw(gen)
        x, code_b = shard(x), shard(code_b)
        with torch.no_grad():
            x_seen = channel((nets.adv_generate(x, code_b) + 1) / 2)
        l_era = L.era_loss(nets.restore(x_seen * 2 - 1), x)
        self.opts["r"].zero_grad(set_to_none=True)
        l_era.backward()
        self.opts["r"].step()
        return {"era": l_era.item()}

    def _prepare_attack(self) -> None:
        """Surrogate embeddings of the target face, needed from stage 2 on."""
        if not self.surrogates or self.target_images is None:
            raise BadInput("erasablemask stages 2-3 need surrogate models (--surrogate NAME[,NAME...]) and a target face")
        if not self.target_embs:
            with torch.no_grad():
                self.target_embs = [m(self.target_images.to(self.device)) for m in self.surrogates]

    @torch.no_grad()
    def whitebox_cosines(self, n: int = 16) -> dict[str, dict[str, float]]:
        """Mean cos(FR(x), FR(x_target)) per surrogate on the first ``n`` training faces, for the clean face,
        the attribute-edited face x_cov^{att_b}, the protected face x_adv and its restoration."""
        nets, p = self.nets, self.p
        nets.eval()
        idx = torch.arange(min(n, len(self.data.records)))
        x01 = self.data.images(idx, p.resolution).to(self.device)
        x = x01 * 2 - 1
        att_b = flip_one(self.data.attrs[idx].to(self.device), self.flip_idx, idx % len(self.flip_idx))
        ft = nets.g.enc(x)
        images = {"clean": x01, "edited": (nets.g.decode(x, ft, att_b * p.thres_int) + 1) / 2}
        images["protected"] = (nets.adv_generate(x, att_b * p.thres_int, ft) + 1) / 2
        images["restored"] = (nets.restore(images["protected"].clamp(0, 1) * 2 - 1) + 1) / 2
        return {
            m.card.name: {k: round(float((m(v.clamp(0, 1)) @ t.T).mean()), 4) for k, v in images.items()}
            for m, t in zip(self.surrogates, self.target_embs)
        }

    def card(self) -> dict[str, Any]:
        return {
            "method": "erasablemask",
            "code_version": CODE_VERSION,
            "profile": self.p.to_dict(),
            "departures": departures(self.p),
            "interpretations": INTERPRETATIONS,
            "target": ({"id": self.target_id, "sha256": tensor_sha256(self.target_images)}
                       if self.target_images is not None else None),
            "device": str(self.device),
            "n_train": len(self.data.records),
            "batch_size": self.batch,
            "steps_per_epoch": self.steps_per_epoch,
            "attributes": self.data.attribute_names,
            "flip_attributes": self.data.flip_names,
            "meta_step": "second-order (double gradient)" if self.p.second_order else "first-order",
            "surrogate_weight_history": self.weights.history,
        }

    def report(self) -> dict[str, Any]:
        return {"whitebox_cos_to_target": self.whitebox_cosines()}


def trainer(curriculum: Curriculum, directory: Path, meta: Mapping[str, Any] | None = None, progress: bool = True,
            shared_stage1: Path | None = None) -> Trainer:
    """The shared Trainer running ``curriculum`` into ``directory`` (stage 1 shared through ``shared_stage1``)."""
    return Trainer(curriculum, directory, curriculum.seed, meta=meta, progress=progress,
                   checkpoint_every=curriculum.p.checkpoint_every,
                   share={1: shared_stage1} if shared_stage1 is not None else None)


def train_stage1(profile: Profile, data: TrainSet, seed: int, device: torch.device | str, shared: Path,
                 progress: bool = True) -> None:
    """Train (once, under its own lock) the attribute editor of stage 1 into the ``shared`` file that every
    target's model and the attributes-modified baseline start from."""
    curriculum = Curriculum(profile, data, (), None, seed, device)
    trainer(curriculum, shared.with_suffix(""), progress=progress, shared_stage1=shared).run(until=1)
