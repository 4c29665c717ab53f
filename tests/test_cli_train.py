"""`fpbench train` end to end on a toy profile, dataset and surrogates (seconds): it trains into the cache,
a second call trains nothing, and an interrupted training resumes to the same bytes."""
from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

import fpbench.data
from fpbench.cli import train as train_cli
from fpbench.cli.main import main
from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.methods.erasablemask import profiles
from fpbench.methods.erasablemask.train import Curriculum
from fpbench.zoo.model import FaceModel

from toys import frozen_toy_model, write_gradient_face

TOY = replace(profiles.MINI, name="toy", resolution=32, enc_dim=8, dec_dim=8, dis_dim=8, dis_fc_dim=16, max_dim=32,
              n_layers=3, stage_steps=(3, 4, 2), checkpoint_every=3)


def toy_surrogate(name: str, seed: int) -> FaceModel:
    torch.manual_seed(seed)
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, 4, 1, bias=False), nn.Tanh(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                             nn.Linear(32, 16, bias=False))
    return frozen_toy_model(backbone, name)


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory) -> FaceDataset:
    return make_toy_dataset(tmp_path_factory.mktemp("faces"))


def make_toy_dataset(root: Path) -> FaceDataset:
    """Ten 112-px faces (the size erasablemask's toy and mini profiles read): 8 to train on, 2 targets."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(10):
        path = write_gradient_face(root / f"{i}.png", rng, 112, noise=None)
        records.append(FaceRecord(
            id=f"r{i}", identity=f"p{i % 4}", role="train" if i < 8 else "target", split="train" if i < 8 else "test",
            crops={112: path}, attributes={"Male": 1 if i % 2 else -1, "Young": -1 if i % 3 else 1, "Smiling": 1},
        ))
    return FaceDataset("toy", "toy-manifest", records)


@pytest.fixture(autouse=True)
def toy_world(monkeypatch, toy_dataset, tmp_path):
    """The toy profile, dataset and surrogates behind the real command; a fresh cache per test."""
    torch.set_num_threads(1)
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path / "cache"))
    enter_toy_world(monkeypatch, toy_dataset)


def enter_toy_world(monkeypatch, toy_dataset: FaceDataset) -> None:
    """Profile "toy", dataset "toy" and toy surrogates behind `fpbench train` (also for tests/ddp_worker.py)."""
    monkeypatch.setitem(profiles.PROFILES, "toy", TOY)
    load = fpbench.data.load_dataset
    monkeypatch.setattr(fpbench.data, "load_dataset", lambda name, **kw: toy_dataset if name == "toy" else load(name, **kw))
    monkeypatch.setattr(train_cli, "load_surrogates",
                        lambda names, device: [toy_surrogate(n, k) for k, n in enumerate(names, 1)])


TRAIN = ["train", "erasablemask", "--dataset", "toy", "--profile", "toy", "--target", "r9"]


def checkpoint(out: str) -> Path:
    return Path(next(line for line in out.splitlines() if line.startswith("checkpoint: ")).split(": ", 1)[1])


def test_train_then_nothing_to_train(capsys):
    assert main(TRAIN) == 0
    out, err = capsys.readouterr()
    model = checkpoint(out) / "model.pt"
    assert model.is_file() and "trained for target r9 on toy's split 'train': checkpoint_sha256" in out
    # not a terminal: one plain line per reporting point with step/total, elapsed, ETA and every loss
    assert "stage 3/3 restorer (eq. 16): step 2/2, elapsed" in err and "ETA" in err and "pri_sface=" in err
    stamp = model.stat().st_mtime_ns
    assert main(TRAIN) == 0
    out2, err2 = capsys.readouterr()
    assert "training stages" not in err2 and "step" not in err2  # nothing trained
    assert checkpoint(out2) == checkpoint(out) and model.stat().st_mtime_ns == stamp


def test_an_interrupted_training_resumes_to_the_same_model(capsys, monkeypatch, tmp_path):
    assert main([*TRAIN, "--quiet"]) == 0
    straight = checkpoint(capsys.readouterr().out) / "model.pt"
    reference = straight.read_bytes()
    monkeypatch.setenv("FPBENCH_CACHE", str(tmp_path / "other-cache"))
    original = Curriculum.step

    def ctrl_c_in_stage_2(self, stage, step, generator):
        row = original(self, stage, step, generator)
        if (stage, step) == (2, 1):
            signal.raise_signal(signal.SIGINT)
        return row

    monkeypatch.setattr(Curriculum, "step", ctrl_c_in_stage_2)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal
    try:
        assert main([*TRAIN, "--quiet"]) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    assert "interrupted" in capsys.readouterr().err
    monkeypatch.setattr(Curriculum, "step", original)
    assert main(TRAIN) == 0
    out, err = capsys.readouterr()
    assert "resuming at stage 2, step 2" in err
    resumed = checkpoint(out) / "model.pt"
    assert resumed != straight and resumed.read_bytes() == reference


def test_any_method_that_trains(capsys):
    """attributes-modified needs no target or surrogates: stage 1 alone, shared with erasablemask."""
    assert main(["train", "attributes-modified", "--dataset", "toy", "--profile", "toy", "--quiet"]) == 0
    assert "attributes-modified (toy) trained on toy's split 'train': checkpoint_sha256" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "pgd", "--dataset", "toy"], "'pgd' learns nothing"),
    (["train", "nonesuch"], "unknown method 'nonesuch'"),
    (["train", "erasablemask", "--dataset", "toy", "--profile", "huge"], "unknown erasablemask profile 'huge'"),
    ([*TRAIN[:-1], "r77"], "no record 'r77'"),
    ([*TRAIN, "--param", "colour=red"], "does not take these parameters"),
])
def test_one_line_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
