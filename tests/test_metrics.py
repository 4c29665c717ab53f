"""Estimates, verification rates, thresholds, 1:N protection and pixel metrics on hand-computed cases."""
from __future__ import annotations

import warnings
import numpy as np
import pytest
import torch
from sklearn.metrics import roc_curve

from fpbench.metrics import (
    ESR_FAR,
    Estimate,
    NotEnoughScores,
    asr,
    cosine,
    esr,
    l1,
    mean_ci,
    mse,
    psnr,
    psr,
    rate_ci,
    ssim,
    threshold_at_far,
    topk_protection,
)


# ---- estimates ----------------------------------------------------------------------------------
def test_rate_ci_value_interval_and_determinism():
    s = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    e = rate_ci(s, n_boot=2000, seed=3)
    assert e.value == 0.7 and e.n == 10
    assert 0.3 <= e.lo < 0.7 < e.hi <= 1.0
    assert rate_ci(s, n_boot=2000, seed=3) == e
    v = np.random.default_rng(0).normal(size=30)
    assert mean_ci(v, seed=3) == mean_ci(v, seed=3) != mean_ci(v, seed=4)


def test_rate_ci_degenerate_and_single_sample():
    assert rate_ci(np.ones(5)) == Estimate(1.0, 1.0, 1.0, 5)
    assert rate_ci(np.array([0])) == Estimate(0.0, 0.0, 0.0, 1)


def test_interval_narrows_with_more_samples():
    rng = np.random.default_rng(0)
    small, large = rate_ci(rng.random(50) < 0.5), rate_ci(rng.random(5000) < 0.5)
    assert large.hi - large.lo < (small.hi - small.lo) / 5


def test_mean_ci_matches_mean_and_bad_inputs_fail():
    e = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert e.value == 2.5 and 1.0 <= e.lo < 2.5 < e.hi <= 4.0
    with pytest.raises(ValueError):
        mean_ci(np.array([]))
    with pytest.raises(ValueError):
        rate_ci(np.array([0, 2]))
    with pytest.raises(ValueError):
        mean_ci(np.array([1.0, 2.0]), level=1.5)


# ---- verification -------------------------------------------------------------------------------
def test_cosine_row_wise_hand_case():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    b = torch.tensor([[0.0, 3.0], [2.0, 2.0], [0.0, -1.0]])
    np.testing.assert_allclose(cosine(a, b), [0.0, 1.0, -1.0], atol=1e-12)
    with pytest.raises(ValueError):
        cosine(a, b[:2])


def test_asr_psr_esr_hand_case():
    sim = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    assert asr(sim, 0.25).value == pytest.approx(3 / 5)  # 0.3, 0.4, 0.5 accepted as the target
    assert psr(sim, 0.25).value == pytest.approx(2 / 5)  # 0.1, 0.2 no longer match the owner
    assert esr(torch.tensor(sim), 0.35).value == pytest.approx(3 / 5)
    assert asr(sim, 0.3).value == pytest.approx(2 / 5)  # strict: a score equal to tau is not accepted
    assert ESR_FAR == 0.1


# ---- thresholds ---------------------------------------------------------------------------------
def test_threshold_hand_case():
    impostor = np.arange(100) / 100.0  # 0.00 .. 0.99
    t = threshold_at_far(impostor, 0.05, genuine_scores=np.array([0.5, 0.95, 0.96, 0.99]))
    assert t.tau == pytest.approx(0.94)  # 0.95..0.99 (5 = 5%) lie above it
    assert (impostor > t.tau).mean() <= 0.05 < (impostor >= t.tau).mean()
    assert t.tar == pytest.approx(0.75) and (t.n_impostor, t.n_genuine) == (100, 4)
    assert t.ci_lo <= t.tau <= t.ci_hi


