"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1``, the network of dlib's
``dnn_face_recognition_ex.cpp``): 29 conv layers, 150x150 input, 128-d output.

dlib's ``affine`` layers (frozen BatchNorm) are folded into the preceding convolution at conversion. Two
dlib behaviours matter for exactness: convolutions and pools with stride 2 use no padding, and
``add_prev`` adds tensors of different shapes by zero-filling the smaller one at the end of every
dimension (channels, rows, columns) — the stride-2 shortcut is a 2x2 average pool of the block input,
which has fewer channels and, deep in the network, more rows than the convolution branch.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def add_zero_filled(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b`` after zero-filling each to the larger size of every dimension (dlib ``add_prev``)."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def fill(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return fill(a) + fill(b)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with ReLU; at stride 2 the shortcut is a 2x2 average pool of the input."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1 if stride == 1 else 0)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.downsample = stride == 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x), inplace=True))  # in place: a conv backward needs no output
        shortcut = F.avg_pool2d(x, 2, 2) if self.downsample else x
        return F.relu(add_zero_filled(y, shortcut), inplace=True)


class DlibResNet29(nn.Module):
    """Input: dlib face chip, (N, 3, 150, 150) RGB, normalised as ``(x - mean) / 256``. Output: (N, 128)."""

    #: (channels, number of blocks) per level, from the input side; each level after the first starts
    #: with a stride-2 block, and a final single stride-2 block at 256 channels ends the network.
    LEVELS = ((32, 3), (64, 4), (128, 3), (256, 3), (256, 1))

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 7, 2, 0)
        blocks, cin = [], 32
        for level, (cout, n) in enumerate(self.LEVELS):
            for i in range(n):
                blocks.append(ResidualBlock(cin, cout, 2 if level > 0 and i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.embedding = nn.Linear(256, 128, bias=False)
        self.to(memory_format=torch.channels_last)  # faster convolutions on CPU (oneDNN)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        x = F.max_pool2d(F.relu(self.stem(x), inplace=True), 3, 2)
        return self.embedding(self.blocks(x).mean(dim=(2, 3)))
