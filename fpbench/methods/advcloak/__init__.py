"""The AdvCloak family (spec Part A): AdvCloak and its subspace variants (``advcloak``), AdvFaces and AdvFaces+
(``advfaces``), each registered in its module.

Files: ``networks`` (generator, patch discriminator), ``profiles`` (paper / mini settings, departures, time
estimates), ``data`` (stage-I faces, stage-II identities), ``losses``, ``train`` (the two stages as Learners of
the shared Trainer, checkpoint keys), ``method`` (fitting, the person mask, plan and card)."""
from . import advcloak, advfaces  # noqa: F401  registers the methods
from .method import GeneratorMethod
from .networks import Discriminator, Generator

__all__ = ["Discriminator", "Generator", "GeneratorMethod"]
