"""``--attacks reconstruction``: PMT's Table VI (both attack levels) for every authorised target of a run.

For the first ``FACES[profile]`` protected faces x1 and each authorised target F = E_s . E_c (split as the
method split it), three uploaded features are attacked: ``unprotected`` z = E_c(x), ``permuted-noise``
z_rn = z + pi(z~ - z) and ``pmt`` z~ = E_c(x~) as the method released it (the float z~ kept in the cache; an
image-upload attacker computes E_c(x~) = z~ himself), at two levels (spec B2.6): white-box (Level 2,
``reconstruct_opt``) and black-box (Level 1, RecFace ``reconstruct_learned``, trained on auxiliary faces of
people the run does not evaluate). Every reconstruction x^ is scored against x (spec B3.1): SSIM and PSNR
(lower = the face is hidden), COS = cos(F(x^), F(x)) and SRRA = [COS > kappa] with the authorised model F and
kappa = 0.2 (the paper wants them high: the feature stays usable for the authorised task), and SRRA_feat =
[cos(E_s(z'), F(x)) > kappa] for the uploaded feature z' itself. lambda_TV is calibrated once per target on
unprotected features of held-out faces (faces the attack does not score) and cached. Rows (column ``level``):
white-box kind ``reconstruction`` for z~ (the registry's ``rec_*`` metrics), ``reconstruction-unprotected`` and
``reconstruction-permuted-noise``; black-box the same kinds with ``-learned`` after ``reconstruction``
(``rec1_*`` metrics).
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from ..cache import atomic_path, json_sha256, subdir
from ..errors import BadInput
from ..images import tensor_sha256
from ..metrics import pixel
from ..zoo.split import DEFAULT_UNITS, split
from .learned import PROFILES as LEARNED, auxiliary_faces
from .permuted_noise import permuted_noise
from .reconstruct_learned import recface
from .reconstruct_opt import PROFILES, TV_GRID, calibrate_tv, reconstruct

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

KAPPA = 0.2
FACES = {"mini": 8, "paper": None}  # faces attacked per target (None: all); spec B5.3
HELD_OUT = {"mini": 4, "paper": 16}  # faces the lambda_TV calibration reconstructs
FEATURES = {"unprotected": "reconstruction-unprotected", "permuted-noise": "reconstruction-permuted-noise",
            "pmt": "reconstruction"}
#: (level column, the kinds' infix after "reconstruction") of the two attack levels
LEVELS = {"white-box": "", "black-box": "-learned"}


def kind(feature: str, level: str) -> str:
    """The score kind of a reconstruction of ``feature`` at ``level``."""
    return FEATURES[feature].replace("reconstruction", "reconstruction" + LEVELS[level], 1)


def run_reconstruction(state: "RunState", protected: "Protected") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score rows of the three feature kinds per attacked face and authorised target, and the attack's card."""
    from ..pipeline.protect import authorised_targets

    if protected.tensors is None:
        raise BadInput(f"--attacks reconstruction needs a method that uploads features (pmt, mr-pmt), not "
                       f"{state.spec.method!r}")
    profile = state.spec.profile
    settings = PROFILES[profile]
    targets = [t for t in authorised_targets(state) if getattr(t, "model", None) is not None]
    if not targets:
        raise BadInput("--attacks reconstruction needs an authorised zoo model among the targets (--authorised NAME)")
    items = list(state.items)[: FACES[profile]]
    x = state.images([i.source for i in items])
    refs = [protected.refs(i.id) or {} for i in items]
    units = int(state.method.params.get("units", DEFAULT_UNITS))
    aux = auxiliary_faces(state.dataset.records, [i.source for i in state.items])
    rows, card = [], {"level": "white-box (Level 2, eq. 2-4) and black-box (Level 1, RecFace, eq. 1)",
                      "faces": len(items), "kappa": KAPPA, "settings": asdict(settings), "tv_grid": list(TV_GRID),
                      "recface": {"budget": asdict(LEARNED[profile]), "train_faces": len(aux),
                                  "architecture": "U-Net following Wang et al. CVPR 2023 (approximation)"},
                      "targets": {}}
    for target in targets:
        shallow, deep = split(target.model, units)
        hashes = [(r.get("z_tilde") or {}).get(target.display) for r in refs]
        if not all(hashes):
            raise BadInput(f"no released feature z~ of {target.display!r} in the cache for this run; run it again "
                           "(the protect stage keeps them)")
        z_tilde = torch.stack([protected.tensors.get(h) for h in hashes]).to(x)
        with torch.no_grad():
            z = shallow(x)
            f_x = deep(z)
        g = torch.Generator().manual_seed(state.spec.seed)
        features = {"unprotected": z, "permuted-noise": permuted_noise(z, z_tilde, g), "pmt": z_tilde}
        weight, tried = _tv_weight(state, shallow, target.model.card.weights_sha256, units, items, settings)
        s = replace(settings, tv_weight=weight)
        card["targets"][target.display] = {"tv_weight": weight, "ssim_by_tv_weight": tried,
                                           "at_grid_edge": bool(tried) and weight == max(TV_GRID)}
        with state.work.stage("reconstruction attack"):
            model = {"name": target.model.card.name, "weights_sha256": target.model.card.weights_sha256, "units": units}
            r = recface(shallow, model, state.images(aux), LEARNED[profile], state.spec.seed)
            for feature, zf in features.items():
                x_hat = reconstruct(shallow, zf, x.shape[-1], s, torch.Generator().manual_seed(state.spec.seed))
                with torch.no_grad():
                    cos_feat = (deep(zf) * f_x).sum(1)
                    learned = r(zf)
                for level, rec in (("white-box", x_hat), ("black-box", learned)):
                    rows += _rows(items, target.display, feature, level, rec, x, _embed(shallow, deep, rec), f_x,
                                  cos_feat, protected)
    return pd.DataFrame(rows), card


