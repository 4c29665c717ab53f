"""One rank of the data-parallel tests (run by torchrun from tests/test_distributed_training.py).

    ddp_worker.py toy OUT_DIR                 the shared Trainer on a toy regression learner; rank 0 writes
                                              OUT_DIR/curve-<world size>.json (every step's loss)
    ddp_worker.py erasablemask ARGS...        `fpbench train erasablemask ARGS` in the toy world of
                                              tests/test_cli_train.py (toy profile, faces and surrogates)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).parent)]

from fpbench.training import Learner, Stage, Trainer, distributed, seeded  # noqa: E402


class Regression(Learner):
    """A linear map fitted to 8 fixed samples by Adam, 4 samples a step (so 2 per rank on 2 processes)."""

    def __init__(self, steps: int = 6) -> None:
        g = seeded("regression-data")
        self.x, self.y = torch.randn(8, 5, generator=g), torch.randn(8, 3, generator=g)
        torch.manual_seed(1000 + distributed.rank())  # ranks start apart: the Trainer gives them rank 0's state
        self.net = torch.nn.Linear(5, 3)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=0.05)
        self.n = steps

    def stages(self) -> list[Stage]:
        return [Stage("fit", self.n)]

    def step(self, stage: int, step: int, generator: torch.Generator) -> dict[str, float]:
        idx = torch.randperm(8, generator=generator)[:4]
        x, y = distributed.shard(self.x[idx]), distributed.shard(self.y[idx])
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.item()}

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state_dict(self):
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])

    def save_result(self, directory: Path) -> None:
        torch.save(self.net.state_dict(), directory / self.result_name)


def toy(out: Path) -> None:
    distributed.start(torch.device("cpu"))
    trainer = Trainer(Regression(), out / f"unit-{distributed.world_size()}", seed=0, progress=False)
    trainer.run()
    if distributed.is_main():
        curve = [row["loss"] for row in trainer.state["curves"][1]]
        (out / f"curve-{distributed.world_size()}.json").write_text(json.dumps(curve))
    distributed.stop()


def erasablemask(argv: list[str]) -> int:
    """`fpbench train erasablemask ARGV` in the toy world (each rank writes its own copy of the faces)."""
    import os

    import pytest

    from fpbench.cli.main import main
    from test_cli_train import enter_toy_world, make_toy_dataset

    root = Path(os.environ["TOY_FACES"]) / f"rank-{os.environ.get('RANK', '0')}"
    root.mkdir(parents=True, exist_ok=True)
    enter_toy_world(pytest.MonkeyPatch(), make_toy_dataset(root))
    return main(["train", "erasablemask", *argv])


if __name__ == "__main__":
    if sys.argv[1] == "toy":
        toy(Path(sys.argv[2]))
    else:
        sys.exit(erasablemask(sys.argv[2:]))
