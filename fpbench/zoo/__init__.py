"""Face recognition models: plain PyTorch architectures with weights converted from registry packages,
described as data (``fpbench.zoo.cfg``): ``name`` or ``name.tag`` -> architecture + pretrained cfg."""
from .catalog import ZOO, MissingWeights, WeightsMismatch, ZooEntry, fetch, is_fetched, load, register, state_dict_sha256
from .cfg import Architecture, DerivedFrom, PackageFile, PretrainedCfg, PublishedThresholds, UserFile
from .model import FaceModel, InputSpec, ModelCard

__all__ = [
    "ZOO", "ZooEntry", "FaceModel", "InputSpec", "ModelCard", "MissingWeights", "WeightsMismatch",
    "Architecture", "PretrainedCfg", "PackageFile", "UserFile", "DerivedFrom", "PublishedThresholds",
    "fetch", "is_fetched", "load", "register", "state_dict_sha256",
]

from . import hse, mobilefacenet  # noqa: E402,F401  registers the embedded models
from . import dlib, mfn512, sface  # noqa: E402,F401  registers the embedded models
from . import user  # noqa: E402,F401  registers the paper models and user-added weights (after the embedded ones)
