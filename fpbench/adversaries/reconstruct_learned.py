"""Level-1 (black-box) reconstruction: RecFace R: z -> x (PMT section 4.1.1, eq. 1; spec B2.6).

The attacker queries the shallow model E_c on auxiliary faces (``learned.auxiliary_faces``: training faces of
people the run does not evaluate, flipped, shifted and brightened every batch) and trains the U-Net
``recnet.RecNet`` on (E_c(x), x) pairs with eq. (1). One R per shallow model, cached by (E_c's weights and
units, the auxiliary faces' content hashes, the profile's budget, seed).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Callable

import torch

from ..images import tensor_sha256
from .learned import Budget, Batches, seeded_net, train, unit_dir
from .recnet import RecNet


def recface(shallow: Callable[[torch.Tensor], torch.Tensor], model: dict[str, str | int], faces: torch.Tensor,
            budget: Budget, seed: int) -> RecNet:
    """The trained R for ``shallow`` (named by ``model``: name, weights hash, units) from the auxiliary
    ``faces`` (N, 3, 112, 112) with ``budget`` (a profile of ``learned.PROFILES``)."""
    with torch.no_grad():
        c, r = shallow(faces[:1]).shape[1:3]
    directory = unit_dir("recface", {"model": dict(model), "faces": [tensor_sha256(f) for f in faces],
                                     "budget": asdict(budget), "seed": seed, "feature": [c, r]})
    net = seeded_net(seed, c, r, budget.width)
    batches = Batches(faces, faces, budget, seed, encode=shallow)
    info = {"level": "black-box (Level 1, eq. 1)", "shallow_model": dict(model), "n_train_faces": int(faces.shape[0])}
    return train(net, batches, budget, seed, directory, f"RecFace for {model.get('name', 'E_c')}", info)
