"""The shared Trainer on a toy learner: finishing, resuming bit for bit, Ctrl-C, shared stages, the
directory lock, the card, and plain progress lines when the output is not a terminal."""
from __future__ import annotations

import io
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from rich.console import Console

from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.errors import BadInput
from fpbench.training import Learner, Stage, Trainer, directory_lock, read_card, save_torch, training_split
from fpbench.training.progress import TrainingProgress

W_TRUE = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])


class Regression(Learner):
    """Two stages of Adam on a linear model fitting W_TRUE from random batches drawn from the step generator."""

    def __init__(self, steps: tuple[int, int] = (4, 5)) -> None:
        torch.manual_seed(0)
        self.net = torch.nn.Linear(4, 1)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=0.05)
        self.steps = steps
        self.made: list[tuple[int, int]] = []
        self.started: list[int] = []

    def stages(self) -> list[Stage]:
        return [Stage("warm-up", self.steps[0]), Stage("main", self.steps[1])]

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        self.made.append((stage, step))
        x = torch.randn(8, 4, generator=generator)
        loss = torch.nn.functional.mse_loss(self.net(x), x @ W_TRUE)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "weight_norm_of_the_linear_layer": float(self.net.weight.detach().norm())}

    def state_dict(self):
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])

    def start_stage(self, stage: int) -> None:
        self.started.append(stage)

    def shared_result(self, stage: int):
        return self.state_dict()

    def load_shared_result(self, stage: int, blob) -> None:
        self.load_state_dict(blob)

    def save_result(self, directory: Path) -> None:
        save_torch(self.net.state_dict(), directory / self.result_name)

    def card(self):
        return {"method": "regression", "departures": ["toy"]}


def quiet(learner: Learner, directory: Path, **kw) -> Trainer:
    return Trainer(learner, directory, seed=7, progress=False, checkpoint_every=3, **kw)


def test_a_finished_unit_trains_nothing_again(tmp_path):
    first = Regression()
    assert quiet(first, tmp_path, meta={"manifest_sha256": "abc"}).run()
    assert len(first.made) == 9 and (tmp_path / "model.pt").is_file() and not (tmp_path / "progress.pt").exists()
    card = read_card(tmp_path)
    assert card["complete"] and card["manifest_sha256"] == "abc" and card["departures"] == ["toy"]
    assert card["stage_steps"] == {"1": 4, "2": 5} and set(card["loss_curves"]["2"]) == {
        "loss", "weight_norm_of_the_linear_layer"}
    assert card["loss_curves"]["2"]["loss"]["last"] < card["loss_curves"]["1"]["loss"]["first"]  # it learns
    again = Regression()
    assert quiet(again, tmp_path).run() and again.made == []


def test_resume_is_bit_identical(tmp_path):
    assert quiet(Regression(), tmp_path / "straight").run()
    cut = Regression()
    assert not quiet(cut, tmp_path / "resumed").run(max_steps=6)  # stage 1 + 2 steps; saved at stage 2 start
    rest = Regression()
    assert quiet(rest, tmp_path / "resumed").run()
    assert rest.made == [(2, k) for k in range(5)] and rest.started == [2]  # from the stage-2 checkpoint
    assert (tmp_path / "straight" / "model.pt").read_bytes() == (tmp_path / "resumed" / "model.pt").read_bytes()
    straight, resumed = (read_card(tmp_path / d)["loss_curves"] for d in ("straight", "resumed"))
    assert straight == resumed


def test_ctrl_c_saves_the_step_in_progress(tmp_path):
    learner = Regression()
    original = learner.step

    def step_then_ctrl_c(stage, step, generator):
        row = original(stage, step, generator)
        if (stage, step) == (2, 1):
            signal.raise_signal(signal.SIGINT)  # held until the step is complete
        return row

    learner.step = step_then_ctrl_c
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt, match="stage 2 step 2"):
            quiet(learner, tmp_path / "cut").run()
    finally:
        signal.signal(signal.SIGINT, previous)
    saved = torch.load(tmp_path / "cut" / "progress.pt", weights_only=True)["state"]
    assert (saved["stage"], saved["step"]) == (2, 2)
    rest = Regression()
    assert quiet(rest, tmp_path / "cut").run() and rest.made[0] == (2, 2)
    assert quiet(Regression(), tmp_path / "straight").run()
    assert (tmp_path / "straight" / "model.pt").read_bytes() == (tmp_path / "cut" / "model.pt").read_bytes()


