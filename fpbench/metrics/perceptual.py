"""LPIPS v0.1 (AlexNet) perceptual distance, built without any download (see ``weights``)."""
from __future__ import annotations

import warnings
from functools import lru_cache

import lpips
import numpy as np
import torch

from ..zoo.catalog import WeightsMismatch
from .weights import lpips_backbone

_BATCH = 32


@lru_cache(maxsize=4)
def lpips_model(device: str = "cpu") -> lpips.LPIPS:
    """``lpips.LPIPS(net='alex', version='0.1')`` in eval mode with frozen weights, on ``device``.

    ``pnet_rand=True`` stops lpips from asking torchvision for ImageNet weights; the backbone is then
    loaded from ``weights.lpips_backbone()`` and the linear layers come from the lpips package.
    It is differentiable, for methods that use LPIPS as a loss (inputs in [0, 1] with ``normalize=True``).
    """
    with warnings.catch_warnings():  # torchvision's notice about lpips's old `pretrained=` argument
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(pretrained=True, net="alex", version="0.1", pnet_rand=True, verbose=False)
    source = lpips_backbone()
    features = source.load()
    # lpips splits alexnet.features into slices that keep torchvision's indices: slice2.3.weight = features.3.weight
    own = model.net.state_dict()
    wanted = {k: "features." + k.split(".", 1)[1] for k in own}
    bad = [f for k, f in wanted.items() if f not in features or features[f].shape != own[k].shape]
    if bad:
        raise WeightsMismatch(f"{source.path}: not AlexNet's features ({', '.join(bad[:3])} missing or of another shape)")
    model.net.load_state_dict({k: features[f] for k, f in wanted.items()})
    model.requires_grad_(False)
    return model.eval().to(device)


def lpips_distance(x: torch.Tensor, ref: torch.Tensor, device: str | torch.device | None = None) -> np.ndarray:
    """LPIPS distance per image between two canonical batches (lower = more alike)."""
    if x.shape != ref.shape:
        raise ValueError(f"LPIPS needs two batches of one shape, got {tuple(x.shape)} and {tuple(ref.shape)}")
    dev = torch.device(device) if device is not None else x.device
    model = lpips_model(str(dev))
    out = []
    with torch.no_grad():
        for a, b in zip(x.split(_BATCH), ref.split(_BATCH)):
            out.append(model(a.to(dev), b.to(dev), normalize=True).flatten().to("cpu", torch.float64))
    return torch.cat(out).numpy() if out else np.zeros(0)
