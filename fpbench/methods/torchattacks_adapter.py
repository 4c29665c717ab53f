"""``torchattacks:NAME``: any attack of the torchattacks library on the surrogates, in embedding space
(optional extra ``pip install 'fpbench[torchattacks]'``).

torchattacks attacks classifiers. ``EmbeddingLogits`` makes the surrogates one: for a batch it returns two
logits per image, ``scale * cos`` and ``scale * cos_threshold``, where ``cos`` is the mean over surrogates of the
cosine similarity to the image's anchor (the target face for impersonation, the clean source for dodging) and
the second class is "anyone else".
Impersonation runs the attack targeted at class 0 from true class 1 (the source is someone else; the
attack's own loss then raises the cosine to the target), dodging runs it untargeted with true class 0 (its
loss lowers the cosine to the source). For a sign-gradient
attack such as PGD the step is the sign of d cos / dx, as in fpbench's own ``pgd``.

Parameters are the attack constructor's own (``--param eps=4/255 --param steps=20``), checked against its
signature, plus ``logit_scale`` (the softmax temperature of the logits; default 1) and ``cos_threshold``
(default 0): attacks that stop at, or keep the smallest perturbation of, a "successful" image (CW, DeepFool,
...) count success as a mean surrogate cosine above it (impersonation) or below it (dodging). Attacks draw from torch's
global generator, which is seeded per batch from the run's generator so outputs are reproducible and cached.
Attacks that query sub-batches of the images (e.g. Square, DeepFool) need ``--batch-size 1``.
"""
from __future__ import annotations

import contextlib
import inspect
import io
from typing import Any, Sequence

import torch
import torch.nn as nn

from ..errors import BadInput
from ..zoo.model import FaceModel
from .base import DEFAULT_SURROGATES, Method, ProtectContext
from .params import Real, check_params

PREFIX = "torchattacks"
ADAPTER = dict(logit_scale=1.0, cos_threshold=0.0)


class EmbeddingLogits(nn.Module):
    """Surrogates as a two-class classifier: logits ``scale * [mean cos(f(x), anchor), threshold]`` per image."""

    def __init__(self, surrogates: Sequence[FaceModel], anchors: Sequence[torch.Tensor], scale: float,
                 threshold: float = 0.0) -> None:
        super().__init__()
        self.surrogates = nn.ModuleList(surrogates)
        self.anchors = [a.detach() for a in anchors]
        self.scale, self.threshold = scale, threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.anchors[0].shape[0]
        if n not in (1, x.shape[0]):
            raise BadInput(f"this torchattacks attack queries {x.shape[0]} of the batch's {n} images at a time; "
                           "run it with --batch-size 1")
        cos = torch.stack([(m(x) * a).sum(1) for m, a in zip(self.surrogates, self.anchors)]).mean(0)
        return self.scale * torch.stack([cos, torch.full_like(cos, self.threshold)], dim=1)


class TorchAttack(Method):
    """A torchattacks attack on surrogate embeddings (see the module docstring); subclasses name ``attack``."""

    needs = frozenset({"surrogates", "target_images"})
    default_surrogates = DEFAULT_SURROGATES
    attack: str = ""

    def __init__(self, **params: Any) -> None:
        merged = check_params(self.name, self.merge_params(params),
                              {"logit_scale": Real(1e-6, 1e6), "cos_threshold": Real(-1, 1)})
        super().__init__(**merged)

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["scale"] = "as published (pixel-space attack; no scaled-down profile needed)"
        return card

    def build(self, model: nn.Module, goal: str) -> Any:
        """The torchattacks attack on ``model``, targeted at class 0 for impersonation."""
        params = {k: v for k, v in self.params.items() if k not in ADAPTER}
        try:
            attack = _attack_class(self.attack)(model, **params)
        except (TypeError, ValueError) as e:
            raise BadInput(f"{self.name}: {e}") from None
        if goal == "impersonate":
            if "targeted" not in getattr(attack, "supported_mode", ()):
                raise BadInput(f"{self.name} has no targeted mode, so it cannot impersonate; use --goal dodge")
            with contextlib.redirect_stdout(io.StringIO()):  # torchattacks prints the mode change
                attack.set_mode_targeted_by_function(lambda images, labels: torch.zeros_like(labels))
        return attack

    def protect(self, x: torch.Tensor, ctx: ProtectContext) -> torch.Tensor:
        x = x.to(ctx.device)
        surrogates, anchors = ctx.surrogate_anchors(x, self.name)
        model = EmbeddingLogits(surrogates, anchors, float(self.params["logit_scale"]),
                                float(self.params["cos_threshold"]))
        attack = self.build(model, ctx.goal)
        true_class = 1 if ctx.goal == "impersonate" else 0
        labels = torch.full((x.shape[0],), true_class, dtype=torch.long, device=x.device)
        seed = int(torch.randint(2**62, (), generator=ctx.generator)) if ctx.generator is not None else 0
        with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
            torch.manual_seed(seed)
            adv = attack(x, labels)
        return adv.detach().clamp(0, 1)


def _torchattacks() -> Any:
    try:
        import torchattacks
    except ImportError:
        raise BadInput(f"{PREFIX}:NAME methods need torchattacks: pip install 'fpbench[torchattacks]'") from None
    return torchattacks


def attack_names() -> list[str]:
    """Every attack class torchattacks exports."""
    ta = _torchattacks()
    return sorted(n for n, obj in vars(ta).items()
                  if inspect.isclass(obj) and issubclass(obj, ta.attack.Attack) and obj is not ta.attack.Attack)


def _attack_class(name: str) -> type:
    if name not in attack_names():
        raise BadInput(f"unknown torchattacks attack {name!r}; available: {', '.join(attack_names())}")
    return getattr(_torchattacks(), name)


def attack_method(name: str) -> type[Method]:
    """The fpbench method ``torchattacks:NAME``: its parameters are the attack's constructor arguments (with
    their defaults), ``logit_scale`` and ``cos_threshold``; its version names torchattacks' version (cached outputs follow it)."""
    cls = _attack_class(name)
    signature = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in signature if p.name not in ("self", "model")
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty}
    doc = (cls.__doc__ or "").strip().splitlines()
    return type(f"TorchAttacks{name}", (TorchAttack,), {
        "name": f"{PREFIX}:{name}", "attack": name, "defaults": {**defaults, **ADAPTER},
        "version": f"1+torchattacks-{_torchattacks().__version__}",
        "__doc__": f"torchattacks {name} in embedding space" + (f": {doc[0]}" if doc else ""),
    })
