"""SFace, MobileFaceNet-512 and dlib ResNet-29 against golden embeddings of their original runtimes
(onnxruntime, dlib; written by scripts/golden_onnx_dlib.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from fpbench import zoo
from fpbench.zoo.dlib import chip_theta
from fpbench.zoo.golden import golden_batch, golden_inputs

GOLDEN = Path(__file__).parent / "golden"
MODELS = ["sface", "mfn512", "dlib-resnet29"]


@pytest.fixture(scope="module", params=MODELS)
def model(request, embedded) -> zoo.FaceModel:
    return embedded(request.param)


def test_matches_original_runtime(model: zoo.FaceModel) -> None:
    golden = np.load(GOLDEN / f"{model.card.name}.npz")
    assert str(golden["input_sha256"]) == hashlib.sha256(golden_inputs(112).tobytes()).hexdigest()
    with torch.no_grad():
        emb = model(golden_batch(112)).numpy()
    ref = golden["embeddings"] / np.linalg.norm(golden["embeddings"], axis=1, keepdims=True)
    cosine = (emb * ref).sum(axis=1)
    assert cosine.min() > 0.9999, f"cosine vs {golden['runtime']}: {cosine}"


def test_unit_norm_embedding_of_card_dim(model: zoo.FaceModel) -> None:
    with torch.no_grad():
        emb = model(golden_batch(112, n=3, seed=1))
    assert emb.shape == (3, model.card.embedding_dim)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))


def test_each_image_is_embedded_independently_of_its_batch(model: zoo.FaceModel) -> None:
    """Runs embed in chunks and cache per image, so an image's embedding must be the same alone, in one batch
    and in another (no batch statistics in preprocessing or layers, no layer left training), up to rounding."""
    assert not [name for name, m in model.named_modules() if m.training]
    x = golden_batch(112, n=3, seed=2)
    with torch.no_grad():
        together = model(x)
        alone = model(x[:1])
        elsewhere = model(torch.cat([golden_batch(112, n=2, seed=4), x[:1]]))
    torch.testing.assert_close(alone[0], together[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(elsewhere[2], together[0], atol=1e-5, rtol=0)
    assert (together[0] - together[1]).abs().max() > 1e-3  # different images: the comparison has power


def test_gradients_reach_the_input(model: zoo.FaceModel) -> None:
    x = golden_batch(112, n=2, seed=3).requires_grad_(True)
    target = torch.nn.functional.normalize(torch.ones(1, model.card.embedding_dim), dim=1)
    (model(x) * target).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and (x.grad != 0).float().mean() > 0.5


def test_weights_match_pinned_sha256(model: zoo.FaceModel) -> None:
    pinned = zoo.ZOO.get(model.card.name).card.weights_sha256
    assert pinned and zoo.state_dict_sha256(model.backbone.state_dict()) == pinned


@pytest.mark.parametrize("src_size", [112, 256])
def test_dlib_chip_theta_maps_the_chip_centre_and_scale(src_size: int) -> None:
    """The chip centre (74.5, 74.5) lands on the pinned crop pixel, and one chip pixel spans the pinned
    number of crop pixels, at any canonical crop size (templates scale about the pixel origin)."""
    from fpbench.zoo.dlib import CHIP_CENTRE_112, CHIP_SCALE_112

    theta = chip_theta(src_size, 150)[0].double()
    u_centre = theta[:, 2] + theta[:, :2] @ torch.full((2,), (2 * 74.5 + 1) / 150 - 1, dtype=torch.float64)
    crop_px = ((u_centre + 1) * src_size - 1) / 2
    torch.testing.assert_close(
        crop_px * 112 / src_size, torch.tensor(CHIP_CENTRE_112, dtype=torch.float64), atol=0.02, rtol=0
    )
    crop_px_per_chip_px = torch.linalg.det(theta[:, :2]).sqrt() * src_size / 150
    assert abs(crop_px_per_chip_px * 112 / src_size - CHIP_SCALE_112) < 1e-4


def test_blocked_dequantize_repeats_each_scale_over_its_block() -> None:
    from fpbench.zoo.convert.onnx_weights import dequantize

    q = np.array([[1, 2, 3, 4, 5]], np.int8)
    scale = np.array([[0.5, 2.0]], np.float32)
    zero_point = np.array([[1, -1]], np.int8)
    got = dequantize(q, scale, zero_point, {"axis": 1, "block_size": 3})
    np.testing.assert_array_equal(got, [[0.0, 0.5, 1.0, 10.0, 12.0]])


def test_conversion_rejects_a_layer_with_other_geometry() -> None:
    from fpbench.zoo.arch.mobilefacenet import ConvAct
    from fpbench.zoo.catalog import WeightsMismatch
    from fpbench.zoo.convert import Layer, state_dict_in_order

    unit = ConvAct(4, 4, 3, 1, 1, groups=4, linear=True)
    layer = Layer("conv", "dw", np.ones((4, 1, 3, 3)), np.zeros(4), {"stride": (2, 2), "padding": (1, 1), "groups": 4})
    with pytest.raises(WeightsMismatch, match="geometry"):
        state_dict_in_order(unit, [layer])
    layer.geometry["stride"] = (1, 1)
    assert set(state_dict_in_order(unit, [layer])) == {"conv.weight", "conv.bias"}