def test_a_shared_stage_is_trained_once(tmp_path):
    shared = tmp_path / "stage1.pt"
    assert quiet(Regression(), tmp_path / "stage1", share={1: shared}).run(until=1)
    assert shared.is_file() and not (tmp_path / "stage1" / "model.pt").exists()
    unit, log = Regression(), io.StringIO()
    out = TrainingProgress(console=Console(file=log))
    assert Trainer(unit, tmp_path / "unit", seed=7, progress=out, checkpoint_every=3, share={1: shared}).run()
    assert "training stages 1-2 (4 + 5 steps, stage 1 from stage1.pt (shared with other units))" in log.getvalue()
    assert unit.made == [(2, k) for k in range(5)] and read_card(tmp_path / "unit")["stage1"] == "shared: stage1.pt"
    assert quiet(Regression(), tmp_path / "alone").run()
    assert (tmp_path / "alone" / "model.pt").read_bytes() == (tmp_path / "unit" / "model.pt").read_bytes()


def test_a_second_trainer_waits_for_the_lock_then_finds_the_model(tmp_path):
    """Two processes training the same unit: the second waits, then loads what the first trained."""
    log = io.StringIO()
    second = Regression()
    results: list[bool] = []
    with directory_lock(tmp_path):  # the first process
        waiting = threading.Thread(target=lambda: results.append(
            Trainer(second, tmp_path, seed=7, progress=TrainingProgress(console=Console(file=log))).run()))
        waiting.start()
        deadline = time.monotonic() + 30
        while "waiting" not in log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "another process is training" in log.getvalue() and waiting.is_alive()
        Trainer(Regression(), tmp_path, seed=7, progress=False)._train(None, 2)  # the first one trains
    waiting.join(30)
    assert results == [True] and second.made == []


def test_plain_progress_lines_when_not_a_terminal(tmp_path):
    log = io.StringIO()
    out = TrainingProgress(console=Console(file=log), lines=2)
    assert not out.terminal
    Trainer(Regression(), tmp_path, seed=7, progress=out).run()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("Regression: training stages 1-2 (4 + 5 steps, from scratch)")
    stage2 = [ln for ln in lines if ln.startswith("stage 2/2 main: ")]
    assert [ln.split(",")[0] for ln in stage2] == ["stage 2/2 main: step 3/5", "stage 2/2 main: step 5/5"]
    assert all("elapsed 0:00:0" in ln and "ETA " in ln for ln in stage2)
    assert "weight_norm_of_the_linear_layer=" in stage2[-1]  # every loss, named in full


def test_a_terminal_gets_a_bar_not_log_lines(tmp_path):
    log = io.StringIO()
    out = TrainingProgress(console=Console(file=log, force_terminal=True, width=200))
    Trainer(Regression(), tmp_path, seed=7, progress=out).run()
    assert "stage 2/2 main" in log.getvalue() and "step 5/5" not in log.getvalue()


def test_training_split_keeps_only_training_faces():
    recs = [FaceRecord(id=f"r{i}", identity="p", role="train" if i < 2 else "source", split="train" if i < 2 else "test")
            for i in range(4)]
    full = FaceDataset("toy", "sha", recs)
    train = training_split(full)
    assert [r.id for r in train.records] == ["r0", "r1"] and (train.name, train.manifest_sha256) == ("toy", "sha")
    assert len(full.records) == 4
    with pytest.raises(BadInput, match="no records in split 'train'"):
        training_split(replace(full, records=recs[2:]))
