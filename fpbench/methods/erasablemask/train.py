"""Three-stage curriculum training of ErasableMask (eq. 14-16), resumable and deterministic on CPU.

Every random draw of a step (batch order, augmentation, target attributes, noise-pool operation) comes
from generators seeded by (seed, stage, step), so a run resumed from ``progress.pt`` produces the same
weights, bit for bit, as an uninterrupted one.
"""
from __future__ import annotations

import hashlib
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ...cache import file_sha256
from ...data.dataset import FaceDataset, FaceRecord
from ...errors import BadInput
from ...images import tensor_sha256
from ...zoo.model import FaceModel
from . import losses as L
from .checkpoints import CODE_VERSION, read_card, save_model, save_torch, write_card
from .meta_aux import AdaptiveWeights, meta_auxiliary_losses
from .networks import ErasableMaskNets
from .noise_pool import NoisePool
from .profiles import ATTGAN_ATTRIBUTES, FLIP_ATTRIBUTES, INTERPRETATIONS, Profile, departures

STAGE_TITLES = {1: "attribute editing (eq. 14)", 2: "adversarial mask + restorer (eq. 15)", 3: "restorer (eq. 16)"}


def derive_seed(*parts: Any) -> int:
    """A 62-bit seed from any printable parts (stable across runs and platforms)."""
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:15], 16)


def seeded(*parts: Any) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


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


