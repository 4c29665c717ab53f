"""MobileFaceNet-512 of InsightFace_Pytorch, as shipped with the Adv-Makeup and AMT-GAN assets
(``mobile_face.pth``). 112x112 input, 512-d output.

Parameter names follow that code base (``conv1.conv``, ``conv_23.conv_dw``, ``conv_3.model.0.project``,
``linear``, ``bn``) so the public checkpoint loads with ``strict=True``.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class ConvBN(nn.Module):
    """conv (no bias) + BN, followed by PReLU unless ``linear``."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, linear: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=1 if kernel == 3 else 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.prelu = None if linear else nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return x if self.prelu is None else self.prelu(x)


class DepthWise(nn.Module):
    """Inverted bottleneck: 1x1 expand to ``hidden``, 3x3 depthwise, 1x1 linear projection."""

    def __init__(self, cin: int, cout: int, hidden: int, stride: int, residual: bool) -> None:
        super().__init__()
        self.conv = ConvBN(cin, hidden)
        self.conv_dw = ConvBN(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvBN(hidden, cout, linear=True)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.conv_dw(self.conv(x)))
        return x + y if self.residual else y


class Residual(nn.Module):
    """``n`` stride-1 residual ``DepthWise`` blocks under ``model``."""

    def __init__(self, channels: int, n: int, hidden: int) -> None:
        super().__init__()
        self.model = nn.Sequential(*[DepthWise(channels, channels, hidden, 1, residual=True) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MobileFaceNet(nn.Module):
    """MobileFaceNet with a 7x7 global depthwise conv head and a linear + BN embedding layer."""

    def __init__(self, embedding_dim: int = 512) -> None:
        super().__init__()
        self.conv1 = ConvBN(3, 64, 3, 2)
        self.conv2_dw = ConvBN(64, 64, 3, 1, groups=64)
        self.conv_23 = DepthWise(64, 64, 128, 2, residual=False)
        self.conv_3 = Residual(64, 4, 128)
        self.conv_34 = DepthWise(64, 128, 256, 2, residual=False)
        self.conv_4 = Residual(128, 6, 256)
        self.conv_45 = DepthWise(128, 128, 512, 2, residual=False)
        self.conv_5 = Residual(128, 2, 256)
        self.conv_6_sep = ConvBN(128, 512)
        self.conv_6_dw = ConvBN(512, 512, 7, groups=512, linear=True)
        self.linear = nn.Linear(512, embedding_dim, bias=False)
        self.bn = nn.BatchNorm1d(embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_23(self.conv2_dw(self.conv1(x)))
        x = self.conv_45(self.conv_4(self.conv_34(self.conv_3(x))))
        x = self.conv_6_dw(self.conv_6_sep(self.conv_5(x)))
        return self.bn(self.linear(x.flatten(1)))
