"""ErasableMask settings: ``paper`` (section V-A) and ``mini`` (minutes on a 2-core CPU), and what differs.

Pixel convention: the networks work in AttGAN's [-1, 1] range (``x * 2 - 1`` of the canonical [0, 1]
image). sigma1 = 30 of eq. 8 is read as the per-image L2 norm in that range at 256 x 256 x 3, i.e. an RMS
difference of 30 / sqrt(196608) = 0.068 in [-1, 1] (0.034 in [0, 1]; the paper's Table VI reports MSE 0.0028
in [0, 1] between protected and attribute-edited faces, so the hinge is active at its operating point). At
another resolution S the same RMS budget is ``30 * S / 256`` (``Profile.sigma1``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ...errors import BadInput

#: AttGAN's 13 CelebA attributes (the ones it edits); used when the dataset has them.
ATTGAN_ATTRIBUTES = (
    "Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses",
    "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young",
)

#: Attributes flipped to form att_b in stages 2-3 and at protect time (mild edits; see ``train.flip_one``).
FLIP_ATTRIBUTES = ("Bangs", "Bushy_Eyebrows", "Mouth_Slightly_Open", "Pale_Skin", "Young", "Smiling")

SIGMA1_PAPER = 30.0
PAPER_RESOLUTION = 256
CANONICAL_SIZE = 112  # fpbench's standard crop size


@dataclass(frozen=True)
class Profile:
    """Every number that shapes an ErasableMask training run (hashed into the checkpoint key)."""

    name: str
    resolution: int = PAPER_RESOLUTION
    enc_dim: int = 64
    dec_dim: int = 64
    dis_dim: int = 64
    dis_fc_dim: int = 1024
    max_dim: int = 1024
    n_layers: int = 5
    shortcut_layers: int = 1
    residual: bool = False  # generators predict a change of their input (``networks.Generator``)
    adv_decoder_lr_scale: float = 1.0  # lr multiplier of the residual profile's adversarial decoder
    batch_size: int = 32
    lr: float = 2e-5
    betas: tuple[float, float] = (0.5, 0.999)
    stage_epochs: tuple[float, float, float] | None = (200, 100, 50)
    stage_steps: tuple[int, int, int] | None = None  # overrides stage_epochs when set
    thres_int: float = 0.5  # attribute code = att (+-1) * thres_int (AttGAN)
    beta: float = 0.5  # eq. 6 fusion of G_enc and E_adv features
    gamma: float = 0.05  # clean-domain injection weight
    epsilon: float = 0.5  # eq. 12 clamp
    inner_lr: float | None = None  # meta-train step of Alg. 1 line 7; None: the training lr
    second_order: bool = True  # differentiate through the inner step ("double gradient")
    lambda_att: float = 10.0
    lambda_rec: float = 150.0
    lambda_g: float = 1.0
    lambda_adv: float = 200.0
    lambda_era: float = 150.0
    lambda_perb: float = 1.0
    noise_pool: tuple[str, ...] = ("jpeg50", "gauss0.003", "resize0.25")
    noise_identity: bool = True  # the pool also offers "no processing" (as in MBRS [27])
    augment: bool = False  # random flips and +-jitter pixel shifts of the training crops
    jitter: int = 0
    checkpoint_every: int = 200  # steps between in-stage checkpoints

    @property
    def sigma1(self) -> float:
        """eq. 8 hinge at this resolution (same per-pixel RMS as 30 at 256 x 256)."""
        return SIGMA1_PAPER * self.resolution / PAPER_RESOLUTION

    @property
    def image_size(self) -> int:
        """Side of the canonical crops the method reads: the paper's 256 px for a full-resolution profile,
        else fpbench's standard 112 px (the networks resize to ``resolution`` and back internally)."""
        return PAPER_RESOLUTION if self.resolution >= PAPER_RESOLUTION else CANONICAL_SIZE

    @property
    def meta_lr(self) -> float:
        return self.lr if self.inner_lr is None else self.inner_lr

    def steps(self, stage: int, steps_per_epoch: int) -> int:
        """Number of generator steps of ``stage`` (1-3)."""
        if self.stage_steps is not None:
            return int(self.stage_steps[stage - 1])
        assert self.stage_epochs is not None
        return max(1, math.ceil(self.stage_epochs[stage - 1] * steps_per_epoch))

    def scaled(self, factor: float) -> "Profile":
        """The same profile with every stage length multiplied by ``factor`` (> 0)."""
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) \
                or factor <= 0:
            raise BadInput(f"--steps-scale (parameter steps_scale) must be a finite number > 0, got {factor!r}")
        if factor == 1:
            return self
        if self.stage_steps is not None:
            return replace(self, stage_steps=tuple(max(1, round(s * factor)) for s in self.stage_steps))
        assert self.stage_epochs is not None
        return replace(self, stage_epochs=tuple(e * factor for e in self.stage_epochs))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sigma1"] = self.sigma1
        return d


PAPER = Profile(name="paper")

MINI = Profile(
    name="mini",
    resolution=128,
    enc_dim=16,
    dec_dim=16,
    dis_dim=16,
    dis_fc_dim=128,
    max_dim=256,
    residual=True,
    adv_decoder_lr_scale=10.0,
    batch_size=4,
    lr=2e-4,
    stage_epochs=None,
    stage_steps=(1200, 200, 200),
    inner_lr=2e-4,
    second_order=False,
    augment=True,
    jitter=4,
    checkpoint_every=50,
)

PROFILES = {p.name: p for p in (MINI, PAPER)}

