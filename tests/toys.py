"""Tiny stand-ins the method tests share: a frozen toy face model and smooth colour-gradient "faces"."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch.nn as nn
from PIL import Image

from fpbench.zoo.model import FaceModel, InputSpec, ModelCard

TOY_INPUT = InputSpec(size=32, scale=1.0, mean=(0.5,) * 3, std=(0.25,) * 3)


def frozen_toy_model(backbone: nn.Module, name: str) -> FaceModel:
    """``backbone`` (16-d output) as a toy FaceModel in eval mode with frozen weights."""
    model = FaceModel(backbone, ModelCard(name=name, architecture="toy", embedding_dim=16, input=TOY_INPUT)).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def write_gradient_face(path: Path, rng: np.random.Generator, size: int, noise: float | None = 0.05) -> Path:
    """A ``size`` px PNG of random horizontal/vertical/flat colour ramps (three draws of ``rng``), plus
    Gaussian noise of std ``noise`` (one more draw) unless None."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1.0)
    img = np.stack([xx * rng.random(), yy * rng.random(), np.full_like(xx, rng.random())], -1)
    if noise is not None:
        img = np.clip(img + rng.normal(0, noise, img.shape), 0, 1)
    Image.fromarray((img * 255).astype(np.uint8)).save(path)
    return path
