"""Helpers for tests of bring-your-own weights and thresholds: synthetic checkpoints with the public key
layouts, a throw-away cache in which they are added, and a tiny on-disk dataset."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import torch

from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.images import write_png
from fpbench.zoo import ZOO
from fpbench.zoo.golden import golden_batch
from fpbench.zoo.paper import ARCHS
from fpbench.zoo.user import register_all


def synthetic_state_dict(arch: str, seed: int = 0, bn_from_data: bool = False) -> dict[str, torch.Tensor]:
    """A state dict of ``arch`` with seeded random weights and non-trivial BatchNorm statistics.

    ``bn_from_data`` sets the statistics from one batch of random images, so that embeddings of different
    images differ clearly (a random deep network otherwise maps every input to nearly the same vector).
    """
    torch.manual_seed(seed)
    model = ARCHS[arch].build()
    bns = [m for m in model.modules() if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    for m in bns:
        m.running_mean.uniform_(-0.1, 0.1)
        m.running_var.uniform_(0.5, 1.5)
    if bn_from_data:
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one batch sets the statistics
        size = ARCHS[arch].input.size
        with torch.no_grad():
            model.train()(torch.randn(16, 3, size, size))
    return model.state_dict()


def save(sd: object, path: Path) -> Path:
    torch.save(sd, path)
    return path


def user_cache_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty FPBENCH_CACHE; afterwards the zoo forgets the models added in it."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("FPBENCH_CACHE", str(cache))
    before = set(ZOO.names())
    yield cache
    monkeypatch.undo()
    for name in set(ZOO.names()) - before:
        ZOO._entries.pop(name)  # test-only: registries have no public removal
    register_all()


def tiny_dataset(root: Path, name: str = "tinyset") -> FaceDataset:
    """12 synthetic 112px crops of 6 identities (2 each): 6 genuine and 60 impostor pairs."""
    records = []
    for i, img in enumerate(golden_batch(112, n=12, seed=5)):
        path = root / f"face{i:02d}.png"
        write_png(path, img)
        records.append(FaceRecord(id=f"f{i:02d}", identity=f"person{i // 2}", role="source", crops={112: path}))
    return FaceDataset(name=name, manifest_sha256="ab" * 32, records=records)