def test_threshold_agrees_with_sklearn_roc_curve():
    rng = np.random.default_rng(1)
    imp, gen = rng.normal(0.0, 0.1, 3000), rng.normal(0.5, 0.15, 500)
    fpr, _, thr = roc_curve(np.r_[np.zeros(imp.size), np.ones(gen.size)], np.r_[imp, gen], drop_intermediate=False)
    for far in (0.1, 0.01, 0.001):
        t = threshold_at_far(imp, far, gen)
        assert t.tau == thr[fpr > far].max()  # first ROC point past the FAR: lower thresholds exceed it
        assert (imp > t.tau).mean() <= far
        assert t.tar == pytest.approx((gen > t.tau).mean())


def test_threshold_needs_enough_impostors_and_is_deterministic():
    imp = np.random.default_rng(2).random(500)
    with pytest.raises(NotEnoughScores, match="1000 impostor"):
        threshold_at_far(imp, 0.001)
    assert threshold_at_far(imp, 0.01) == threshold_at_far(imp, 0.01)
    assert threshold_at_far(imp, 0.01).tar is None


# ---- identification -----------------------------------------------------------------------------
def test_topk_protection_hand_case():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [-1.0, 0.0]])
    gallery_ids = ["a", "b", "distractor", "c"]
    probes = np.array([[1.0, 0.05], [0.9, 0.5], [-0.1, -1.0], [0.75, 0.66]])
    probe_ids = ["a", "b", "c", "a"]
    # rankings: p0 -> a first; p1 -> distractor, a, b; p2 -> c first; p3 -> distractor, a
    protection = [topk_protection(probes, probe_ids, gallery, gallery_ids, k=k).value for k in (1, 2, 3)]
    assert protection == [pytest.approx(0.5), pytest.approx(0.25), 0.0]
    with pytest.raises(ValueError):
        topk_protection(probes, probe_ids, gallery, gallery_ids, k=5)


def test_topk_ties_follow_gallery_order():
    gallery = np.array([[1.0, 0.0], [1.0, 0.0]])
    probes = np.array([[1.0, 0.0]])
    assert topk_protection(probes, ["x"], gallery, ["x", "y"], k=1).value == 0.0
    assert topk_protection(probes, ["x"], gallery, ["y", "x"], k=1).value == 1.0


# ---- pixel quality ------------------------------------------------------------------------------
def test_l1_mse_psnr_hand_case():
    x = torch.zeros(2, 3, 2, 2)
    ref = torch.zeros(2, 3, 2, 2)
    ref[0] = 0.1
    ref[1, 0, 0, 0] = 1.0  # one of 12 values off by 1
    np.testing.assert_allclose(l1(x, ref), [0.1, 1 / 12])
    np.testing.assert_allclose(mse(x, ref), [0.01, 1 / 12])
    np.testing.assert_allclose(psnr(x, ref), [20.0, 10 * np.log10(12)])
    assert psnr(x, x)[0] == np.inf


def test_ssim_identity_and_constant_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=g)
    np.testing.assert_allclose(ssim(x, x), [1.0, 1.0])
    a, b = torch.full((1, 3, 16, 16), 0.5), torch.full((1, 3, 16, 16), 0.25)
    c1 = (0.01 * 1.0) ** 2  # no variance: SSIM is the luminance term (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)
    np.testing.assert_allclose(ssim(a, b), [(2 * 0.5 * 0.25 + c1) / (0.5**2 + 0.25**2 + c1)], rtol=1e-9)
    assert ssim(x, (x + 0.3 * torch.randn(x.shape, generator=g)).clamp(0, 1)).max() < 0.9


def test_pixel_metrics_reject_mismatched_batches():
    with pytest.raises(ValueError):
        mse(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))


def test_a_mean_with_an_infinite_value_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PSNR of an unchanged face is inf; numpy's inf - inf must stay quiet
        est = mean_ci(np.array([30.0, np.inf, 40.0]))
    assert est.value == np.inf and est.n == 3
