"""RunSpec: everything that defines one run, validated before any work starts, and its profiles."""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from .errors import BadInput
from .metrics.verification import ASR_FAR, ESR_FAR

GOALS = ("impersonate", "dodge")

#: Which photos of a protected person an identify run masks (spec A1.1): ``probe`` (AdvCloak/OPOM: the
#: attacker's gallery holds clean photos, the person's new photos are masked) or ``gallery`` (the Fawkes
#: threat model: the person's photos in the attacker's gallery are masked, clean probes query it).
SIDES = ("probe", "gallery")
#: ``--mask-l2 none``: no renormalisation even where the protocol has a default
NO_MASK_L2 = "none"

#: Profiles scale the work: ``mini`` finishes in minutes on a 2-core CPU, ``paper`` uses the papers' settings.
PROFILES = ("mini", "paper")


@dataclass(frozen=True)
class RunSpec:
    """One run: a method against targets on a dataset through a channel of transforms."""

    method: str
    targets: tuple[str, ...]
    dataset: str = "mini"
    transforms: tuple[str, ...] = ("identity",)
    goal: str = ""  # "" = the protocol's default (verify: impersonate)
    protocol: str = ""  # "" = the one the dataset's manifest names, else verify
    authorised: tuple[str, ...] = ()  # authorise protocol: the targets the face's owner allows
    surrogates: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    profile: str = "mini"
    seed: int = 0
    device: str = "cpu"
    batch_size: int = 16
    far: float = ASR_FAR
    esr_far: float = ESR_FAR  # ErasableMask eq. 18: tau_2 is the FAR-0.1 threshold (see metrics.verification)
    quality: bool = True
    # renormalise every perturbation to this L2 norm ([0,1] units), as AdvCloak does; None: the protocol's
    # default (identify: 4.706 for person and universal masks), "none": never
    mask_l2: float | str | None = None
    side: str = "probe"  # identify protocol: which side of the search holds the protected photos (SIDES)
    attacks: tuple[str, ...] = ()  # adversaries run on what the method released (fpbench.adversaries)
    inference_photos: int | None = None  # person masks: from the first K inference photos (None: all; AdvCloak Fig. 4b)

    def validate(self) -> "RunSpec":
        """Raise ``BadInput`` for values that cannot work, before anything is loaded or computed."""
        if not self.targets:
            raise BadInput("no target given; pass at least one --target (see `fpbench list targets`)")
        if self.goal and self.goal not in GOALS:
            raise BadInput(f"unknown goal {self.goal!r}; available: {', '.join(GOALS)}")
        if self.profile not in PROFILES:
            raise BadInput(f"unknown profile {self.profile!r}; available: {', '.join(PROFILES)}")
        if self.batch_size < 1:
            raise BadInput(f"--batch-size must be >= 1, got {self.batch_size}")
        for name, far in (("far", self.far), ("esr_far", self.esr_far)):
            if not 0 < far < 1:
                raise BadInput(f"{name} must lie in (0, 1), got {far}")
        for key in ("eps", "steps", "alpha"):
            value = self.params.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise BadInput(f"--{key} must be a finite number, got {value!r}")
            if value < 0:
                raise BadInput(f"--{key} must be >= 0, got {value}")
        if self.mask_l2 is not None and self.mask_l2 != NO_MASK_L2 and (
                isinstance(self.mask_l2, (str, bool)) or not (0 < float(self.mask_l2) < float("inf"))):
            raise BadInput(f"--mask-l2 must be a finite number > 0 or {NO_MASK_L2}, got {self.mask_l2}")
        if self.inference_photos is not None and (isinstance(self.inference_photos, bool) or
                                                  not isinstance(self.inference_photos, int) or self.inference_photos < 1):
            raise BadInput(f"--inference-photos must be a whole number >= 1, got {self.inference_photos!r}")
        if self.side not in SIDES:
            raise BadInput(f"unknown --side {self.side!r}; available: {', '.join(SIDES)}")
        check_device(self.device)
        return self

    @property
    def mask_norm(self) -> float | None:
        """The L2 norm perturbations are rescaled to, None for none (``mask_l2`` None or ``"none"``)."""
        return None if self.mask_l2 in (None, NO_MASK_L2) else float(self.mask_l2)

    def with_(self, **changes: Any) -> "RunSpec":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["targets"], d["transforms"], d["surrogates"] = list(self.targets), list(self.transforms), list(self.surrogates)
        d["authorised"], d["attacks"] = list(self.authorised), list(self.attacks)
        for key, default in (("protocol", ""), ("authorised", []), ("mask_l2", None), ("side", "probe"), ("attacks", []),
                             ("inference_photos", None)):
            if d[key] == default:  # v1 specs had none of these: same run, same name and cache key
                del d[key]
        return d


def check_device(device: str) -> torch.device:
    """Parse a device string; ``BadInput`` if it is unknown or not available here."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise BadInput(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise BadInput(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BadInput(f"device {device!r} requested but CUDA is not available on this machine; use --device cpu")
    return dev
