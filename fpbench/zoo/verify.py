"""Check cached weights: state-dict sha256 against the pinned value and, when the repository holds
``tests/golden/<name>.npz``, embeddings of ``golden_inputs`` against the original runtime's.

A passing check is recorded next to the weights (``<name>.verified.json`` with the file's size and mtime),
so ``fpbench zoo list`` can show *verified* without re-hashing every file.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..cache import write_json
from .catalog import ZOO, load, state_dict_sha256, weights_path
from .golden import golden_batch, golden_inputs
from .integrity import load_weights

#: Golden embeddings of the original runtimes (present in a source checkout, not in an installed wheel).
GOLDEN_DIR = Path(__file__).resolve().parents[2] / "tests" / "golden"
#: Lowest cosine between fpbench's and the original runtime's embedding that counts as a match.
GOLDEN_MIN_COSINE = 0.9999


@dataclass(frozen=True)
class Verification:
    name: str
    weights_sha256: str  # recomputed from the cached file
    pinned_sha256: str  # from the card (embedded) or the user index (added weights)
    golden_min_cosine: float | None  # None when there is no golden file for this model
    golden_note: str = ""

    @property
    def sha_ok(self) -> bool | None:
        """True / False against the pinned sha256; None when nothing is pinned."""
        return self.weights_sha256 == self.pinned_sha256 if self.pinned_sha256 else None

    @property
    def golden_ok(self) -> bool | None:
        """True / False against the golden embeddings; None when there are none to compare with."""
        if self.golden_note:
            return False
        return None if self.golden_min_cosine is None else self.golden_min_cosine > GOLDEN_MIN_COSINE

    @property
    def result(self) -> str:
        """``ok`` (every available check passed), ``FAILED`` or ``unchecked`` (no pin and no golden file)."""
        checks = [c for c in (self.sha_ok, self.golden_ok) if c is not None]
        return "unchecked" if not checks else "ok" if all(checks) else "FAILED"

    @property
    def ok(self) -> bool:
        return self.result == "ok"


def _record_path(name: str) -> Path:
    return weights_path(name).with_suffix(".verified.json")


def _file_stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def verify(name: str, device: str = "cpu") -> Verification:
    """Re-hash the cached weights of ``name`` and compare with the pinned sha256 and golden embeddings."""
    from .catalog import MissingWeights

    path = weights_path(name)
    pinned = ZOO.get(name).card.weights_sha256
    if not path.is_file():
        raise MissingWeights(f"weights for {name!r} are not in the cache; run `fpbench zoo fetch {name}` or `fpbench zoo add`")
    got = state_dict_sha256(load_weights(path))
    cosine, note = None, ""
    golden = GOLDEN_DIR / f"{name}.npz"
    if golden.is_file() and (not pinned or got == pinned):
        cosine, note = _golden_cosine(name, golden, device)
    result = Verification(name, got, pinned, cosine, note)
    if result.ok:
        write_json(_record_path(name), {**asdict(result), **_file_stamp(path), "checked_sha256": got})
    else:
        _record_path(name).unlink(missing_ok=True)
    return result


def _golden_cosine(name: str, golden: Path, device: str) -> tuple[float | None, str]:
    """Lowest cosine between fpbench's and the golden embeddings of ``golden_inputs(size, n)``; the golden
    file's ``input_sha256`` tells which size (the model's input size or the canonical 112) it was made at."""
    model = load(name, device)
    ref = np.load(golden)
    want = ref["embeddings"].astype(np.float64)
    n = len(want)
    sizes = [s for s in dict.fromkeys((model.spec.size, 112))
             if hashlib.sha256(golden_inputs(s, n).tobytes()).hexdigest() == str(ref["input_sha256"])]
    if not sizes:
        return None, f"{golden.name} was made from inputs other than golden_inputs({model.spec.size} or 112, {n})"
    with torch.no_grad():
        emb = model(golden_batch(sizes[0], n).to(device)).cpu().numpy().astype(np.float64)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    return float((emb * want).sum(axis=1).min()), ""


def status(name: str) -> str:
    """``missing`` (no cached weights), ``verified`` (checks passed since the file was last written, against
    the same pin) or ``fetched``."""
    path = weights_path(name)
    if not path.is_file():
        return "missing"
    record = _record_path(name)
    if record.is_file():
        try:
            rec = json.loads(record.read_text())
        except ValueError:
            return "fetched"
        if {k: rec.get(k) for k in ("size", "mtime_ns")} == _file_stamp(path) and rec.get("pinned_sha256") == ZOO.get(name).card.weights_sha256:
            return "verified"
    return "fetched"
