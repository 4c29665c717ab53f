"""Training on several processes (torchrun, gloo on CPU): the shared Trainer's losses on 2 processes equal one
process's at the same global batch (up to the order of the reduction), `fpbench train erasablemask` on 2
processes writes its checkpoint once, and `--nproc N` re-launches the command under torchrun."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fpbench.cli import train as train_cli
from fpbench.cli.main import main

WORKER = Path(__file__).parent / "ddp_worker.py"


def torchrun(nproc: int, args: list[str], env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess:
    """torchrun with its temporary folder (its log folders ``torchelastic_*``) under the test's ``tmp``."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               str(WORKER), *args]
    temp = tmp / "tmp"
    temp.mkdir(exist_ok=True)
    out = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(temp), **env},
                         capture_output=True, text=True, timeout=600)
    if out.returncode and "gloo" in out.stderr.lower() and "error" in out.stderr.lower():
        pytest.skip(f"torch.distributed (gloo) cannot start processes here: {out.stderr.strip().splitlines()[-1]}")
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_two_processes_follow_one_process_loss_curve(tmp_path):
    env = {"FPBENCH_CACHE": str(tmp_path / "cache")}
    torchrun(1, ["toy", str(tmp_path)], env, tmp_path)
    torchrun(2, ["toy", str(tmp_path)], env, tmp_path)
    one, two = (json.loads((tmp_path / f"curve-{n}.json").read_text()) for n in (1, 2))
    assert len(one) == len(two) == 6 and one[0] != one[-1]  # the curve moves: a wrong gradient would show
    assert all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7) for a, b in zip(one, two)), (one, two)
    assert (tmp_path / "unit-2" / "model.pt").is_file() and not (tmp_path / "unit-2" / "progress.pt").exists()


def trained(cache: Path) -> list[dict]:
    cards = [json.loads(p.read_text()) for p in (cache / "methods" / "erasablemask").glob("*/card.json")]
    return [c for c in cards if c.get("complete")]


def test_erasablemask_on_two_processes_writes_one_checkpoint(tmp_path):
    argv = ["--dataset", "toy", "--profile", "toy", "--target", "r9"]
    cards = {}
    for nproc in (1, 2):
        cache = tmp_path / f"cache-{nproc}"
        env = {"FPBENCH_CACHE": str(cache), "TOY_FACES": str(tmp_path)}
        out = torchrun(nproc, ["erasablemask", *argv], env, tmp_path)
        assert out.stdout.count("checkpoint: ") == 1  # rank 0 alone reports
        assert out.stderr.count("stage 3/3 restorer (eq. 16): step 2/2") <= 1
        (card,) = trained(cache)
        cards[nproc] = card
    assert cards[1]["stage_steps"] == cards[2]["stage_steps"] and cards[1]["batch_size"] == cards[2]["batch_size"]
    # same weights and global batches; batch norm normalises each rank's half, so the losses agree to a few
    # per cent (measured: 1.3% and 0.1% at the first two steps), not to the reduction order as without it
    first = {n: c["loss_curves"]["1"]["loss"]["points"][:2] for n, c in cards.items()}
    assert all(math.isclose(a, b, rel_tol=0.05) for a, b in zip(first[1], first[2])), first


def test_nproc_relaunches_the_command_under_torchrun(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(train_cli.subprocess, "run",
                        lambda command: calls.append(command) or subprocess.CompletedProcess(command, 7))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    argv = ["train", "erasablemask", "--profile", "mini", "--nproc", "3", "--seed", "1"]
    assert main(argv) == 7
    assert calls == [[sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
                      "-m", "fpbench.cli.main", "train", "erasablemask", "--profile", "mini", "--seed", "1"]]


def test_an_uneven_split_is_a_one_line_error(monkeypatch):
    from fpbench.errors import BadInput
    from fpbench.training import distributed

    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    with pytest.raises(BadInput, match="a batch of 4 cannot be split evenly over 3 processes"):
        distributed.shard(torch.zeros(4, 2))


def test_a_wrong_method_fails_before_any_process_starts(monkeypatch, capsys):
    monkeypatch.setattr(train_cli.subprocess, "run", lambda command: pytest.fail("torchrun started"))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["train", "pgd", "--nproc", "2"]) == 2
    assert "'pgd' learns nothing" in capsys.readouterr().err
