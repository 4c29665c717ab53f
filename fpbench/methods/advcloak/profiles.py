"""AdvCloak settings: ``paper`` (spec A2 / A5.4, exactly the official code's) and ``mini`` (A5.3, CPU minutes),
the card's list of departures, and the plan printed before a run (with a CPU time estimate)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ...errors import BadInput

#: every person mask (and AdvFaces' image masks) is rescaled to L2 1200 on 0-255 = 4.706 in [0, 1] units (A2.4)
MASK_L2 = 1200 / 255


@dataclass(frozen=True)
class Profile:
    """Every number that shapes AdvCloak's two training stages (hashed into the checkpoint keys)."""

    name: str
    ngf: int = 64
    betas: tuple[float, float] = (0.5, 0.9)
    hinge: float = 3.0  # eps of max(||p||_2, eps), [0, 1] units
    lambda_norm: float = 1.0
    output_gain: float = 1.0  # scale of the generator's last-layer init (1: the code's Kaiming init)
    label_flip: float = 0.05  # share of noisy soft labels drawn from the other side
    # stage I (image-specific)
    stage1_batch: int = 32
    stage1_epochs: float | None = 100
    stage1_steps: int | None = None  # overrides stage1_epochs when set
    stage1_lr: float = 1e-4
    lambda_adv1: float = 10.0
    augment: bool = False  # random flips and +-jitter px shifts of stage-I faces
    jitter: int = 0
    # stage II (person-specific)
    identities: int = 2  # P identities per batch
    images: int = 16  # N images per identity
    synthetic_identities: bool = False  # N family-I variants of each training face (mini)
    stage2_epochs: float | None = 100
    stage2_steps: int | None = None
    stage2_lr: float = 2e-8
    lambda_adv2: float = 15.0
    warmup_epochs: float | None = 40  # ConvexHull: class-center loss first (the code's --nter)
    warmup_steps: int | None = None
    checkpoint_every: int = 500

    def steps(self, stage: int, steps_per_epoch: int) -> int:
        fixed, epochs = ((self.stage1_steps, self.stage1_epochs) if stage == 1
                         else (self.stage2_steps, self.stage2_epochs))
        return int(fixed) if fixed is not None else max(1, math.ceil((epochs or 0) * steps_per_epoch))

    def warmup(self, steps_per_epoch: int) -> int:
        if self.warmup_steps is not None:
            return int(self.warmup_steps)
        return math.ceil((self.warmup_epochs or 0) * steps_per_epoch)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stage1_settings(self) -> dict[str, Any]:
        """The settings stage I depends on (its checkpoint key: a stage-II override reuses stage I)."""
        return {k: v for k, v in asdict(self).items() if k not in STAGE2_ONLY}


#: Profile fields only stage II reads
STAGE2_ONLY = ("identities", "images", "synthetic_identities", "stage2_epochs", "stage2_steps", "stage2_lr",
               "lambda_adv2", "warmup_epochs", "warmup_steps")


PAPER = Profile(name="paper")

MINI = Profile(
    name="mini", ngf=16, output_gain=0.05, stage1_batch=8, stage1_epochs=None, stage1_steps=300, augment=True, jitter=4,
    images=8, synthetic_identities=True, stage2_epochs=None, stage2_steps=40, stage2_lr=1e-5,
    warmup_epochs=None, warmup_steps=10, checkpoint_every=25,
)

PROFILES = {p.name: p for p in (MINI, PAPER)}

#: What differs from the paper in every profile, or what the paper leaves open (listed in every card).
ALWAYS = (
    "surrogate: an embedded zoo model (default mobilefacenet) instead of IR-50 trained on CASIA-WebFace with "
    "ArcFace/CosFace/Softmax (not obtainable here); several --surrogate models average their losses",
    "models.py (generator, discriminator) is taken from a fork of the official code (spec A2.1: likely the "
    "authors' file, provenance not certain)",
    "the training data is the run dataset's split 'train' (the paper: 50,000 CASIA-WebFace images for stage I, "
    "3,000 CASIA identities x 16 images for stage II)",
    "the subspace QPs (affine hull, convex hull) are fpbench's solver (closed-form KKT / cvxpy CLARABEL on a "
    "parametrised problem; the code builds a new cvxpy problem per feature with cvxpy's default solver)",
    "noisy soft labels: the last 5 % of the batch's flattened patch logits take the other side's range",
    "person_mask runs the generator in eval mode (batch-norm running statistics), so a mask does not depend on "
    "how the runner batches the inference photos",
    "each method trains (or loads) only its own stage-II variant, on first use (the spec's mini trains AdvCloak and "
    "AdvCloak-ConvexHull by default); stage I is trained once and shared by the whole family",
)

#: Listed in the cards of the methods that use the stage-I generator alone (spec A4.2).
ADVFACES = (
    "AdvFaces/AdvFaces+: AdvCloak's stage-I generator (BCE GAN with noisy labels, 112 px, the run's surrogate), "
    "not AdvFaces' own WGAN on 160 px CASIA crops against FaceNet (spec A4.2); AdvFaces' per-image masks are "
    "rescaled to L2 4.706 like the person masks (not stated in the paper)",
)


def get_profile(name: str) -> Profile:
    if not isinstance(name, str) or name not in PROFILES:
        raise BadInput(f"unknown advcloak profile {name!r}; available: {', '.join(PROFILES)}")
    return PROFILES[name]


def departures(profile: Profile) -> list[str]:
    """The fixed departures, then every setting of ``profile`` that differs from the paper profile."""
    out = list(ALWAYS)
    for f in fields(Profile):
        if f.name in ("name", "checkpoint_every"):
            continue
        mine, paper = getattr(profile, f.name), getattr(PAPER, f.name)
        if mine != paper:
            out.append(f"{f.name}: {mine} (paper: {paper})")
    if profile.stage2_lr != PAPER.stage2_lr:
        out.append(f"stage II lr {profile.stage2_lr:g}: the code's {PAPER.stage2_lr:g} would leave a "
                   f"{profile.stage2_steps}-step fine-tune unchanged (the paper's value is lost)")
    if profile.output_gain != PAPER.output_gain:
        out.append(f"generator init: the last layer's Kaiming weights x {profile.output_gain:g}, so the tanh does not "
                   "start saturated (raw perturbation L2 ~80 at x 1, spent shrinking by a short run; the code trains "
                   "156k steps)")
    if profile.synthetic_identities:
        out.append(f"stage II identities are synthetic: {profile.images} seeded family-I variants (flip, shift, "
                   "scale, rotation, brightness/contrast, gamma) of each training face")
    if profile.name != PAPER.name:
        out.append(f"{profile.name}: CPU-minutes scale; protection rates are not comparable with the paper's tables")
    return out


#: CPU seconds per image of one training step (generator + mobilefacenet surrogate + discriminator, forward and
#: backward) at ngf 16, 2 threads, idle 2-core machine: measured 0.38 s per stage-I step at batch 8 and 0.8 s per
#: stage-II step at 2 x 8 (the spec's 3.3 s at batch 16 was a loaded machine); ngf 64 costs ~4.7x (spec A5.2)
IMAGE_STEP_SECONDS = 0.05


def step_seconds(profile: Profile, stage: int) -> float:
    """Rough CPU seconds of one training step of ``stage``."""
    batch = profile.stage1_batch if stage == 1 else profile.identities * profile.images
    return batch * IMAGE_STEP_SECONDS * (profile.ngf / 16) ** 1.1
