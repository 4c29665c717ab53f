"""Cached weights are checked on every read: the state-dict sha256 of the file against the pinned (embedded)
or recorded (user-added, derived) value, hashed once per process per file version (path, size, mtime).

A bad file of an embedded model is deleted with a one-line warning so that the caller converts it again
from its verified package; a bad user file is refused with a one-line ``BadInput`` naming it.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

from ..cache import subdir
from ..errors import BadInput, FpbenchError

#: (path, size, mtime_ns) -> state-dict sha256 of the files read by this process.
_HASHED: dict[tuple[str, int, int], str] = {}


class WeightsMismatch(FpbenchError):
    """Converted or user-supplied weights do not match the expected sha256 or key layout."""


class WeightsRepaired(UserWarning):
    """Cached weights of an embedded model did not match their pinned sha256 and are converted again."""


def weights_path(name: str) -> Path:
    return subdir("weights") / f"{name}.pt"


def state_dict_sha256(sd: dict[str, torch.Tensor]) -> str:
    """Content hash of a state dict: names, dtypes, shapes and values, in sorted key order."""
    h = hashlib.sha256()
    for k in sorted(sd):
        t = sd[k].detach().to("cpu").contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def remember(path: Path, sha256: str) -> None:
    """Record the sha256 of a file this process has just written."""
    _HASHED[_stamp(path)] = sha256


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """A weights file read with ``weights_only=True``; a one-line ``BadInput`` if it is damaged or holds more
    than tensors (a pickle with code is refused, never run, and torch's hint to load it unsafely is not
    repeated)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  torch raises many types for damaged or hostile files
        raise BadInput(f"{path} is not a readable weights file (damaged, or not tensors only: "
                       f"{type(e).__name__}); delete it and fetch or add the weights again") from None


def file_weights_sha256(path: Path) -> str:
    """State-dict sha256 of a weights file, hashed once per file version."""
    stamp = _stamp(path)
    if stamp not in _HASHED:
        _HASHED[stamp] = state_dict_sha256(load_weights(path))
    return _HASHED[stamp]


def read_verified(path: Path, expected: str, repairable: bool) -> tuple[dict[str, torch.Tensor], str] | None:
    """The state dict in ``path`` and its sha256 if it matches ``expected`` (or nothing is expected).

    On a mismatch (or an unreadable file) a ``repairable`` file is deleted with a one-line warning and None
    returned; otherwise ``BadInput`` names the file and how to replace it.
    """
    stamp = _stamp(path)
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  torch raises many types for damaged files
        sd, got = None, "unreadable"
    else:
        got = _HASHED.get(stamp) or state_dict_sha256(sd)
    if sd is not None and (not expected or got == expected):
        _HASHED[stamp] = got
        return sd, got
    name = path.name.removesuffix(".pt")
    what = f"sha256 {got[:16]}..." if sd is not None else "an unreadable file"
    if repairable:
        warnings.warn_explicit(f"{path}: cached weights of {name} have {what}, not the pinned {expected[:16]}...; "
                               "deleted, converting them again from the package", WeightsRepaired, "fpbench.zoo", 0)
        path.unlink(missing_ok=True)
        return None
    raise BadInput(f"{path}: cached weights of {name} have {what}, not the {expected[:16]}... recorded when they were "
                   f"added; delete the file and add the weights again (`fpbench zoo add {name} --weights FILE`)")
