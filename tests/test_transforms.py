"""The processing channel: names, real operations, seeding and the differentiable versions."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fpbench.registry import UnknownName
from fpbench.transforms import DEFAULT_CHANNEL, TRANSFORMS, Transform, TransformError, make_transform


def smooth_batch(n: int = 2, side: int = 112, seed: int = 0) -> torch.Tensor:
    """Smooth random colour fields: what JPEG and filters treat kindly."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 8, 8, generator=g)
    return F.interpolate(coarse, size=(side, side), mode="bicubic", align_corners=False).clamp(0, 1)


def textured_batch(n: int = 2, side: int = 112, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (smooth_batch(n, side, seed) + 0.05 * torch.randn(n, 3, side, side, generator=g)).clamp(0, 1)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean()))


def seeded(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_default_channel_names_round_trip():
    assert DEFAULT_CHANNEL == ["identity", "jpeg50", "gauss0.003", "resize0.5", "median5", "rotate30", "crop"]
    for name in DEFAULT_CHANNEL:
        t = make_transform(name)
        assert isinstance(t, Transform) and t.name == name and t.card()["transform"] == name


@pytest.mark.parametrize(
    "name, canonical, param",
    [("jpeg", "jpeg50", ("quality", 50)), ("gauss", "gauss0.003", ("variance", 0.003)),
     ("resize", "resize0.5", ("scale", 0.5)), ("resize0.25", "resize0.25", ("scale", 0.25)),
     ("median", "median5", ("kernel", 5)), ("rotate", "rotate30", ("max_degrees", 30)),
     ("crop224", "crop", ("fraction", 0.875)), ("crop0.5", "crop0.5", ("fraction", 0.5))],
)  # fmt: skip
def test_family_defaults_and_parameters(name, canonical, param):
    t = make_transform(name)
    assert t.name == canonical
    assert t.card()[param[0]] == param[1]


def test_unknown_name_lists_the_families():
    with pytest.raises(UnknownName) as e:
        make_transform("blur3")
    for family in ("identity", "jpeg", "gauss", "resize", "median", "rotate", "crop"):
        assert family in TRANSFORMS.names() and family in str(e.value)


@pytest.mark.parametrize("bad", ["jpeg0", "jpeg101", "jpeg50.5", "median4", "resize1.5", "crop300", "identity2", "jpeg50+"])
def test_bad_parameters_raise_one_line_errors(bad):
    with pytest.raises(TransformError) as e:
        make_transform(bad)
    assert "\n" not in str(e.value)


def test_jpeg_quality_100_is_near_identity_on_smooth_images():
    x = smooth_batch()
    assert psnr(make_transform("jpeg100")(x), x) > 40


def test_jpeg_lower_quality_loses_more():
    x = textured_batch()
    assert psnr(make_transform("jpeg10")(x), x) < psnr(make_transform("jpeg50")(x), x) < psnr(make_transform("jpeg90")(x), x)


def test_median_of_constant_image_is_the_image():
    x = torch.full((2, 3, 40, 40), 0.3)
    assert torch.equal(make_transform("median5")(x), x)


def test_median_removes_isolated_outlier():
    x = torch.full((1, 3, 16, 16), 0.5)
    x[0, :, 8, 8] = 1.0
    assert torch.equal(make_transform("median3")(x), torch.full_like(x, 0.5))


@pytest.mark.parametrize("name", ["rotate0", "crop1", "resize1", "median1", "gauss0", "identity"])
def test_neutral_parameters_are_identity(name):
    x = textured_batch()
    torch.testing.assert_close(make_transform(name)(x, seeded()), x, atol=1e-5, rtol=0)  # grid_sample: ~3e-6


def test_gauss_variance_is_what_was_asked():
    x = torch.full((4, 3, 112, 112), 0.5)
    noise = make_transform("gauss0.003")(x, seeded()) - x
    assert abs(float(noise.var()) - 0.003) < 0.0002 and abs(float(noise.mean())) < 0.001


def test_rotate_angle_is_random_within_range_and_seeded():
    x = textured_batch(4)
    t = make_transform("rotate30")
    a, b, c = t(x, seeded(1)), t(x, seeded(1)), t(x, seeded(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a, x, atol=1e-3)
    corner = a[:, :, 0, 0]  # a rotation of at most 30 degrees always leaves the corners partly black
    assert float(corner.max()) < float(x[:, :, 0, 0].max()) + 1e-6


def test_crop_keeps_the_centre():
    x = torch.zeros(1, 3, 64, 64)
    x[..., 16:48, 16:48] = 1.0
    out = make_transform("crop0.5")(x)
    assert float(out[..., 4:60, 4:60].min()) == 1.0


@pytest.mark.parametrize("name", DEFAULT_CHANNEL + ["jpeg50+gauss0.003+rotate30", "resize0.25+median3"])
def test_shape_dtype_range_and_determinism(name):
    x = textured_batch(3)
    t = make_transform(name)
    a, b = t(x, seeded(5)), t(x, seeded(5))
    assert a.shape == x.shape and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, b)
    assert torch.equal(t(x), t(x))  # no generator: a fixed default seed


def test_chain_applies_in_order_with_one_generator():
    x = textured_batch()
    chain = make_transform("jpeg50+gauss0.003")
    assert chain.name == "jpeg50+gauss0.003"
    assert [c["transform"] for c in chain.card()["chain"]] == ["jpeg50", "gauss0.003"]
    g = seeded(3)
    expected = make_transform("gauss0.003")(make_transform("jpeg50")(x, g), g)
    assert torch.equal(chain(x, seeded(3)), expected)


def test_real_op_rejects_non_canonical_input():
    with pytest.raises(ValueError):
        make_transform("jpeg50")(torch.rand(1, 3, 8, 8) * 2)


@pytest.mark.parametrize("name", DEFAULT_CHANNEL[1:] + ["jpeg50+rotate30"])
def test_differentiable_versions_pass_gradients_and_match_real(name):
    x = textured_batch(2).requires_grad_(True)
    t = make_transform(name)
    y = t.differentiable(x, seeded(9))
    y.sum().backward()
    assert x.grad is not None and float(x.grad.abs().mean()) > 0.1
    assert psnr(y.detach(), t(x.detach(), seeded(9))) > 35


@pytest.mark.parametrize("quality", [10, 50, 90])
def test_differentiable_jpeg_approximates_libjpeg(quality):
    x = textured_batch(2, side=100)  # not a multiple of 16: exercises the edge padding
    t = make_transform(f"jpeg{quality}")
    real = t(x)
    assert psnr(t.differentiable(x), real) > 35
    assert psnr(t.differentiable(x), real) > psnr(x, real) + 5  # much closer to JPEG than to the input
