"""The resumable Trainer shared by every learning method.

A ``Learner`` (the method's networks, losses and optimisers) declares named stages of steps; the Trainer runs
them into a directory. Every random draw of a step comes from a generator seeded by (seed, stage, step), so a
run resumed from ``progress.pt`` produces the same weights, bit for bit, as an uninterrupted one.

A training directory holds ``progress.pt`` (the latest resumable state, rewritten atomically every
``checkpoint_every`` steps, at every stage end and on Ctrl-C; removed once finished), ``stageK.pt`` (the
learner's snapshot at the end of each stage but the last), the learner's result (``model.pt``), ``card.json``
(what was trained, departures from the paper, loss-curve summaries, wall times, the ``complete`` flag) and
``.lock`` (held while training: a second process training the same unit waits, then finds it finished).

Under torchrun (``fpbench train METHOD --nproc N``, see ``distributed``) every rank runs the same steps on its
slice of each batch with gradients averaged over the ranks; rank 0 alone holds the lock, writes every file
and reports progress.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import torch

from ..cache import file_sha256
from ..errors import BadInput
from . import distributed
from .interrupt import deferred_interrupt
from .progress import TrainingProgress
from .seeds import seeded
from .store import curve_summary, directory_lock, is_complete, save_torch, write_card

PROGRESS = "progress.pt"


@dataclass(frozen=True)
class Stage:
    """One stage of a curriculum: its title (for progress and cards) and number of steps."""

    title: str
    steps: int


class Learner:
    """What a Trainer trains. Subclasses implement ``stages``, ``step``, ``state_dict``/``load_state_dict``
    and ``save_result``; the other hooks are optional. Stages are numbered from 1."""

    #: the file ``save_result`` writes into the training directory (what loaders read)
    result_name: ClassVar[str] = "model.pt"

    def stages(self) -> Sequence[Stage]:
        raise NotImplementedError

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        """One optimisation step; every random draw comes from ``generator``. Returns the step's losses."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (weights, optimisers, running statistics); no key ``state``."""
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def save_result(self, directory: Path) -> None:
        """Write the finished model to ``directory / result_name``."""
        raise NotImplementedError

    def describe(self) -> str:
        """What is trained, in a few words, for messages."""
        return type(self).__name__

    def optimizers(self) -> Sequence[torch.optim.Optimizer]:
        """Every optimiser ``step`` uses; needed to train on several processes (their gradients are
        averaged over the ranks before each step). A learner that trains there must also take only its
        rank's rows of each batch (``distributed.shard``) after drawing the global batch's random numbers."""
        return ()

    def check(self, until: int) -> None:
        """Raise a BadInput when stages 1..``until`` cannot run (e.g. a missing surrogate)."""

    def start_stage(self, stage: int) -> None:
        """Called before the first step of ``stage`` (not when resuming inside it)."""

    def end_step(self, stage: int, done: int) -> None:
        """Called after each step; ``done`` steps of ``stage`` are complete."""

    def snapshot(self) -> Any | None:
        """Saved as ``stageK.pt`` at the end of every stage but the last (None: nothing saved)."""
        return None

    def shared_result(self, stage: int) -> dict[str, Any]:
        """What another unit starts from after ``stage`` (see ``Trainer``'s ``share``)."""
        raise NotImplementedError(f"{self.describe()} shares no stage")

    def load_shared_result(self, stage: int, blob: Mapping[str, Any]) -> None:
        raise NotImplementedError(f"{self.describe()} shares no stage")

    def card(self) -> dict[str, Any]:
        """What is trained (profile, departures, data, surrogates, ...), for the training card."""
        return {}

    def report(self) -> dict[str, Any]:
        """Measurements of the finished model, added to the card once training is complete."""
        return {}


