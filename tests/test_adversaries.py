"""fpbench.adversaries (spec C3, C7): the permuted-noise feature baseline, the Level-2 reconstruction, UP
(eq. 9) on hand-computed values, and `--attacks` end to end on mini (tiny step counts)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from fpbench.adversaries.permuted_noise import permuted_noise
from fpbench.adversaries.reconstruct_opt import Settings, calibrate_tv, objective, reconstruct, total_variation
from fpbench.errors import BadInput
from fpbench.metrics.up import utility_privacy


def test_permuted_noise_keeps_the_multiset_of_pmts_change_but_not_its_order():
    g = torch.Generator().manual_seed(0)
    z, z_t = torch.randn(2, 4, 5, 5, generator=g), torch.randn(2, 4, 5, 5, generator=g)
    z_rn = permuted_noise(z, z_t, torch.Generator().manual_seed(1))
    for k in range(2):
        assert torch.allclose((z_rn[k] - z[k]).flatten().sort().values, (z_t[k] - z[k]).flatten().sort().values,
                              atol=1e-6)
    assert not torch.allclose(z_rn, z_t)
    with pytest.raises(ValueError, match="one shape"):
        permuted_noise(z, z_t[:, :2])


def test_total_variation_by_hand():
    x = torch.zeros(1, 3, 2, 2)
    x[:, :, 0, 1] = 1.0  # right neighbour of the top-left pixel differs by 1, the lower one by 0
    assert total_variation(x, beta=2.0).item() == pytest.approx(3.0)  # (1^2 + 0^2)^(2/2), three channels
    x[:, :, 1, 0] = 2.0
    assert total_variation(x, beta=1.0).item() == pytest.approx(3 * 5 ** 0.5)  # (1 + 4)^(1/2) per channel


def _conv_shallow() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.PReLU(8)).eval()


def test_reconstruction_decreases_j_clips_and_recovers_x_through_an_identity_e_c():
    x = 0.3 + 0.4 * torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    identity = lambda v: v  # noqa: E731
    x_hat = reconstruct(identity, x, 8, Settings(steps=120, tv_weight=0.0), torch.Generator().manual_seed(0))
    assert (x_hat - x).abs().max() <= 1.5 / 255
    shallow = _conv_shallow()
    with torch.no_grad():
        z = shallow(x)
    s = Settings(steps=40, alpha=2 / 255, tv_weight=0.1)
    start = reconstruct(shallow, z, 8, Settings(steps=0), torch.Generator().manual_seed(0))
    end = reconstruct(shallow, z, 8, s, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (objective(shallow, end, z, s) < 0.7 * objective(shallow, start, z, s)).all()
    assert end.min() >= 0 and end.max() <= 1


def test_tv_calibration_picks_the_weight_with_the_best_ssim():
    from fpbench.metrics.pixel import ssim

    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))  # noise: any TV smooths it away
    weight, scores = calibrate_tv(lambda v: v, x, Settings(steps=60, alpha=4 / 255), ssim, (0.0, 30.0))
    assert weight == 0.0 and scores[0.0] > scores[30.0] + 0.2


def test_up_by_hand():
    """x1 = (1,0,0), x~1 = (1,1,0): cos 0.707 > 0.5, L1 mean 1/3 -> UP 4/3; x2 = (1,0,0), x~2 = (0,1,0):
    cos 0 -> utility 0, L1 mean 2/3 -> UP 2/3 (sigma 0: no noise)."""
    x = torch.tensor([[1.0, 0, 0], [1.0, 0, 0]]).view(2, 3, 1, 1)
    x_t = torch.tensor([[1.0, 1, 0], [0, 1.0, 0]]).view(2, 3, 1, 1)
    embed = lambda v: torch.nn.functional.normalize(v.flatten(1), dim=1)  # noqa: E731
    l1 = lambda a, b: (a - b).abs().flatten(1).mean(1).numpy()  # noqa: E731
    out = utility_privacy(embed, l1, x, x_t, sigma=0.0, kappa=0.5, draws=3)
    assert out["utility"].tolist() == [1.0, 0.0]
    assert out["privacy"] == pytest.approx([1 / 3, 2 / 3])
    assert out["up"] == pytest.approx([4 / 3, 2 / 3])
    assert utility_privacy(embed, l1, x, x_t, 0.0, kappa=0.8)["up"] == pytest.approx([1 / 3, 2 / 3])  # 0.707 < 0.8


def test_up_of_a_face_against_itself_without_noise_is_one(mini):
    """LPIPS(x, x) = 0 and cos = 1: UP = 1 exactly; noise on both raises the privacy term."""
    from fpbench.metrics.perceptual import lpips_distance

    x = mini.images(mini.records[:2])
    embed = lambda v: torch.nn.functional.normalize(v.flatten(1), dim=1)  # noqa: E731
    out = utility_privacy(embed, lpips_distance, x, x.clone(), 0.0, 0.3)
    assert out["up"] == pytest.approx([1.0, 1.0], abs=1e-6)
    noisy = utility_privacy(embed, lpips_distance, x, x.clone(), 0.1, 0.3, g=torch.Generator().manual_seed(0))
    assert (noisy["privacy"] > 0.05).all()


@pytest.fixture
def fast_attacks(monkeypatch):
    """Tiny attack budgets so the end-to-end run takes seconds."""
    from fpbench.adversaries import deobfuscate, reconstruction, utility_privacy as up
    from fpbench.adversaries.learned import Budget

    tiny = {"mini": Budget(steps=2, batch=4, width=8)}
    monkeypatch.setattr(reconstruction, "LEARNED", tiny)
    monkeypatch.setattr(deobfuscate, "PROFILES", tiny)
    monkeypatch.setattr(reconstruction, "PROFILES", {"mini": Settings(steps=3)})
    monkeypatch.setattr(reconstruction, "FACES", {"mini": 3})
    monkeypatch.setattr(reconstruction, "HELD_OUT", {"mini": 1})
    monkeypatch.setattr(reconstruction, "TV_GRID", (0.0, 0.3))
    monkeypatch.setattr(up, "DRAWS", {"mini": 1})


def test_attacks_run_through_the_authorise_protocol(mini, embedded, fast_attacks):
    """pmt --attacks reconstruction,up on mini: float x~ and z~ are in the cache and named by the rows,
    reconstruction rows of the three features for the authorised model only, UP rows, registry metrics."""
    import fpbench
    from fpbench.metrics.registry import METRICS
    from fpbench.results import default_metrics
    from fpbench.stores import TensorStore

    embedded("mobilefacenet")
    embedded("mfn512")
    result = fpbench.run("pmt", ["mobilefacenet", "mfn512"], authorised=["mobilefacenet"], dataset="mini",
                         protocol="authorise", quality=False, out=None, params={"steps": 2},
                         attacks=["reconstruction", "up"])
    s = result.scores
    authorised = s[s["kind"] == "authorised"]
    store = TensorStore("tensors")
    x_t = store.get(authorised["x_tilde"].iloc[0])
    z_t = store.get(authorised["z_tilde"].iloc[0])
    assert x_t.shape == (3, 112, 112) and x_t.dtype == torch.float32
    assert not torch.allclose(x_t * 255, (x_t * 255).round())  # the float x~, not the 8-bit PNG
    assert z_t.shape == (64, 28, 28)  # mobilefacenet's E_c output (spec B5.2)
    assert s[s["kind"] == "unauthorised"]["z_tilde"].isna().all()  # no z~ for a model that was not authorised
    rec = s[s["kind"].astype(str).str.startswith("reconstruction")]
    assert set(rec["target"]) == {"mobilefacenet"} and len(rec) == 3 * 3 * 2  # 3 faces, 3 features, 2 levels
    assert set(rec["feature"]) == {"unprotected", "permuted-noise", "pmt"}
    assert set(rec["level"]) == {"white-box", "black-box"}
    assert set(rec[rec["level"] == "black-box"]["kind"]) == {
        "reconstruction-learned", "reconstruction-learned-unprotected", "reconstruction-learned-permuted-noise"}
    assert rec["ssim"].between(-1, 1).all() and rec["srra"].isin([True, False]).all()
    up = s[s["kind"] == "utility-privacy"]
    assert len(up) == 24 and up["utility"].between(0, 1).all() and (up["privacy"] > 0).all()
    assert np.allclose(up["up"], up["utility"] + up["privacy"])
    curve = s[s["kind"] == "up-curve"]  # Fig. 8/10: UP over sigma in [0, 0.2], x~ and the originals
    assert sorted(set(curve["sigma"])) == [0.0, 0.05, 0.1, 0.15, 0.2] and len(curve) == 24 * 5
    assert len(s[s["kind"] == "up-curve-original"]) == 24 * 5
    at_01 = curve[curve["sigma"] == 0.1].set_index("source")["up"]
    assert np.allclose(at_01.sort_index(), up.set_index("source")["up"].sort_index())  # same draws as Table X's
    shown = default_metrics(result)
    assert {"rec_ssim", "rec_psnr", "rec_cos", "rec_srra", "up"} <= set(shown)
    assert METRICS["rec_ssim"].estimate(s[s["kind"] == "reconstruction"]) is not None
    attacks = result.card["protocol"]["attacks"]
    assert set(attacks) == {"reconstruction", "up"} and attacks["up"]["privacy"] == "AlexNet LPIPS"
    assert "tv_weight" in attacks["reconstruction"]["targets"]["mobilefacenet"]
    view = str(result.table())  # the run view: rows per target, the rec_* and up columns beside accuracy
    assert "Rec. SSIM" in view and "UP (AlexNet LPIPS)" in view and "mfn512" in view
    from fpbench.results.table_vi import render, table_vi

    vi = table_vi(s, "mobilefacenet")
    assert list(vi.index) == ["Unprotected", "Random Noise", "Ours (released z~)"]
    assert vi.loc["Ours (released z~)", "SSIM"] == pytest.approx(s[s["kind"] == "reconstruction"]["ssim"].mean())
    assert table_vi(s, "mobilefacenet", "black-box").loc["Ours (released z~)", "SSIM"] == pytest.approx(
        s[s["kind"] == "reconstruction-learned"]["ssim"].mean())
    assert len(render(s, result.card)) == 3  # Table VI for the authorised model at both levels, then UP


def test_attacks_are_checked_before_any_work(mini):
    import fpbench

    common = dict(dataset="mini", quality=False, out=None)
    with pytest.raises(BadInput, match=r"unknown attack 'recon'.*available: reconstruction, up, deobfuscate"):
        fpbench.run("pmt", ["mobilefacenet"], authorised=["mobilefacenet"], protocol="authorise",
                    attacks=["recon"], **common)
    with pytest.raises(BadInput, match=r"runs with --protocol authorise \(PMT\), not 'verify'"):
        fpbench.run("pgd", ["mobilefacenet"], protocol="verify", attacks=["up"], **common)
    with pytest.raises(BadInput, match=r"method 'none' releases none \(use pmt or mr-pmt\)"):
        fpbench.run("none", ["mobilefacenet"], authorised=["mobilefacenet"], protocol="authorise",
                    attacks=["reconstruction"], **common)
    with pytest.raises(BadInput, match=r"--attacks deobfuscate learns to undo .* method 'none' makes none"):
        fpbench.run("none", ["mobilefacenet"], authorised=["mobilefacenet"], protocol="authorise",
                    attacks=["deobfuscate"], **common)
