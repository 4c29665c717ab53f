"""Adversaries that attack what a protection method released (spec C3), run by ``fpbench run --attacks NAME``.

* ``reconstruction``: reconstruction of x from the uploaded shallow feature, against unprotected,
  permuted-noise and PMT features, at both of PMT's levels: Level 2 (white-box) optimisation through the known
  E_c (``reconstruct_opt``) and Level 1 (black-box) RecFace, a U-Net trained on (E_c(x), x) pairs of auxiliary
  faces (``reconstruct_learned``, ``learned``, ``recnet``); ``reconstruction``, ``permuted_noise``; Table VI.
* ``deobfuscate``: the adaptive attacker of spec B6, outside the paper's threat model: a de-obfuscator
  D: x~ -> x trained on (x, method(x)) pairs of auxiliary faces, scored with PMT's eq. 10 and SSIM/PSNR
  (``deobfuscate``).
* ``up``: PMT's utility-privacy score UP(0.1, 0.3) of the released x~ and of the original faces
  (``utility_privacy``, ``fpbench.metrics.up``); Table X's UP column.
* ``attributes``: emotion / race / gender CosSim and |delta age| of the released x~ and of x + Gaussian noise
  against x (``attributes``, ``attribute_models``); PMT Table VIII's analog with human-models networks
  (FER2013 / GEAR / SSR-Net), not DeepFace.

Each returns score rows (kinds read by the metric registry) and a card section (``protocol.attacks``).
The learned attackers train on split ``train`` faces of people the run does not evaluate (flipped, shifted,
brightened), with the shared Trainer, cached by content hash.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from ..errors import BadInput

if TYPE_CHECKING:
    from ..pipeline.protect import Protected
    from ..pipeline.state import RunState

Attack = Callable[["RunState", "Protected"], tuple[pd.DataFrame, dict[str, Any]]]


def _reconstruction(state: "RunState", protected: "Protected"):
    from .reconstruction import run_reconstruction

    return run_reconstruction(state, protected)


def _deobfuscate(state: "RunState", protected: "Protected"):
    from .deobfuscate import run_deobfuscate

    return run_deobfuscate(state, protected)


def _up(state: "RunState", protected: "Protected"):
    from .utility_privacy import run_up

    return run_up(state, protected)


def _attributes(state: "RunState", protected: "Protected"):
    from .attributes import run_attributes

    return run_attributes(state, protected)


#: name -> (attack, one line for the CLI help); every attack needs the authorise protocol
ATTACKS: dict[str, tuple[Attack, str]] = {
    "reconstruction": (_reconstruction, "white-box (Level 2) and learned black-box (Level 1, RecFace) reconstruction "
                                        "of x from the uploaded shallow feature (Table VI)"),
    "up": (_up, "utility-privacy UP(0.1, 0.3) of the released x~ and of the original faces (Table X)"),
    "deobfuscate": (_deobfuscate, "adaptive attacker outside the paper's threat model: a de-obfuscator D: x~ -> x "
                                  "trained on (x, PMT(x)) pairs of auxiliary faces; eq. 10 and SSIM with D(x~)"),
    "attributes": (_attributes, "emotion/race/gender CosSim and |delta age| of x~ and of x + noise vs x (Table VIII; "
                                "human-models networks, not DeepFace)"),
}
#: attacks that train a network on auxiliary faces (``learned.auxiliary_faces``)
LEARNED_ATTACKS = ("reconstruction", "deobfuscate")


def plan(names: tuple[str, ...], authorised: tuple[str, ...], profile: str, items: int, auxiliary: int = 0,
         method_steps: int = 0) -> str:
    """What the attacks will do and a rough time, printed before a run starts (``auxiliary``: the faces the
    learned attackers train on; ``method_steps``: the method's steps per face, for the de-obfuscator's pairs)."""
    from ..methods.pmt.method import STEP_SECONDS
    from .learned import PROFILES as LEARNED, STEP_SECONDS as TRAIN_SECONDS
    from .reconstruct_opt import PROFILES
    from .reconstruction import FACES, HELD_OUT, TV_GRID

    cost = sum(STEP_SECONDS.get(a.split("[")[0], max(STEP_SECONDS.values())) for a in authorised)
    learned = LEARNED[profile]
    parts = []
    if "reconstruction" in names:
        faces, steps = FACES[profile] or items, PROFILES[profile].steps
        minutes = (3 * min(faces, items) + HELD_OUT[profile] * len(TV_GRID)) * steps * cost / 60
        train = len(authorised) * learned.steps * TRAIN_SECONDS[profile]["features"] / 60
        parts.append(f"reconstruction: {min(faces, items)} faces x 3 features x {steps} Level-2 steps per authorised "
                     f"model (+ lambda_TV calibration on {HELD_OUT[profile]} held-out faces, cached): about "
                     f"{minutes:.1f} CPU-min; Level 1: RecFace {learned.steps} steps on {auxiliary} auxiliary train "
                     f"faces per authorised model (cached): about {train:.1f} CPU-min")
    if "up" in names:
        parts.append(f"up: {items} faces x noise draws x LPIPS per authorised model: under a minute")
    if "deobfuscate" in names:
        pmt = auxiliary * method_steps * cost / 60
        train = learned.steps * TRAIN_SECONDS[profile]["image"] / 60
        parts.append(f"deobfuscate (outside the paper's threat model): the method on {auxiliary} auxiliary train faces "
                     f"x {method_steps} steps, about {pmt:.1f} CPU-min, then D {learned.steps} steps, about "
                     f"{train:.1f} CPU-min (both cached)")
    if "attributes" in names:
        from .attributes import FACES as ATTRIBUTE_FACES, SIGMAS

        faces = min(ATTRIBUTE_FACES[profile] or items, items)
        parts.append(f"attributes: {faces} faces x (x~ + float x~ + noise {'/'.join(f'{s:g}' for s in SIGMAS)}) "
                     "through 4 human-models networks (FER2013 / GEAR / SSR-Net, not DeepFace): under a minute")
    return "attacks: " + "; ".join(parts)


def check_attacks(names: tuple[str, ...], protocol: str) -> None:
    """A one-line error for an unknown attack or a protocol the attacks cannot run under."""
    for name in names:
        if name not in ATTACKS:
            raise BadInput(f"unknown attack {name!r} for --attacks; available: {', '.join(ATTACKS)}")
    if names and protocol != "authorise":
        raise BadInput(f"--attacks {','.join(names)} runs with --protocol authorise (PMT), not {protocol!r}")


def run_attacks(state: "RunState", protected: "Protected") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every attack the run asked for: their score rows together and their card sections by name."""
    frames, cards = [], {}
    for name in state.spec.attacks:
        rows, card = ATTACKS[name][0](state, protected)
        frames.append(rows)
        cards[name] = card
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), cards