class Trainer:
    """Runs a Learner's stages into ``directory``, resuming from its ``progress.pt``.

    ``share`` maps a stage to a file through which units that train it identically (same data, seed and
    settings) share its result: the first unit to finish the stage writes it, the others start after it.
    ``meta`` goes into the card as is (key, dataset, manifest hash, surrogates, ...)."""

    def __init__(self, learner: Learner, directory: Path, seed: int, *, meta: Mapping[str, Any] | None = None,
                 progress: bool | TrainingProgress = True, checkpoint_every: int = 200,
                 share: Mapping[int, Path] | None = None) -> None:
        self.learner = learner
        self.dir = Path(directory)
        self.seed = seed
        self.meta = dict(meta or {})
        self.out = progress if isinstance(progress, TrainingProgress) else TrainingProgress(bool(progress))
        if not distributed.is_main():
            self.out = TrainingProgress(False)
        self.checkpoint_every = checkpoint_every
        self.share = {k: Path(v) for k, v in (share or {}).items()}
        self.stages = list(learner.stages())
        numbers = range(1, len(self.stages) + 1)
        self.state: dict[str, Any] = {"stage": 1, "step": 0, "curves": {k: [] for k in numbers},
                                      "wall": {k: 0.0 for k in numbers}}

    # ------------------------------------------------------------------------------------------- run
    def finished(self, until: int | None = None) -> bool:
        """Whether stages 1..``until`` (default: all) are already trained (into the shared file when
        ``until`` is not the last stage)."""
        until = until or len(self.stages)
        if until < len(self.stages):
            return until in self.share and self.share[until].is_file()
        return is_complete(self.dir, self.learner.result_name)

    def run(self, max_steps: int | None = None, until: int | None = None) -> bool:
        """Train stages 1..``until`` (default: all) until finished (True) or until ``max_steps`` steps were
        made in this call (False). Ctrl-C finishes the current step, saves ``progress.pt`` and re-raises, so
        nothing but that step's wall time is lost; the next call resumes from there."""
        until = until or len(self.stages)
        if self.finished(until):
            return True
        self.learner.check(until)
        waiting = f"{self.learner.describe()}: another process is training {self.dir}; waiting for it to finish"
        main = distributed.is_main()
        with directory_lock(self.dir, on_wait=lambda: self.out.say(waiting)) if main else nullcontext():
            if distributed.agree(self.finished(until)):  # rank 0's view, once it holds the lock
                return True
            done = self._train(max_steps, until)
            distributed.barrier()  # every file rank 0 writes exists before any rank reads it
            return done

    def _train(self, max_steps: int | None, until: int) -> bool:
        hooks = distributed.average_gradients(self.learner.optimizers())
        if distributed.world_size() > 1 and not hooks:
            raise BadInput(f"{self.learner.describe()} cannot train on several processes (it names no optimisers)")
        try:
            return self._steps(max_steps, until)
        finally:
            for hook in hooks:
                hook.remove()

    def _steps(self, max_steps: int | None, until: int) -> bool:
        self._resume()
        self._reuse_shared()
        distributed.start_from_main(self.learner)
        self.out.say(self._announcement(until))
        budget = [max_steps]
        with deferred_interrupt() as interrupted:
            for stage in range(self.state["stage"], until + 1):
                if not self._run_stage(stage, interrupted, budget):
                    return False
                self._finish_stage(stage)
        if not distributed.is_main():
            return True
        if until == len(self.stages):
            self.learner.save_result(self.dir)
            write_card(self.dir, self.card(complete=True))
        (self.dir / PROGRESS).unlink(missing_ok=True)  # the result (or shared file) supersedes the resumable state
        return True

    def _run_stage(self, stage: int, interrupted: list[bool], budget: list[int | None]) -> bool:
        """Steps of ``stage`` from the saved position; False when the call's step budget ran out first."""
        total = self.stages[stage - 1].steps
        if self.state["step"] == 0:
            self.learner.start_stage(stage)
        label = f"stage {stage}/{len(self.stages)} {self.stages[stage - 1].title}"
        with self.out.stage(label, total, self.state["step"]) as update:
            while self.state["step"] < total:
                if budget[0] is not None:
                    if budget[0] <= 0:
                        return False
                    budget[0] -= 1
                t0 = time.perf_counter()
                row = self.learner.step(stage, self.state["step"], seeded(self.seed, "step", stage, self.state["step"]))
                row = distributed.mean_losses(row)
                self.state["wall"][stage] += time.perf_counter() - t0
                self.state["curves"][stage].append(row)
                self.state["step"] += 1
                step = self.state["step"]
                self.learner.end_step(stage, step)
                if interrupted[0]:
                    self._save_progress()
                    raise KeyboardInterrupt(f"saved {self.dir / PROGRESS} at stage {stage} step {step}")
                if step % self.checkpoint_every == 0 and step < total:
                    self._save_progress()
                update(step, row)
        return True

    def _finish_stage(self, stage: int) -> None:
        if not distributed.is_main():
            self.state["stage"], self.state["step"] = stage + 1, 0
            return
        if stage < len(self.stages):
            snapshot = self.learner.snapshot()
            if snapshot is not None:
                save_torch(snapshot, self.dir / f"stage{stage}.pt")
        if stage in self.share:
            save_torch({**self.learner.shared_result(stage), "curve": self.state["curves"][stage],
                        "wall": self.state["wall"][stage]}, self.share[stage])
        self.state["stage"], self.state["step"] = stage + 1, 0
        self._save_progress()
        write_card(self.dir, self.card(complete=False))

    # ----------------------------------------------------------------------------------------- state
    def _save_progress(self) -> None:
        if not distributed.is_main():
            return
        save_torch({**self.learner.state_dict(), "state": self.state}, self.dir / PROGRESS)

    def _resume(self) -> None:
        path = self.dir / PROGRESS
        if path.is_file():
            blob = torch.load(path, map_location="cpu", weights_only=True)
            self.state = blob.pop("state")
            self.learner.load_state_dict(blob)

    def _reuse_shared(self) -> None:
        """Start after every shared stage another unit already finished (bit-identical to training it again:
        the shared file is keyed by everything that shapes it)."""
        while self.state["step"] == 0 and self.state["stage"] in self.share:
            stage = self.state["stage"]
            if not self.share[stage].is_file() or stage >= len(self.stages):
                return
            blob = torch.load(self.share[stage], map_location="cpu", weights_only=True)
            self.learner.load_shared_result(stage, blob)
            self.state["curves"][stage], self.state["wall"][stage] = blob["curve"], blob["wall"]
            snapshot = self.learner.snapshot()
            if snapshot is not None and distributed.is_main():
                save_torch(snapshot, self.dir / f"stage{stage}.pt")
            self.state["stage"] = stage + 1
            self.meta[f"stage{stage}"] = f"shared: {self.share[stage].name}"

    # ---------------------------------------------------------------------------------------- report
    def _announcement(self, until: int) -> str:
        """What is about to be trained, and from where, in one line."""
        steps = " + ".join(str(s.steps) for s in self.stages[:until])
        stage, step = self.state["stage"], self.state["step"]
        taken = [f"stage {k} from {self.share[k].name}" for k in self.share if f"stage{k}" in self.meta]
        if taken:
            where = f"{', '.join(taken)} (shared with other units)"
        else:
            where = f"resuming at stage {stage}, step {step}" if (stage, step) != (1, 0) else "from scratch"
        stages = "stage 1" if until == 1 else f"stages 1-{until}"
        return (f"{self.learner.describe()}: training {stages} ({steps} steps, {where}) into "
                f"{self.dir}; Ctrl-C saves, a re-run resumes")

    def card(self, complete: bool) -> dict[str, Any]:
        """The training card: meta, the learner's card, stage lengths, wall times, loss curves, completion."""
        numbers = range(1, len(self.stages) + 1)
        card = {
            **self.meta,
            **self.learner.card(),
            "complete": complete,
            "seed": self.seed,
            "stage_steps": {k: self.stages[k - 1].steps for k in numbers},
            "wall_seconds": {k: round(v, 1) for k, v in self.state["wall"].items()},
            "loss_curves": {k: curve_summary(v) for k, v in self.state["curves"].items()},
        }
        if complete:
            card["model_sha256"] = file_sha256(self.dir / self.learner.result_name)
            card.update(self.learner.report())
            card["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return card
