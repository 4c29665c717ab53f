"""An fpbench plugin living outside fpbench: found through its entry points, no change to fpbench.

* method ``blur``: Gaussian blur as a (weak) protection;
* dataset ``toy-faces``: synthetic "faces" (smooth random patterns, 3 photos per identity) written to the cache;
* targets ``toy-fr-a`` / ``toy-fr-b``: small random conv nets as face recognition models.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from fpbench.cache import subdir
from fpbench.data.dataset import FaceDataset, FaceRecord
from fpbench.images import write_png
from fpbench.methods import Method, ProtectContext
from fpbench.targets import LocalTarget
from fpbench.zoo import FaceModel, InputSpec, ModelCard, state_dict_sha256


class GaussianBlur(Method):
    """Gaussian blur of strength sigma (pixels)"""

    name = "blur"

    def __init__(self, sigma: float = 1.5) -> None:
        super().__init__(sigma=sigma)

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        sigma = float(self.params["sigma"])
        r = max(1, int(3 * sigma))
        t = torch.arange(-r, r + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (t / sigma) ** 2)
        k = (k / k.sum()).to(x)
        x = F.pad(x, (r, r, r, r), mode="reflect")
        x = F.conv2d(x, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
        return F.conv2d(x, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3).clamp(0, 1)


def toy_faces(identities: int = 6, photos: int = 3, size: int = 112) -> FaceDataset:
    """Synthetic dataset: the last two identities are impersonation targets, the rest test sources."""
    root = subdir("data", "toy-faces")
    rng = np.random.Generator(np.random.PCG64(7))
    records = []
    for i in range(identities):
        base = torch.from_numpy(rng.random((1, 3, 8, 8), dtype=np.float32))
        for j in range(photos):
            jitter = torch.from_numpy(rng.normal(0, 0.08, (1, 3, 8, 8)).astype(np.float32))
            img = F.interpolate((base + jitter).clamp(0, 1), size=(size, size), mode="bicubic", align_corners=False)
            path = root / f"id{i}_{j}.png"
            write_png(path, img.clamp(0, 1))
            role = "target" if i >= identities - 2 and j == 0 else "source" if j == 0 else "gallery"
            records.append(FaceRecord(f"id{i}_{j}", f"person{i}", role, "test", {size: path}))
    sha = hashlib.sha256("".join(r.id for r in records).encode()).hexdigest()
    return FaceDataset("toy-faces", sha, records, attribute_source="none")


def _toy_model(name: str, seed: int) -> FaceModel:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 5, stride=2), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(512, 64),
    )
    spec = InputSpec(size=64, scale=1.0, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    card = ModelCard(name=name, architecture="toy CNN", embedding_dim=64, input=spec,
                     weights_sha256=state_dict_sha256(net.state_dict()), notes="random weights; tests only")
    model = FaceModel(net, card).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def toy_fr_a(device: torch.device) -> LocalTarget:
    """Toy FR model A (random CNN)"""
    return LocalTarget("toy-fr-a", "toy-fr-a", _toy_model("toy-fr-a", 1).to(device))


def toy_fr_b(device: torch.device) -> LocalTarget:
    """Toy FR model B (random CNN)"""
    return LocalTarget("toy-fr-b", "toy-fr-b", _toy_model("toy-fr-b", 2).to(device))
