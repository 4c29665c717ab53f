"""MobileNet-family face recognition backbones built from one conv + PReLU unit.

BatchNorm layers of the released networks are folded into the preceding convolution (or the embedding
layer) when the weights are converted, so every unit here is a biased ``Conv2d`` followed by a ``PReLU``
(or nothing, for the linear projections). The networks are inference-only: they never train in fpbench.

Both networks keep their weights and activations channels-last: depthwise convolutions run several times
faster in that layout on CPU (oneDNN), forward and backward.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class ConvAct(nn.Module):
    """``Conv2d`` (BatchNorm folded into its bias) followed by a per-channel ``PReLU`` unless ``linear``."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 1,
        stride: int = 1,
        padding: int = 0,
        groups: int = 1,
        linear: bool = False,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=True)
        self.act: nn.Module = nn.Identity() if linear else nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class DepthwiseSeparable(nn.Sequential):
    """MobileNet-v1 unit: 3x3 depthwise ``ConvAct`` then 1x1 pointwise ``ConvAct``."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.depthwise = ConvAct(cin, cin, 3, stride, 1, groups=cin)
        self.pointwise = ConvAct(cin, cout, 1)


class Bottleneck(nn.Module):
    """MobileFaceNet unit: 1x1 expand, 3x3 depthwise, linear 1x1 project; residual when shapes allow."""

    def __init__(self, cin: int, cout: int, expand: int, stride: int) -> None:
        super().__init__()
        self.expand = ConvAct(cin, expand, 1)
        self.depthwise = ConvAct(expand, expand, 3, stride, 1, groups=expand)
        self.project = ConvAct(expand, cout, 1, linear=True)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class MobileFaceNet(nn.Module):
    """MobileFaceNet (Chen et al. 2018) at 112x112: the common PyTorch layout with a 64-channel stem,
    bottleneck stages (64, 128, 128 channels), a linear 7x7 global depthwise conv and a linear embedding.
    """

    def __init__(self, embedding_dim: int = 512) -> None:
        super().__init__()
        self.stem = ConvAct(3, 64, 3, 2, 1)
        self.stem_dw = ConvAct(64, 64, 3, 1, 1, groups=64)
        self.stage2 = nn.Sequential(Bottleneck(64, 64, 128, 2), *[Bottleneck(64, 64, 128, 1) for _ in range(4)])
        self.stage3 = nn.Sequential(Bottleneck(64, 128, 256, 2), *[Bottleneck(128, 128, 256, 1) for _ in range(6)])
        self.stage4 = nn.Sequential(Bottleneck(128, 128, 512, 2), *[Bottleneck(128, 128, 256, 1) for _ in range(2)])
        self.head = ConvAct(128, 512, 1)
        self.gdc = ConvAct(512, 512, 7, groups=512, linear=True)  # global depthwise conv, 7x7 -> 1x1
        self.embedding = nn.Linear(512, embedding_dim)  # Linear + BatchNorm1d folded together
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        x = self.stage4(self.stage3(self.stage2(self.stem_dw(self.stem(x)))))
        return self.embedding(self.gdc(self.head(x)).flatten(1))


class MobileNetV1Face(nn.Module):
    """MobileNet-v1 for 112x112 faces as in insightface's ``fmobilenet`` (stride-1 stem, 13 depthwise
    separable units down to 7x7x1024) with the "E" embedding head: BN, dropout, FC, BN — all folded into
    one ``Linear`` over the flattened 7x7x1024 map (dropout is the identity at inference).
    """

    #: (output channels, stride) of the 13 depthwise separable units.
    UNITS = (
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    )

    def __init__(self, embedding_dim: int = 128) -> None:
        super().__init__()
        self.stem = ConvAct(3, 32, 3, 1, 1)
        units, cin = [], 32
        for cout, stride in self.UNITS:
            units.append(DepthwiseSeparable(cin, cout, stride))
            cin = cout
        self.units = nn.Sequential(*units)
        self.embedding = nn.Linear(cin * 7 * 7, embedding_dim)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return self.embedding(self.units(self.stem(x)).flatten(1))  # flatten is in (C, H, W) order
