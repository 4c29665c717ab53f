"""GAP settings per profile and the card's list of departures (spec A4.1, A5.3, decision D6).

``paper`` is the official GAP code's universal setting (ngf 64, 6 blocks, batch 30, 10 epochs x 50
iterations, Adam 2e-4, beta1 0.5, L-infinity 10/255); the AdvCloak paper gives no GAP settings at all, so the
face adaptation is an fpbench decision and the row is labelled "GAP (face-adapted)". ``mini`` shrinks the
generator and the schedule so it trains in about a CPU-minute.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ...errors import BadInput


@dataclass(frozen=True)
class Settings:
    ngf: int = 64  # generator width
    blocks: int = 6  # residual blocks
    batch: int = 30  # training faces per step
    steps: int = 500  # optimisation steps (GAP code: 10 epochs x 50 iterations)
    lr: float = 2e-4
    beta1: float = 0.5
    linf: float = 10 / 255  # per-channel L-infinity of the mask before the run's L2 rescaling (mag_in 10)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PROFILES: dict[str, Settings] = {
    "paper": Settings(),
    "mini": Settings(ngf=16, blocks=6, batch=8, steps=80),
}

LABEL = "GAP (face-adapted)"

DECISIONS = (
    "approximation: the AdvCloak paper gives no GAP settings; generator, fixed noise input, L-infinity scaling and "
    "optimiser follow the official GAP code (universal mode), the loss is replaced by AdvCloak's mean "
    "cos(F(x), F(x + U)) over training faces (spec A4.1, decision D6) instead of the least-likely-class cross-entropy",
    "one U for everyone (universal scope); the noise image z ~ U(0, 255) is drawn once from the run's seed and kept "
    "in the checkpoint (the code saves U_input_noise.txt)",
    "U is the generator's tanh output itself, zero-centred, then per-channel L-infinity scaled (the code maps "
    "(t + 1) / 2 and subtracts the ImageNet mean in normalised space; fpbench crops are not ImageNet-normalised)",
    "the released U is computed with batch statistics (train-mode BatchNorm on the fixed noise), as in training",
    "training faces: the dataset's split 'train' with random horizontal flips (mini-1n-synthetic: the mini training "
    "faces), not CASIA-WebFace",
    "surrogate: an embedded zoo model (default mobilefacenet) instead of IR-50 trained on CASIA-WebFace",
    "the identify protocol rescales U to L2 4.706 ([0,1] units; 1200 on 0-255) by default, as AdvCloak's tables do",
)


def get_settings(profile: str, overrides: dict[str, Any]) -> Settings:
    """The profile's settings with the given (already checked) overrides; None keeps the profile's value."""
    if profile not in PROFILES:
        raise BadInput(f"unknown GAP profile {profile!r}; valid: {', '.join(PROFILES)}")
    return replace(PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None})


def departures(settings: Settings, profile: str) -> list[str]:
    """The decisions, then every setting that differs from the official code's (the paper profile)."""
    paper = PROFILES["paper"]
    out = list(DECISIONS)
    for key, value in settings.to_dict().items():
        ref = getattr(paper, key)
        if value != ref:
            out.append(f"{key}: {value:.6g} (GAP code / paper profile: {ref:.6g})")
    if profile == "mini":
        out.append("mini: CPU-minutes scale; absolute protection rates are not comparable with the paper's")
    return out
