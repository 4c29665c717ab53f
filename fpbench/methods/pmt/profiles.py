"""PMT settings per profile (spec B2.5, B5.5) and the card's list of decisions and departures.

The paper gives neither K nor alpha: ``paper`` uses K = 300 signed steps of 2/255, ``mini`` K = 100 with the
step decayed linearly from 4/255 to 1/255 (spec B2.5). Everything else is the paper's chosen configuration
(section 6.1): random-noise init, random-noise augmentation, layer aggregation, Gaussian TI kernel, k = 1.
"""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from ...errors import BadInput
from .algorithm import Settings

PROFILES: dict[str, Settings] = {
    "mini": Settings(steps=100, alpha=4 / 255, alpha_end=1 / 255),
    "paper": Settings(steps=300, alpha=2 / 255, alpha_end=2 / 255),
}

#: What the paper leaves open and fpbench decided, or where fpbench departs from it (spec B2.5, B5.1, B5.2).
DECISIONS = (
    "no public PMT code exists: every item below is an fpbench decision (spec B2.5), not the authors' choice",
    "K and alpha are not in the paper: paper profile K = 300, alpha = 2/255; mini K = 100, alpha 4/255 -> 1/255",
    "update x~ <- clip(x~ - alpha * sign(delta), 0, 1): Algorithm 1 prints '+ alpha * grad J' without sign() "
    "(two slips: minimising J needs '-', the text says 'gradient sign')",
    "optimised in the canonical RGB [0, 1] space and clipped to [0, 1] after every step (the paper: randn in the "
    "model's input space, no clipping); x~_0 = clip(0.5 + 0.5 N(0, I)) = randn in the [-1, 1] space",
    "'first five layers' = the first five units of fpbench.zoo.split (stem conv = unit 1, each residual / "
    "bottleneck / depthwise-separable unit = one unit); the model's preprocessing (resize, colour order, dlib "
    "chip warp, normalisation) is part of E_c",
    "layer aggregation over all five shallow units, each AvgPool2d(2, stride 2), concatenated",
    "Random Noise augmentation T(v) = v + N(0, 0.05^2), fresh draws for x and x~ every iteration; Random Affine "
    "rotation +-10 deg, translation +-5 %, scale 0.9-1.1, the same for x and x~; Mix picks one per iteration",
    "TI kernel over i, j in {-k..k}; Gaussian sigma = k / sqrt(3); delta = W * (grad / ||grad||_1) per image",
    "Random Sort init permutes x's pixel positions (RGB kept); Random Blur init: Gaussian blur, sigma 4 px",
    "MR-PMT: one shared T per iteration, the summed eq. 8 loss's gradient L1-normalised and TI-convolved once",
    "x~ is released as an 8-bit PNG (fpbench's image store) and scored as such (the paper does not say)",
    "authorised and unauthorised models are fpbench zoo models, not the paper's CASIA-WebFace-trained ones",
)


def get_settings(profile: str, overrides: dict[str, Any]) -> Settings:
    """The profile's settings with the given (already checked) overrides; None keeps the profile's value."""
    if profile not in PROFILES:
        raise BadInput(f"unknown PMT profile {profile!r}; valid: {', '.join(PROFILES)}")
    return replace(PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None})


def departures(settings: Settings, profile: str) -> list[str]:
    """The decisions, then every setting that differs from the paper's chosen configuration."""
    paper = PROFILES["paper"]
    out = list(DECISIONS)
    for key, value in asdict(settings).items():
        if key in ("squared", "normalise"):
            continue
        if value != getattr(paper, key):
            out.append(f"{key}: {value:.6g} (paper profile: {getattr(paper, key):.6g})" if isinstance(value, float)
                       else f"{key}: {value} (paper profile: {getattr(paper, key)})")
    if profile == "mini":
        out.append("mini: CPU-minutes scale; absolute accuracies are not comparable with the paper's tables")
    return out
