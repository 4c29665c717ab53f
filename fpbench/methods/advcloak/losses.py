"""AdvCloak's losses (spec A2.2, A2.3): the GAN losses with noisy soft labels, the norm hinge, and the
adversarial losses (cosine to the clean features, or to a model of the person's feature subspace)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from ...zoo.model import FaceModel
from ..subspace import subspace_weights

#: stage-II adversarial losses: AdvCloak (cos), -AffineHull, -ClassCenter, -ConvexHull (code loss_type 0, 8, 7, 9)
LOSSES = ("cos", "affine", "center", "convex")


def soft_labels(shape: torch.Size, real: bool, flip: float, gen: torch.Generator) -> torch.Tensor:
    """Noisy soft labels: U(0.9, 1) for real (U(0, 0.1) for fake), the last ``flip`` share of the flattened
    logits drawn from the other side (label flipping)."""
    n = int(torch.Size(shape).numel())
    keep = round(n * (1 - flip))
    u = torch.rand(n, generator=gen) * 0.1
    high, low = 0.9 + u, u
    labels = torch.cat([high[:keep], low[keep:]]) if real else torch.cat([low[:keep], high[keep:]])
    return labels.view(shape)


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, flip: float, gen: torch.Generator) -> torch.Tensor:
    """BCE(D(x), y_real) + BCE(D(x_adv), y_fake) with noisy soft labels."""
    y_real = soft_labels(real_logits.shape, True, flip, gen).to(real_logits)
    y_fake = soft_labels(fake_logits.shape, False, flip, gen).to(fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, y_real)
            + F.binary_cross_entropy_with_logits(fake_logits, y_fake))


def g_gan_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """BCE(D(x_adv), 1) (eq. 10/11)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def norm_hinge(p: torch.Tensor, eps: float) -> torch.Tensor:
    """mean_i max(||p_i||_2, eps) over the perturbations (N, 3, H, W) (eq. 12; zero gradient below eps)."""
    return p.flatten(1).norm(dim=1).clamp_min(eps).mean()


def image_cos_loss(surrogates: Sequence[FaceModel], x: torch.Tensor, adv: torch.Tensor) -> torch.Tensor:
    """mean_i cos(F(x_i), F(x_adv,i)) (eq. 14), averaged over the surrogates; minimised."""
    total = []
    for m in surrogates:
        with torch.no_grad():
            clean = m(x)
        total.append(F.cosine_similarity(m(adv), clean, dim=1).mean())
    return torch.stack(total).mean()


def subspace_cos(clean: torch.Tensor, adv: torch.Tensor, loss: str) -> torch.Tensor:
    """mean_i cos(S(u_i), u_i) of one identity: ``clean`` (N, d) unit features a_j (constants), ``adv`` (N, d)
    unit features u_i; S = the clean feature itself (cos), the class centre, or the projection onto the affine /
    convex hull with detached QP weights (the gradient flows only through u_i)."""
    if loss == "cos":
        anchor = clean
    elif loss == "center":
        anchor = clean.mean(0, keepdim=True).expand_as(adv)
    elif loss in ("affine", "convex"):
        anchor = subspace_weights(clean, adv.detach(), loss).to(adv) @ clean
    else:
        raise ValueError(f"unknown advcloak loss {loss!r}; known: {', '.join(LOSSES)}")
    return F.cosine_similarity(anchor, adv, dim=1).mean()


def class_loss(surrogates: Sequence[FaceModel], x: torch.Tensor, adv: torch.Tensor, loss: str) -> torch.Tensor:
    """L_adv^cls of a stage-II batch: ``x`` and ``adv`` are (P, N, 3, H, W); mean over identities (and
    surrogates) of ``subspace_cos``."""
    n_id, n = x.shape[:2]
    total = []
    for m in surrogates:
        with torch.no_grad():
            clean = m(x.flatten(0, 1)).view(n_id, n, -1)
        feats = m(adv.flatten(0, 1)).view(n_id, n, -1)
        total += [subspace_cos(c, u, loss) for c, u in zip(clean, feats)]
    return torch.stack(total).mean()
