"""ErasableMask (Shen et al., "ErasableMask: A Robust and Erasable Privacy Protection Scheme against
Black-box Face Recognition Models"): an AttGAN-style generator whose perturbation encoder E_adv is trained
with a meta-auxiliary attack over surrogate FR models, and a restorer R that erases the perturbation.

Files: ``profiles`` (paper / mini settings and departures), ``networks``, ``losses``, ``meta_aux``
(Algorithm 1), ``noise_pool``, ``train`` (the three-stage curriculum, run by ``fpbench.training``),
``checkpoints`` (cache layout, lookup), ``method`` (the fpbench Method), ``attributes_modified`` (the
stage-1-only baseline).
"""
from .attributes_modified import AttributesModified
from .checkpoints import TrainedModel, latest_checkpoint, load_model
from .method import ErasableMask, Restorer
from .profiles import PROFILES, Profile, get_profile

__all__ = [
    "AttributesModified", "ErasableMask", "Restorer", "TrainedModel", "PROFILES", "Profile", "get_profile",
    "latest_checkpoint", "load_model",
]
