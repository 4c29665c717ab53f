"""IR and IR-SE ResNets of face.evoLVe / InsightFace_Pytorch, as shipped with the Adv-Makeup and AMT-GAN
assets (``ir152.pth``: IR-152; ``irse50.pth``: IR-SE-50) and used by RobFR (IR-50, natural and adversarially
trained). 112x112 input, 512-d output.

Parameter names follow those code bases (``input_layer``, ``body.N.res_layer``, ``output_layer``) so the
public checkpoints load with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn as nn

#: Units per stage for each depth.
DEPTHS: dict[int, tuple[int, int, int, int]] = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}


class SqueezeExcite(nn.Module):
    """Channel gate: global average, 1x1 conv down by ``reduction``, ReLU, 1x1 conv up, sigmoid."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(w)


class BottleneckIR(nn.Module):
    """``res_layer`` (BN, conv3x3, PReLU, conv3x3 with stride, BN[, SE]) plus ``shortcut_layer``.

    The shortcut subsamples (a 1x1 max-pool with stride) when the width is unchanged, else projects.
    """

    def __init__(self, cin: int, cout: int, stride: int, se: bool) -> None:
        super().__init__()
        if cin == cout:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        layers: list[nn.Module] = [
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if se:
            layers.append(SqueezeExcite(cout))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class IRBackbone(nn.Module):
    """IR-``depth`` (``se=False``) or IR-SE-``depth`` (``se=True``) for 112x112 crops."""

    def __init__(self, depth: int, se: bool, embedding_dim: int = 512) -> None:
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"IR depth must be one of {sorted(DEPTHS)}, got {depth}")
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        units: list[nn.Module] = []
        cin = 64
        for width, n in zip((64, 128, 256, 512), DEPTHS[depth]):
            units.append(BottleneckIR(cin, width, 2, se))
            units += [BottleneckIR(width, width, 1, se) for _ in range(n - 1)]
            cin = width
        self.body = nn.Sequential(*units)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(),  # index 1 as in the checkpoints; inactive in eval mode
            nn.Flatten(),
            nn.Linear(512 * 7 * 7, embedding_dim),
            nn.BatchNorm1d(embedding_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_layer(self.body(self.input_layer(x)))


def ir50() -> IRBackbone:
    return IRBackbone(50, se=False)


def ir152() -> IRBackbone:
    return IRBackbone(152, se=False)


def irse50() -> IRBackbone:
    return IRBackbone(50, se=True)
