"""The loss terms of ErasableMask (eq. 3-5, 8, 9, 12, 13). Images in [-1, 1]; attributes in {-1, 1}."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def d_adv_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor) -> torch.Tensor:
    """L_D of eq. 3: -log D_G(x_cov) - log(1 - D_G(x_fake)), batch mean."""
    real = F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
    return real + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))


def g_adv_loss(fake_logit: torch.Tensor) -> torch.Tensor:
    """L_G of eq. 3: -log D_G(x_fake), batch mean."""
    return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))


def att_loss(att_logits: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
    """L_att of eq. 4: binary cross-entropy of D_att against attributes in {-1, 1}, averaged over the
    attributes and the batch (AttGAN's scale, which lambda_att = 10 is set for)."""
    return F.binary_cross_entropy_with_logits(att_logits, (att + 1) / 2)


def rec_loss(x_rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L_rec of eq. 5: mean absolute error."""
    return F.l1_loss(x_rec, x)


def perb_loss(x_adv: torch.Tensor, x_cov_b: torch.Tensor, sigma1: float) -> torch.Tensor:
    """L_perb of eq. 8: per-image max(sigma1, ||x_adv - x_cov^{att_b}||_2), batch mean."""
    norms = (x_adv - x_cov_b).flatten(1).norm(dim=1)
    return norms.clamp_min(sigma1).mean()


def era_loss(x_rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L_era of eq. 13 ('L2'): mean squared error."""
    return F.mse_loss(x_rec, x)


def impersonation_loss(emb: torch.Tensor, target_emb: torch.Tensor) -> torch.Tensor:
    """Eq. 9: 1 - cos(FR(x_target), FR(x)), batch mean. ``target_emb`` (T, D) unit rows: cosines to several
    target images are averaged."""
    return 1 - (emb @ target_emb.T).mean()


def adv_loss(pri: torch.Tensor, aux: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Eq. 12: max((1 / 2K) * sum_i (L_pri_i + L_aux_i), epsilon) for per-surrogate losses (K,)."""
    return ((pri + aux).sum() / (2 * pri.numel())).clamp_min(epsilon)