@contextmanager
def deferred_interrupt() -> Iterator[list[bool]]:
    """Hold Ctrl-C (SIGINT) until the caller checks the yielded flag, so a step is never cut in half and
    the state saved on interruption is one an uninterrupted run also passes through. Only Python's own
    Ctrl-C handling is taken over: off the main thread, or where SIGINT is ignored (a background job) or
    handled by someone else, nothing changes."""
    flag = [False]
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield flag
        return

    def hold(signum: int, frame: Any) -> None:
        flag[0] = True

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def set_trainable(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def curve_summary(rows: list[dict[str, float]], points: int = 10) -> dict[str, dict[str, Any]]:
    """Per loss: mean of the first and last tenth of the steps and ``points`` chunk means."""
    if not rows:
        return {}
    out = {}
    n = len(rows)
    tenth = max(1, n // 10)
    for key in rows[0]:
        vals = torch.tensor([r[key] for r in rows], dtype=torch.float64)
        chunks = torch.tensor_split(vals, min(points, n))
        out[key] = {
            "first": round(float(vals[:tenth].mean()), 5),
            "last": round(float(vals[-tenth:].mean()), 5),
            "points": [round(float(c.mean()), 5) for c in chunks],
        }
    return out


class Trainer:
    """Runs stages 1-3 of one ErasableMask model into ``directory`` (resuming from ``progress.pt``)."""

    def __init__(
        self,
        profile: Profile,
        data: TrainSet,
        surrogates: Sequence[FaceModel],
        target_images: torch.Tensor | None,
        target_id: str,
        directory: Path,
        seed: int,
        device: torch.device | str,
        meta: dict[str, Any] | None = None,
        progress: bool = True,
        shared_stage1: Path | None = None,
    ) -> None:
        self.p = profile
        self.data = data
        self.device = torch.device(device)
        self.seed = seed
        self.dir = Path(directory)
        self.meta = dict(meta or {})
        self.progress = progress
        self.shared_stage1 = shared_stage1
        self.surrogates = [m.to(self.device).eval() for m in surrogates]
        self.target_images = target_images.detach().cpu() if target_images is not None else None
        self.target_id = target_id
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
            "er": torch.optim.Adam(chain(nets.e_adv.parameters(), nets.r.parameters()), lr=lr, betas=betas),
            "r": torch.optim.Adam(nets.r.parameters(), lr=lr, betas=betas),
        }
        self._steps_left: int | None = None
        self.state: dict[str, Any] = {
            "stage": 1, "step": 0, "curves": {1: [], 2: [], 3: []}, "wall": {1: 0.0, 2: 0.0, 3: 0.0},
        }

    # ----------------------------------------------------------------------------------------- state
    def stage_steps(self, stage: int) -> int:
        return self.p.steps(stage, self.steps_per_epoch)

    def _save_progress(self) -> None:
        save_torch({
            "nets": self.nets.state_dict(),
            "opts": {k: o.state_dict() for k, o in self.opts.items()},
            "weights": self.weights.state_dict(),
            "state": self.state,
        }, self.dir / "progress.pt")

    def _resume(self) -> None:
        path = self.dir / "progress.pt"
        if not path.is_file():
            return
        blob = torch.load(path, map_location=self.device, weights_only=True)
        self.nets.load_state_dict(blob["nets"])
        for k, o in self.opts.items():
            o.load_state_dict(blob["opts"][k])
        self.weights.load_state_dict(blob["weights"])
        self.state = blob["state"]

    def _reuse_stage1(self) -> None:
        """Start from a finished shared stage 1 (bit-identical to training it again: same data, seed and
        profile) instead of repeating it for every target."""
        if self.state["stage"] != 1 or self.state["step"] != 0 or self.shared_stage1 is None:
            return
        if not self.shared_stage1.is_file():
            return
        blob = torch.load(self.shared_stage1, map_location=self.device, weights_only=True)
        self.nets.load_state_dict(blob["nets"])
        for k in ("g", "d"):
            self.opts[k].load_state_dict(blob["opts"][k])
        self.state["curves"][1], self.state["wall"][1] = blob["curve"], blob["wall"]
        save_torch(self.nets.state_dict(), self.dir / "stage1.pt")
        self.state["stage"] = 2
        self.meta["stage1"] = f"shared: {self.shared_stage1.name}"

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
        if stage == 2:
            set_trainable(n.e_adv, True)  # E_adv keeps G_enc's batch-norm statistics (eval mode)
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
        code_a, code_b = att_a * p.thres_int, att_b * p.thres_int
        with torch.no_grad():
            fake = g(x, code_b)
        l_d = self._d_step(x, att_a, fake)
        set_trainable(d, False)
        zs = g.enc(x)
        fake_logit, fake_att = d(g.dec(zs, code_b))
        l_rec = L.rec_loss(g.dec(zs, code_a), x)
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
        code_b = att_b * p.thres_int
        with torch.no_grad():
            ft = nets.g.enc(x)
            x_cov_b = nets.g.dec(ft, code_b)
            fake = nets.adv_generate(x, code_b, ft)
        l_d = self._d_step(x, att_a, fake)
        set_trainable(nets.d, False)
        _, channel = self.pool.draw(gen)
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
        self.weights.record(pri.detach().tolist())
        out = {"loss": loss.item(), "adv": l_adv.item(), "era": l_era.item(), "perb": l_perb.item(),
               "att": l_att.item(), "g": l_g.item(), "d": l_d, "aux": aux.mean().item()}
        out.update({f"pri_{m.card.name}": v for m, v in zip(self.surrogates, pri.tolist())})
        return out

    def _stage3(self, x01: torch.Tensor, att_a: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        p, nets = self.p, self.nets
        x = x01 * 2 - 1
        code_b = self._att_b(att_a, gen) * p.thres_int
        _, channel = self.pool.draw(gen)
        with torch.no_grad():
            x_seen = channel((nets.adv_generate(x, code_b) + 1) / 2)
        l_era = L.era_loss(nets.restore(x_seen * 2 - 1), x)
        self.opts["r"].zero_grad(set_to_none=True)
        l_era.backward()
        self.opts["r"].step()
        return {"era": l_era.item()}

    def _step(self, stage: int, step: int) -> dict[str, float]:
        gen = seeded(self.seed, "step", stage, step)
        x01, att_a = self._batch(stage, step, gen)
        self._modes(stage)
        return (self._stage1, self._stage2, self._stage3)[stage - 1](x01, att_a, gen)

    # ----------------------------------------------------------------------------------------- run
    def _prepare_attack(self) -> None:
        """Surrogate embeddings of the target face, needed from stage 2 on."""
        if not self.surrogates or self.target_images is None:
            raise BadInput("erasablemask stages 2-3 need surrogate models (--surrogate NAME[,NAME...]) and a target face")
        if not self.target_embs:
            with torch.no_grad():
                self.target_embs = [m(self.target_images.to(self.device)) for m in self.surrogates]

    def run(self, max_steps: int | None = None, until: int = 3) -> bool:
        """Train stages 1..``until`` until finished (True) or until ``max_steps`` steps were done in this
        call (False). Ctrl-C finishes the current step, saves ``progress.pt`` and re-raises, so nothing but
        that step's wall time is lost; the next call resumes from there.

        ``until=1`` trains attribute editing only, into the shared stage-1 file (no model.pt)."""
        if until == 1 and self.shared_stage1 is not None and self.shared_stage1.is_file():
            return True
        if (self.dir / "model.pt").is_file() and (read_card(self.dir) or {}).get("complete"):
            return True
        if until >= 2:
            self._prepare_attack()
        self._resume()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._reuse_stage1()
        self._steps_left = max_steps
        console = Console(stderr=True)
        if self.progress:
            console.print(self._announcement(until), highlight=False)
        with deferred_interrupt() as interrupted:
            for stage in range(self.state["stage"], until + 1):
                if not self._run_stage(stage, console, interrupted):
                    return False
                self._finish_stage(stage)
        if until < 3:
            (self.dir / "progress.pt").unlink()  # the shared stage-1 file holds the result
            return True
        save_model(self.dir, self.nets, self.p, self.data.attribute_names, self.data.flip_names,
                   self.target_id, self.target_images)
        write_card(self.dir, self.card(complete=True))
        (self.dir / "progress.pt").unlink()  # the finished model supersedes the resumable state
        return True

    def _announcement(self, until: int) -> str:
        """What is about to be trained, and from where, in one line."""
        what = (f"erasablemask ({self.p.name} profile): training stage 1 (attribute editing)" if until == 1 else
                f"erasablemask ({self.p.name} profile): no trained model for target {self.target_id!r}; training "
                f"stages 1-{until}")
        steps = " + ".join(str(self.stage_steps(k)) for k in range(1, until + 1))
        stage, step = self.state["stage"], self.state["step"]
        where = f"resuming at stage {stage}, step {step}" if (stage, step) != (1, 0) else "from scratch"
        shared = "; stage 1 shared with the other targets" if self.meta.get("stage1") else ""
        return f"{what} ({steps} steps, {where}{shared}); Ctrl-C saves, a re-run resumes"

    def _run_stage(self, stage: int, console: Console, interrupted: list[bool]) -> bool:
        """Steps of ``stage`` from the saved position; False when the call's step budget ran out first."""
        total = self.stage_steps(stage)
        if stage == 2 and self.state["step"] == 0:
            self.nets.start_stage2()
        columns = [TextColumn(f"stage {stage}/3 {STAGE_TITLES[stage]}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
        with Progress(*columns, console=console, disable=not self.progress) as bar:
            task = bar.add_task("", total=total, completed=self.state["step"], info="")
            while self.state["step"] < total:
                if self._steps_left is not None:
                    if self._steps_left <= 0:
                        return False
                    self._steps_left -= 1
                t0 = time.perf_counter()
                row = self._step(stage, self.state["step"])
                self.state["wall"][stage] += time.perf_counter() - t0
                self.state["curves"][stage].append(row)
                self.state["step"] += 1
                step = self.state["step"]
                if stage == 2 and step % self.steps_per_epoch == 0:
                    self.weights.end_epoch()
                if interrupted[0]:
                    self._save_progress()
                    raise KeyboardInterrupt(f"saved {self.dir / 'progress.pt'} at stage {stage} step {step}")
                if step % self.p.checkpoint_every == 0 and step < total:
                    self._save_progress()
                bar.update(task, completed=step, info=" ".join(f"{k}={v:.3g}" for k, v in list(row.items())[:5]))
        return True

    def _finish_stage(self, stage: int) -> None:
        if stage < 3:
            save_torch(self.nets.state_dict(), self.dir / f"stage{stage}.pt")
        if stage == 1 and self.shared_stage1 is not None:
            save_torch({"nets": self.nets.state_dict(), "opts": {k: self.opts[k].state_dict() for k in ("g", "d")},
                        "curve": self.state["curves"][1], "wall": self.state["wall"][1]}, self.shared_stage1)
        self.state["stage"], self.state["step"] = stage + 1, 0
        self._save_progress()
        write_card(self.dir, self.card(complete=False))

    # ----------------------------------------------------------------------------------------- report
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
        images = {"clean": x01, "edited": (nets.g.dec(ft, att_b * p.thres_int) + 1) / 2}
        images["protected"] = (nets.adv_generate(x, att_b * p.thres_int, ft) + 1) / 2
        images["restored"] = (nets.restore(images["protected"].clamp(0, 1) * 2 - 1) + 1) / 2
        return {
            m.card.name: {k: round(float((m(v.clamp(0, 1)) @ t.T).mean()), 4) for k, v in images.items()}
            for m, t in zip(self.surrogates, self.target_embs)
        }

    def card(self, complete: bool) -> dict[str, Any]:
        s = self.state
        card = {
            **self.meta,
            "method": "erasablemask",
            "code_version": CODE_VERSION,
            "complete": complete,
            "profile": self.p.to_dict(),
            "departures": departures(self.p),
            "interpretations": INTERPRETATIONS,
            "seed": self.seed,
            "target": ({"id": self.target_id, "sha256": tensor_sha256(self.target_images)}
                       if self.target_images is not None else None),
            "device": str(self.device),
            "n_train": len(self.data.records),
            "batch_size": self.batch,
            "steps_per_epoch": self.steps_per_epoch,
            "stage_steps": {k: self.stage_steps(k) for k in (1, 2, 3)},
            "attributes": self.data.attribute_names,
            "flip_attributes": self.data.flip_names,
            "meta_step": "second-order (double gradient)" if self.p.second_order else "first-order",
            "wall_seconds": {k: round(v, 1) for k, v in s["wall"].items()},
            "loss_curves": {k: curve_summary(v) for k, v in s["curves"].items()},
            "surrogate_weight_history": self.weights.history,
        }
        if complete:
            card["model_sha256"] = file_sha256(self.dir / "model.pt")
            card["whitebox_cos_to_target"] = self.whitebox_cosines()
            card["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return card
