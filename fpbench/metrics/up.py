"""PMT's utility-privacy score UP(sigma, kappa) (eq. 9; spec B3.1).

UP = E_{x ~ N(X, sigma^2), x~ ~ N(X~, sigma^2)} [ 1(cos(f(x~), f(x)) > kappa) + LPIPS(x, x~) ]

f is the authorised model; sigma is environmental noise on both images, drawn afresh ``draws`` times; the
privacy term is a perceptual distance between the two noisy images (the paper: LPIPS with a VGG backbone,
"VGG serves as the privacy-infringing model"). fpbench's LPIPS is AlexNet (its VGG weights are not verified
against the official example distances), so results are labelled "UP (AlexNet LPIPS)". Range about [0, 2]
(LPIPS is not bounded by 1: noise-like pairs can exceed it slightly): the first term is "Utility", the
second "Privacy" (Fig. 8). Noisy images are clipped to [0, 1] [decision: the
LPIPS and FR inputs must be valid images]. For the original data (x~ = x) UP measures how far noise alone
moves a face; PMT expects UP(x~) > UP(x) (Fig. 8, 10).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

#: the label of every UP value fpbench reports (the paper uses VGG LPIPS)
LPIPS_BACKBONE = "AlexNet LPIPS"
TABLE_X = {"sigma": 0.1, "kappa": 0.3}  # Table X's UP(0.1, 0.3)


def utility_privacy(embed: Callable[[torch.Tensor], torch.Tensor],
                    distance: Callable[[torch.Tensor, torch.Tensor], np.ndarray], x: torch.Tensor,
                    x_tilde: torch.Tensor, sigma: float, kappa: float, draws: int = 1,
                    g: torch.Generator | None = None) -> dict[str, np.ndarray]:
    """Per image: ``utility`` (share of draws with cos(f(x~ + n1), f(x + n2)) > kappa), ``privacy`` (mean
    ``distance`` of the noisy pair) and ``up`` = utility + privacy. ``embed`` returns unit-norm embeddings."""
    if x.shape != x_tilde.shape:
        raise ValueError(f"x and x~ must have one shape, got {tuple(x.shape)} and {tuple(x_tilde.shape)}")
    utility, privacy = np.zeros(len(x)), np.zeros(len(x))
    for _ in range(draws):
        xn = (x + sigma * torch.randn(x.shape, generator=g).to(x)).clamp(0, 1)
        xtn = (x_tilde + sigma * torch.randn(x.shape, generator=g).to(x)).clamp(0, 1)
        with torch.no_grad():
            cos = (embed(xtn) * embed(xn)).sum(1).cpu().numpy()
        utility += cos > kappa
        privacy += np.asarray(distance(xn, xtn), dtype=float)
    utility, privacy = utility / draws, privacy / draws
    return {"utility": utility, "privacy": privacy, "up": utility + privacy}
