"""Inception-ResNet-v1 as in facenet-pytorch (FaceNet trained on VGGFace2 or CASIA-WebFace), also the
``facenet.pth`` of the Adv-Makeup and AMT-GAN assets. 160x160 input, 512-d output.

Parameter names follow facenet-pytorch (``conv2d_1a.conv``, ``repeat_1.0.branch0``, ``last_linear``,
``last_bn``). Its checkpoints also hold the training classifier ``logits.*``, which is not part of this
embedding network (``fpbench zoo add`` drops it and says so).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class BasicConv2d(nn.Module):
    """conv (no bias) + BN (eps 1e-3, as in the TensorFlow original) + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1, padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


def _chain(*convs: BasicConv2d) -> nn.Sequential:
    return nn.Sequential(*convs)


class Block35(nn.Module):
    """Inception-ResNet-A (35x35 grid in the original), 256 channels."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(256, 32, 1)
        self.branch1 = _chain(BasicConv2d(256, 32, 1), BasicConv2d(32, 32, 3, padding=1))
        self.branch2 = _chain(BasicConv2d(256, 32, 1), BasicConv2d(32, 32, 3, padding=1), BasicConv2d(32, 32, 3, padding=1))
        self.conv2d = nn.Conv2d(96, 256, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)
        return torch.relu(self.conv2d(mixed) * self.scale + x)


class Block17(nn.Module):
    """Inception-ResNet-B, 896 channels, factorised 1x7 / 7x1 branch."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(896, 128, 1)
        self.branch1 = _chain(
            BasicConv2d(896, 128, 1), BasicConv2d(128, 128, (1, 7), padding=(0, 3)), BasicConv2d(128, 128, (7, 1), padding=(3, 0))
        )
        self.conv2d = nn.Conv2d(256, 896, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = torch.cat((self.branch0(x), self.branch1(x)), 1)
        return torch.relu(self.conv2d(mixed) * self.scale + x)


class Block8(nn.Module):
    """Inception-ResNet-C, 1792 channels, factorised 1x3 / 3x1 branch; the last one has no ReLU."""

    def __init__(self, scale: float = 1.0, relu: bool = True) -> None:
        super().__init__()
        self.scale = scale
        self.relu = relu
        self.branch0 = BasicConv2d(1792, 192, 1)
        self.branch1 = _chain(
            BasicConv2d(1792, 192, 1), BasicConv2d(192, 192, (1, 3), padding=(0, 1)), BasicConv2d(192, 192, (3, 1), padding=(1, 0))
        )
        self.conv2d = nn.Conv2d(384, 1792, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2d(torch.cat((self.branch0(x), self.branch1(x)), 1)) * self.scale + x
        return torch.relu(out) if self.relu else out


class Mixed6a(nn.Module):
    """Reduction-A: 256 -> 896 channels, stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(256, 384, 3, stride=2)
        self.branch1 = _chain(BasicConv2d(256, 192, 1), BasicConv2d(192, 192, 3, padding=1), BasicConv2d(192, 256, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x)), 1)


class Mixed7a(nn.Module):
    """Reduction-B: 896 -> 1792 channels, stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = _chain(BasicConv2d(896, 256, 1), BasicConv2d(256, 384, 3, stride=2))
        self.branch1 = _chain(BasicConv2d(896, 256, 1), BasicConv2d(256, 256, 3, stride=2))
        self.branch2 = _chain(BasicConv2d(896, 256, 1), BasicConv2d(256, 256, 3, padding=1), BasicConv2d(256, 256, 3, stride=2))
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)), 1)


class InceptionResnetV1(nn.Module):
    """FaceNet embedding network: stem, 5 x A, reduction, 10 x B, reduction, 5 x C + final C, pool, 512-d."""

    def __init__(self, embedding_dim: int = 512) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, 3, stride=2)
        self.conv2d_2a = BasicConv2d(32, 32, 3)
        self.conv2d_2b = BasicConv2d(32, 64, 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BasicConv2d(64, 80, 1)
        self.conv2d_4a = BasicConv2d(80, 192, 3)
        self.conv2d_4b = BasicConv2d(192, 256, 3, stride=2)
        self.repeat_1 = nn.Sequential(*[Block35(0.17) for _ in range(5)])
        self.mixed_6a = Mixed6a()
        self.repeat_2 = nn.Sequential(*[Block17(0.10) for _ in range(10)])
        self.mixed_7a = Mixed7a()
        self.repeat_3 = nn.Sequential(*[Block8(0.20) for _ in range(5)])
        self.block8 = Block8(relu=False)
        self.last_linear = nn.Linear(1792, embedding_dim, bias=False)
        self.last_bn = nn.BatchNorm1d(embedding_dim, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2d_2b(self.conv2d_2a(self.conv2d_1a(x)))
        x = self.conv2d_4b(self.conv2d_4a(self.conv2d_3b(self.maxpool_3a(x))))
        x = self.mixed_7a(self.repeat_2(self.mixed_6a(self.repeat_1(x))))
        x = self.block8(self.repeat_3(x)).mean(dim=(2, 3))
        return self.last_bn(self.last_linear(x))