#: Choices the paper leaves open, made the same way in every profile (listed in the card).
INTERPRETATIONS = [
    "architecture: AttGAN (5 conv 4x4/s2 + BN + LeakyReLU encoder, transposed-conv decoder with the attribute "
    "code tiled at the bottleneck and 1 shortcut layer, instance-norm discriminator with real/fake and "
    "attribute heads); images in [-1, 1]",
    "GAN loss: non-saturating log loss of eq. 3 (no gradient penalty); D also minimises L_att^D on real faces",
    "att codes: att (+-1) * 0.5 (AttGAN thres_int); stage 1 targets att_b = batch permutation of att_a "
    "(AttGAN); stages 2-3 and protect: att_a with one mild attribute flipped",
    "protect time: att_a is estimated by D_att (sign of its logits) since only the image is given; the "
    "flipped attribute is chosen from a hash of (seed, image content), independent of the batch",
    "restorer R: G_enc + G_dec structure initialised from them; its decoder gets the all-zero (neutral) "
    "attribute code, because R(x_adv) sees only the protected image",
    "E_adv runs with frozen batch-norm statistics (copied from G_enc) so that the meta step is a pure "
    "function of its weights; R trains with batch statistics",
    "L_perb: per-image L2 norm in [-1, 1], hinge at sigma1 (scaled by resolution/256), batch mean",
    "L_era (eq. 13, 'L2'): mean squared error in [-1, 1] (a per-image norm would be ~100x the other terms)",
    "L_att (eq. 4): BCE averaged over attributes (AttGAN's scale, which lambda_att = 10 matches), not summed",
    "L_rec is constant in stage 2 (G_enc, G_dec frozen) and therefore left out of its graph",
    "meta-auxiliary: L_FR_i{t} of eq. 11 is surrogate i's primary loss (eq. 9) averaged over epoch t; "
    "w_i(t) starts from L{0} = L{1} = 1; eq. 10 aux terms use theta'_E from the primary surrogate",
    "gamma (clean-domain injection) = 0.05: not stated; Fig. 5 shows gamma = 0.1 lowers ASR below Table II, "
    "so the default is smaller; fusion (1 - gamma) * adversarial + gamma * clean after every decoder layer",
    "epsilon of eq. 12 = 0.5: not stated in the paper; with w_i ~ exp(1/K) the clamp stops the attack near a "
    "white-box cosine of 0.58 to the target, above every published FAR-0.01 threshold of the paper's models",
    "noise pool: one operation per step drawn uniformly from {none, jpeg50, gauss0.003, resize0.25} "
    "(differentiable versions), applied to x_adv before both the surrogates and R",
    "impersonation target: one fixed face per trained model; several target images average their cosines",
    "batch size 32 and Adam betas (0.5, 0.999): AttGAN defaults (not stated in the paper); one D update "
    "per generator update (stages 1-2)",
]


def get_profile(name: str, steps_scale: float = 1.0) -> Profile:
    if not isinstance(name, str) or name not in PROFILES:
        raise BadInput(f"unknown erasablemask profile {name!r}; available: {', '.join(PROFILES)}")
    return PROFILES[name].scaled(steps_scale)


def departures(profile: Profile) -> list[str]:
    """Every setting of ``profile`` that differs from the paper profile, as readable strings."""
    out = []
    for f in fields(Profile):
        if f.name in ("name", "checkpoint_every", "stage_epochs", "stage_steps", "inner_lr", "residual",
                      "adv_decoder_lr_scale"):
            continue
        mine, paper = getattr(profile, f.name), getattr(PAPER, f.name)
        if mine != paper:
            out.append(f"{f.name}: {mine} (paper: {paper})")
    if (profile.stage_epochs, profile.stage_steps) != (PAPER.stage_epochs, PAPER.stage_steps):
        mine = (f"{'/'.join(map(str, profile.stage_steps))} steps" if profile.stage_steps is not None
                else f"{'/'.join(f'{e:g}' for e in profile.stage_epochs or ())} epochs")
        out.append(f"stage lengths: {mine} (paper: 200/100/50 epochs)")
    if profile.meta_lr != PAPER.meta_lr:
        out.append(f"meta inner-step lr: {profile.meta_lr:g} (paper: the training lr, {PAPER.meta_lr:g})")
    if profile.residual:
        out.append(
            "generators (G, the protected-face generator and R) predict a change of their input, "
            "clamp(x + G_dec(...), -1, 1), with the decoder's last layer initialised to zero, so an untrained "
            "generator is the identity (AttGAN redraws the whole face; 19 training faces cannot teach that); "
            "the protected face has its own decoder, a copy of G_dec trained with E_adv in stage 2 (the paper "
            "freezes G_dec, which here has learnt to change faces too little to carry a perturbation), at "
            f"{profile.adv_decoder_lr_scale:g}x the lr, so that the perturbation can reach the eq. 8 budget "
            "within the profile's stage-2 steps"
        )
    if profile.resolution != PAPER.resolution:
        out.append(
            f"generator works at {profile.resolution}px: protect/restore resize canonical inputs to it and "
            + ("add the change it makes, resized back (antialiased bilinear), to the canonical face itself"
               if profile.residual else
               f"the outputs back (antialiased bilinear), so outputs are softer than a {PAPER.resolution}px model's")
        )
        out.append(f"sigma1 scaled to {profile.sigma1:g} (= 30 * {profile.resolution}/256, same per-pixel RMS)")
    if not profile.second_order:
        out.append("meta step is first-order (theta'_E uses a detached gradient; no double gradient)")
    return out
