"""``--attacks up``: PMT's UP(sigma, kappa) (eq. 9, Table X's sigma = 0.1, kappa = 0.3) of the released x~ for
every authorised target, and of the original faces (x~ = x) beside it (Fig. 8's comparison).

Rows: kind ``utility-privacy`` (the released 8-bit x~1 of each protected face) and
``utility-privacy-original`` (x1 against itself under independent noise), columns ``utility``, ``privacy``
(AlexNet LPIPS of the noisy pair) and ``up``; read by the registry's ``up`` metrics. The UP curve of Fig. 8/10
(sigma over ``CURVE_SIGMAS``, kappa 0.3) goes in kinds ``up-curve`` and ``up-curve-original`` with a ``sigma``
column (``fpbench report`` plots it).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from ..errors import BadInput
from ..metrics.perceptual import lpips_distance
from ..metrics.up import LPIPS_BACKBONE, TABLE_X, utility_privacy

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

DRAWS = {"mini": 4, "paper": 10}  # noise draws per image (spec B5.3: 4 on mini)
CURVE_SIGMAS = (0.0, 0.05, 0.1, 0.15, 0.2)  # Fig. 8/10: sigma in [0, 0.2]


def run_up(state: "RunState", protected: "Protected") -> tuple[pd.DataFrame, dict[str, Any]]:
    from ..pipeline.protect import authorised_targets

    targets = [t for t in authorised_targets(state) if getattr(t, "model", None) is not None]
    if not targets:
        raise BadInput("--attacks up needs an authorised zoo model among the targets (--authorised NAME)")
    items = list(state.items)
    x = state.images([i.source for i in items])
    x_tilde = protected.images(items)
    sigma, kappa, draws = TABLE_X["sigma"], TABLE_X["kappa"], DRAWS[state.spec.profile]
    distance = lambda a, b: lpips_distance(a, b, state.device)  # noqa: E731
    rows = []
    with state.work.stage("utility-privacy"):
        for target in targets:
            embed = lambda v: target.model(v.to(state.device))  # noqa: E731
            for kind, other in (("utility-privacy", x_tilde), ("utility-privacy-original", x)):
                curve = kind.replace("utility-privacy", "up-curve")
                for s, row_kind in ((sigma, kind), *((c, curve) for c in CURVE_SIGMAS)):
                    g = torch.Generator().manual_seed(state.spec.seed)
                    out = utility_privacy(embed, distance, x, other, s, kappa, draws, g)
                    for k, item in enumerate(items):
                        rows.append({"pair": item.id, "source": item.source.id, "target": target.display,
                                     "transform": "identity", "kind": row_kind, "sigma": s,
                                     "utility": float(out["utility"][k]), "privacy": float(out["privacy"][k]),
                                     "up": float(out["up"][k])})
    card = {"sigma": sigma, "kappa": kappa, "draws": draws, "privacy": LPIPS_BACKBONE, "curve_sigmas": list(CURVE_SIGMAS),
            "images": "released 8-bit x~1; noisy images clipped to [0, 1]"}
    return pd.DataFrame(rows), card
