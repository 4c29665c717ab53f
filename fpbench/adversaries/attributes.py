"""``--attacks attributes``: PMT's Table VIII analog (spec B5.3, B5.4): how much of a face's soft attributes the
released x~ still gives away, against x + Gaussian noise of amplitude 0.3 and 0.15 (the paper's reference).

For the first ``FACES[profile]`` protected faces x, the attribute networks (``attribute_models``: human-models
FER2013 emotion, GEAR race/gender/age, SSR-Net age; NOT DeepFace) read x and each compared image x'; per face
the rows hold eq. 11's CosSim of the emotion, race and gender probability vectors of x' and x (lower: less
given away) and |age(x') - age(x)| in years (SSR-Net; higher: less given away), with GEAR's age and the
mini-Xception gender as extras. Compared images: kind ``attributes`` = the released 8-bit x~ (as stored),
``attributes-float`` = the float x~ kept in the cache (PMT), ``attributes-noise-0.3`` / ``-0.15`` = x + N(0,
sigma^2) (seeded, clipped to [0, 1] and rounded to 8 bits like a released image). The networks do not depend
on the authorised models, so the rows have one target of their own, ``TARGET``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import torch
import torch.nn.functional as F

from .attribute_models import LABEL, NETS, AttributeNetworks

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

FACES = {"mini": 24, "paper": None}  # faces compared (None: all); spec B5.3
SIGMAS = (0.3, 0.15)  # Table VIII's noise amplitude, and half of it
TARGET = "attributes (human-models, not DeepFace)"
#: score column -> (attribute vector, how it compares): cosine of probability vectors or |difference|
COLUMNS = {"attr_emotion": ("emotion", "cos"), "attr_race": ("race", "cos"), "attr_gender": ("gender", "cos"),
           "attr_age": ("age", "abs"), "attr_gender_xception": ("gender_xception", "cos"),
           "attr_age_gear": ("age_gear", "abs")}


def compare(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per face: CosSim of the probability vectors (eq. 11) and |delta age| of two images' attributes."""
    return {col: F.cosine_similarity(a[key], b[key], dim=1) if how == "cos" else (a[key] - b[key]).abs()
            for col, (key, how) in COLUMNS.items()}


def noisy(x: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    """x + N(0, sigma^2) (one seeded draw per sigma), clipped to [0, 1], rounded to 8 bits."""
    g = torch.Generator().manual_seed(seed * 1000 + round(sigma * 100))
    return ((x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1) * 255).round() / 255


def run_attributes(state: "RunState", protected: "Protected") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score rows per compared image kind and face, and the attack's card."""
    items = list(state.items)[: FACES[state.spec.profile]]
    x = state.images([i.source for i in items]).cpu()
    compared = {"attributes": protected.images(items).cpu()}
    refs = [protected.refs(i.id) or {} for i in items]
    if all(r.get("x_tilde") for r in refs):
        compared["attributes-float"] = torch.stack([protected.tensors.get(r["x_tilde"]) for r in refs]).cpu()
    for sigma in SIGMAS:
        compared[f"attributes-noise-{sigma:g}"] = noisy(x, sigma, state.spec.seed)
    rows = []
    with state.work.stage("attribute estimation"), torch.no_grad():
        nets = AttributeNetworks()
        original = nets(x)
        for kind, images in compared.items():
            scores = compare(nets(images), original)
            for k, item in enumerate(items):
                rows.append({"pair": item.id, "source": item.source.id, "target": TARGET, "transform": "identity",
                             "kind": kind, **{col: float(v[k]) for col, v in scores.items()}})
    card = {"label": LABEL, "faces": len(items), "sigmas": list(SIGMAS),
            "networks": {name: net.sha256 for name, net in NETS.items()},
            "images": "x~ = the released 8-bit image (kind attributes) and the float x~ (attributes-float); "
                      "x + N(0, sigma^2) clipped to [0, 1] and rounded to 8 bits, one seeded draw per sigma",
            "input": "the 112 px aligned crop, preprocessed as human 3.x does (human crops its own detector's box)"}
    return pd.DataFrame(rows), card
