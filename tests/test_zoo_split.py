"""PMT's shallow/deep split (spec B5.2, C7): E_s(E_c(x)) equals the full model for every architecture."""
from __future__ import annotations

import pytest
import torch

from fpbench.errors import BadInput
from fpbench.zoo import ZOO, FaceModel, ModelCard, is_fetched, load
from fpbench.zoo.paper import ARCHS
from fpbench.zoo.split import DEFAULT_UNITS, split
from zoo_helpers import synthetic_state_dict

EMBEDDED = ("sface", "mobilefacenet", "mfn512", "dlib-resnet29", "hse-faceres", "hse-faceres-deep", "mobileface256")

#: (channels, side) of E_c's output at n = 5 for the embedded models (spec B5.2, which gives dlib "about 18": it is 17)
SHALLOW_SHAPES = {"sface": (256, 28), "mobilefacenet": (64, 28), "mfn512": (64, 28), "dlib-resnet29": (64, 17),
                  "hse-faceres": (256, 28), "hse-faceres-deep": (256, 28), "mobileface256": (128, 4)}


def _random_weights(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Seeded non-trivial weights (PReLU slopes, biases and BatchNorm statistics included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.2 + (0.9 if t.dim() == 1 else -0.1))
    return model.eval()


def _faces(n: int = 2, size: int = 112) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def _check_identity(model: FaceModel, n: int) -> torch.Tensor:
    x = _faces()
    e_c, e_s = split(model, n)
    with torch.no_grad():
        z = e_c(x)
        full, parts = model(x), e_s(z)
    assert torch.isfinite(full).all() and full.std() > 0
    assert (parts - full).abs().max().item() <= 1e-6
    return z


@pytest.mark.parametrize("name", EMBEDDED)
def test_split_is_the_full_model_for_every_embedded_architecture(name):
    entry = ZOO.get(name)
    model = FaceModel(_random_weights(entry.arch.build(), 0), entry.card).eval()
    z = _check_identity(model, DEFAULT_UNITS)
    channels, side = SHALLOW_SHAPES[name]
    assert tuple(z.shape[1:]) == (channels, side, side)
    _check_identity(model, 1)
    _check_identity(model, 3)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_split_is_the_full_model_for_the_paper_architectures(arch):
    spec = ARCHS[arch]
    backbone = spec.build()
    backbone.load_state_dict(synthetic_state_dict(arch))
    model = FaceModel(backbone, ModelCard(arch, spec.label, spec.embedding_dim, spec.input)).eval()
    _check_identity(model, DEFAULT_UNITS)


@pytest.mark.parametrize("name", ("mobilefacenet", "mfn512", "sface"))
def test_split_with_the_real_weights(name):
    if not is_fetched(name):
        pytest.skip(f"{name} weights are not in this cache")
    _check_identity(load(name), DEFAULT_UNITS)


def test_layers_lists_every_shallow_unit_and_ends_with_the_feature():
    entry = ZOO.get("mfn512")
    model = FaceModel(_random_weights(entry.arch.build(), 2), entry.card)
    e_c, _ = split(model, 5)
    with torch.no_grad():
        layers = e_c.layers(_faces())
        last = e_c(_faces())
    assert len(layers) == 5 and torch.equal(layers[-1], last)
    assert [t.shape[-1] for t in layers] == [56, 56, 28, 28, 28]


def test_split_rejects_a_unit_count_out_of_range_and_an_unknown_architecture():
    entry = ZOO.get("sface")
    model = FaceModel(entry.arch.build(), entry.card)
    with pytest.raises(BadInput, match="1 to 14 units"):
        split(model, 0)
    with pytest.raises(BadInput, match="has no shallow/deep split"):
        split(FaceModel(torch.nn.Conv2d(3, 4, 3), entry.card), 5)