def _embed(shallow, deep, x: torch.Tensor) -> torch.Tensor:
    """F(x) = E_s(E_c(x)) without gradients."""
    with torch.no_grad():
        return deep(shallow(x))


def _rows(items: list, target: str, feature: str, level: str, x_hat: torch.Tensor, x: torch.Tensor,
          f_hat: torch.Tensor, f_x: torch.Tensor, cos_feat: torch.Tensor, protected: "Protected") -> list[dict]:
    """One score row per face: SSIM, PSNR, COS, SRRA of ``x_hat`` against ``x`` and SRRA_feat of the feature."""
    ssim, psnr, cos = pixel.ssim(x_hat, x), pixel.psnr(x_hat, x), (f_hat * f_x).sum(1)
    return [{"pair": item.id, "source": item.source.id, "target": target, "transform": "identity",
             "kind": kind(feature, level), "feature": feature, "level": level, "ssim": float(ssim[k]),
             "psnr": float(psnr[k]), "cos": float(cos[k]), "srra": bool(cos[k] > KAPPA),
             "cos_feat": float(cos_feat[k]), "srra_feat": bool(cos_feat[k] > KAPPA), "threshold": KAPPA,
             "reconstruction": protected.tensors.put(x_hat[k])} for k, item in enumerate(items)]


def _tv_weight(state: "RunState", shallow, weights_sha256: str, units: int, attacked: list,
               settings) -> tuple[float, dict[str, float]]:
    """lambda_TV calibrated on held-out faces (not attacked), cached by model, split, settings and faces."""
    taken = {i.source.id for i in attacked}
    pool = sorted((r for r in state.dataset.records if r.id not in taken and r.role != "synthetic"), key=lambda r: r.id)
    held = random.Random(f"{state.spec.seed}:tv-calibration").sample(pool, min(HELD_OUT[state.spec.profile], len(pool)))
    if not held:
        return settings.tv_weight, {}
    x = state.images(held)
    key = json_sha256({"model": weights_sha256, "units": units, "settings": asdict(settings), "grid": TV_GRID,
                       "faces": [tensor_sha256(x[i]) for i in range(len(held))], "seed": state.spec.seed})
    path = subdir("adversaries", "tv-calibration") / f"{key}.json"
    if path.is_file():
        found = json.loads(path.read_text())
        return found["tv_weight"], found["ssim_by_tv_weight"]
    with state.work.stage("reconstruction attack"):
        weight, scores = calibrate_tv(shallow, x, settings, pixel.ssim, TV_GRID, state.spec.seed)
    tried = {f"{w:g}": round(v, 4) for w, v in scores.items()}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"tv_weight": weight, "ssim_by_tv_weight": tried}))
    return weight, tried
