"""The TFLite/TFJS zoo models against golden embeddings of their original runtimes (scripts/golden_tflite_tfjs.py)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from fpbench import zoo
from fpbench.zoo.golden import golden_batch, golden_inputs

GOLDEN = Path(__file__).parent / "golden"
MODELS = ["mobilefacenet", "hse-faceres", "hse-faceres-deep", "mobileface256"]


@pytest.fixture(scope="module", params=MODELS)
def model(request, embedded) -> zoo.FaceModel:
    return embedded(request.param)


def test_matches_original_runtime(model: zoo.FaceModel) -> None:
    golden = np.load(GOLDEN / f"{model.card.name}.npz")
    size = model.spec.size
    inputs_sha256 = hashlib.sha256(golden_inputs(size).tobytes()).hexdigest()
    assert str(golden["input_sha256"]) == inputs_sha256, f"golden_inputs({size}) differ from the golden file's images"
    with torch.no_grad():
        emb = model(golden_batch(size)).numpy()
    ref = golden["embeddings"] / np.linalg.norm(golden["embeddings"], axis=1, keepdims=True)
    cosine = (emb * ref).sum(axis=1)
    assert cosine.min() > 0.9999, f"cosine vs {golden['runtime']}: {cosine}"


def test_unit_norm_embedding_of_card_dim(model: zoo.FaceModel) -> None:
    with torch.no_grad():
        emb = model(golden_batch(model.spec.size, n=3, seed=1))
    assert emb.shape == (3, model.card.embedding_dim)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))


def test_each_image_is_embedded_independently_of_its_batch(model: zoo.FaceModel) -> None:
    """Runs embed in chunks and cache per image, so an image's embedding must be the same alone, in one batch
    and in another (no batch statistics in preprocessing or layers, no layer left training), up to rounding."""
    assert not [name for name, m in model.named_modules() if m.training]
    x = golden_batch(model.spec.size, n=3, seed=2)
    with torch.no_grad():
        together = model(x)
        alone = model(x[:1])
        elsewhere = model(torch.cat([golden_batch(model.spec.size, n=2, seed=4), x[:1]]))
    torch.testing.assert_close(alone[0], together[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(elsewhere[2], together[0], atol=1e-5, rtol=0)
    assert (together[0] - together[1]).abs().max() > 1e-3  # different images: the comparison has power


def test_gradients_reach_the_input(model: zoo.FaceModel) -> None:
    x = golden_batch(model.spec.size, n=2, seed=3).requires_grad_(True)
    target = torch.nn.functional.normalize(torch.ones(1, model.card.embedding_dim), dim=1)
    (model(x) * target).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_weights_match_pinned_sha256(model: zoo.FaceModel) -> None:
    pinned = zoo.ZOO.get(model.card.name).card.weights_sha256
    assert pinned and zoo.state_dict_sha256(model.backbone.state_dict()) == pinned
