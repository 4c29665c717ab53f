"""PMT's "Random Noise" feature baseline (section 6.3.2; spec B2.6, B4): z_rn = z + pi(z~ - z).

"Random noises with the same amplitude as the PMT ... have disrupted the order and added to unprotected
features": the change PMT makes to the feature map, with its entries shuffled by a random permutation pi
(one per image), so the noise has exactly PMT's amplitude distribution but none of its structure.
"""
from __future__ import annotations

import torch


def permuted_noise(z: torch.Tensor, z_tilde: torch.Tensor, g: torch.Generator | None = None) -> torch.Tensor:
    """z + pi(z~ - z) per image, pi a random permutation of the entries of one image's feature map."""
    if z.shape != z_tilde.shape:
        raise ValueError(f"z and z~ must have one shape, got {tuple(z.shape)} and {tuple(z_tilde.shape)}")
    delta = (z_tilde - z).flatten(1)
    perms = torch.stack([torch.randperm(delta.shape[1], generator=g) for _ in range(delta.shape[0])])
    return z + torch.gather(delta, 1, perms.to(delta.device)).view_as(z)
