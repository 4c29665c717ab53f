"""``--attacks deobfuscate``: the adaptive attacker of spec B6, **outside PMT's threat model**.

The shallow model is public, so an attacker can run the run's own method (same authorised models, profile and
settings) on auxiliary public faces (``learned.auxiliary_faces``: training faces of people the run does not
evaluate), release x~ as 8-bit images like the run does, and train a de-obfuscator D: x~ -> x on the
(x~, x) pairs (``recnet.RecNet`` with an image input, eq. 1, flips / shifts / brightness applied to both images
of a pair). D is applied to every released x~1 of the run; rows:

* kind ``deobfuscation`` per protected face and authorised target: SSIM / PSNR of D(x~1) to x1 (``ssim``,
  ``psnr``) beside those of the released x~1 itself (``ssim_released``, ``psnr_released``), and D(x~1) in the
  ``tensors`` cache (``deobfuscated``: its content hash);
* eq. (10) with D(x~1) in place of x~1 on the protocol's pairs, for every target: kinds
  ``deobfuscated-authorised`` / ``deobfuscated-unauthorised`` at the calibrated threshold and ``...-kappa``
  at kappa = 0.2, exactly as the authorise protocol scores x~1.

The auxiliary pairs and D are cached by content hash (method card, authorised models, faces, budget, seed).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from ..cache import json_sha256, subdir
from ..errors import BadInput
from ..images import tensor_sha256
from ..metrics import pixel
from ..training import save_torch, seeded
from .learned import PROFILES, Batches, auxiliary_faces, seeded_net, train, unit_dir

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

LABEL = "adaptive attacker (outside the paper's threat model)"


def run_deobfuscate(state: "RunState", protected: "Protected") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score rows of D(x~1) per protected face and per pair and target, and the attack's card."""
    from ..pipeline.protect import authorised_targets
    from ..pipeline.thresholds import tau
    from ..protocols.authorise import KAPPA, verification_pairs

    authorised = [t for t in authorised_targets(state) if getattr(t, "model", None) is not None]
    if not authorised:
        raise BadInput("--attacks deobfuscate needs an authorised zoo model among the targets (--authorised NAME)")
    budget = PROFILES[state.spec.profile]
    aux = auxiliary_faces(state.dataset.records, [i.source for i in state.items])
    x_aux = state.images(aux)
    with state.work.stage("de-obfuscator"):
        x_aux_tilde, identity = _auxiliary_pairs(state, authorised, x_aux)
        d = train(seeded_net(state.spec.seed, 3, x_aux.shape[-1], budget.width, image_input=True),
                  Batches(x_aux_tilde, x_aux, budget, state.spec.seed), budget, state.spec.seed,
                  unit_dir("deobfuscator", {**identity, "budget": asdict(budget)}),
                  f"de-obfuscator D for {state.spec.method} ({', '.join(t.display for t in authorised)})",
                  {"attacker": LABEL, "n_train_faces": len(aux)})
    items = list(state.items)
    x = state.images([i.source for i in items])
    released = protected.images(items)
    with torch.no_grad():
        restored = torch.cat([d(b) for b in released.split(state.spec.batch_size)])
    rows = _image_rows(items, authorised, x, released, restored, [protected.tensors.put(r) for r in restored]
                       if protected.tensors is not None else [None] * len(items))
    pairs = verification_pairs(state.dataset)
    index = {i.id: k for k, i in enumerate(items)}
    probes = restored[[index[a.id] for a, _, _ in pairs]]
    x1 = state.images([a for a, _, _ in pairs])
    x2 = state.images([b for _, b, _ in pairs])
    for target in state.targets:
        allowed = target.name in state.spec.authorised or target.display in state.spec.authorised
        with state.work.stage("embed"):
            s_self = target.score(probes, x1, state.spec.batch_size)
            s_pair = target.score(probes, x2, state.spec.batch_size)
        for suffix, t in (("", tau(state, target, state.spec.far)), ("-kappa", KAPPA)):
            kind = "deobfuscated-" + ("authorised" if allowed else "unauthorised") + suffix
            rows += [{"pair": f"{a.id}|{b.id}", "source": a.id, "target": target.display, "transform": "identity",
                      "kind": kind, "label": y, "similarity": float(sp), "self_similarity": float(ss),
                      "threshold": t, "correct": bool(ss > t and (sp > t) == bool(y))}
                     for (a, b, y), ss, sp in zip(pairs, s_self, s_pair)]
    card = {"label": LABEL, "train_faces": len(aux), "budget": asdict(budget), "pairs": len(pairs),
            "input": "the released 8-bit x~1", "auxiliary_method": state.method.card(),
            "architecture": "U-Net following Wang et al. CVPR 2023 (approximation), image input"}
    return pd.DataFrame(rows), card


def _image_rows(items: list, authorised: list, x: torch.Tensor, released: torch.Tensor, restored: torch.Tensor,
                hashes: list[str | None]) -> list[dict]:
    """SSIM / PSNR of D(x~1) and of x~1 to x1, one row per face and authorised target (``deobfuscated``: the
    content hash of D(x~1) in the ``tensors`` cache)."""
    ssim, psnr = pixel.ssim(restored, x), pixel.psnr(restored, x)
    ssim_r, psnr_r = pixel.ssim(released, x), pixel.psnr(released, x)
    return [{"pair": item.id, "source": item.source.id, "target": t.display, "transform": "identity",
             "kind": "deobfuscation", "ssim": float(ssim[k]), "psnr": float(psnr[k]),
             "ssim_released": float(ssim_r[k]), "psnr_released": float(psnr_r[k]), "deobfuscated": hashes[k]}
            for t in authorised for k, item in enumerate(items)]


def _auxiliary_pairs(state: "RunState", authorised: list, x_aux: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The run's method applied to the auxiliary faces and quantised to 8 bits like a release (cached), and
    the identity that keys them."""
    from ..pipeline.protect import context

    identity = {"method": state.method.card(), "authorised": [t.card() for t in authorised],
                "faces": [tensor_sha256(f) for f in x_aux], "profile": state.spec.profile, "seed": state.spec.seed}
    path = subdir("adversaries", "deobfuscator-pairs") / f"{json_sha256(identity)[:24]}.pt"
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True), identity
    ctx = context(state, [], seeded(state.spec.seed, "deobfuscator-pairs"))
    out = torch.cat([state.method.protect(b, ctx).cpu() for b in x_aux.split(state.spec.batch_size)])
    out = (out * 255).round() / 255
    save_torch(out, path)
    return out, identity
