"""Bring-your-own weights: ``fpbench zoo add NAME --weights FILE [--arch ARCH]``.

``add_weights`` reads a user checkpoint (a plain state dict, or a dict holding one under ``state_dict``,
``state_dict_backbone`` or ``model``), strips wrapper prefixes (``module.``, ``backbone.``), checks every
key and shape against the architecture, and caches the converted float32 state dict as
``FPBENCH_CACHE/weights/NAME.pt`` (atomically). The index ``FPBENCH_CACHE/weights/user.json`` records the
file's sha256, the architecture and the state-dict sha256; on import this module registers every paper
model (``fpbench.zoo.paper``) and every indexed user model in ``ZOO``.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ..cache import atomic_path, file_sha256, subdir, write_json
from ..errors import BadInput, warn
from .catalog import ZOO, WeightsMismatch, ZooEntry, register, state_dict_sha256, weights_path
from .model import ModelCard
from .paper import ARCHS, PAPER_ALIASES, PAPER_MODELS, arch_card, paper_card

#: Keys under which training scripts wrap the backbone's state dict.
WRAPPER_KEYS = ("state_dict", "state_dict_backbone", "model")
#: Key prefixes added by DataParallel / training wrappers.
WRAPPER_PREFIXES = ("module.", "backbone.")

#: what every user.json record holds (besides ``dropped_keys`` and ``added``)
RECORD_FIELDS = ("arch", "file", "file_sha256", "weights_sha256")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def index_path() -> Path:
    return subdir("weights") / "user.json"


def read_index() -> dict[str, dict[str, Any]]:
    """Indexed user models: name -> {arch, file, file_sha256, weights_sha256, dropped_keys, added}."""
    p = index_path()
    if not p.is_file():
        return {}
    try:
        models = json.loads(p.read_text(encoding="utf-8")).get("models", {})
    except (ValueError, AttributeError):  # UnicodeDecodeError is a ValueError
        models = None
    if not isinstance(models, dict) or not all(_valid_record(r) for r in models.values()):
        raise BadInput(f"{p} is unreadable (not an fpbench user-weights index); delete it and add your weights again "
                       "with `fpbench zoo add`")
    return models


def _valid_record(record: Any) -> bool:
    return isinstance(record, dict) and all(isinstance(record.get(k), str) for k in RECORD_FIELDS) \
        and isinstance(record.get("dropped_keys", []), list)


def readable_index() -> dict[str, dict[str, Any]]:
    """``read_index()``, or no user models if the index is unreadable (``register_all`` has warned about it)."""
    try:
        return read_index()
    except BadInput:
        return {}


def user_model(name: str) -> dict[str, Any] | None:
    """The index record of ``name`` if its weights were added and are still in the cache."""
    rec = readable_index().get(name)
    return rec if rec is not None and weights_path(name).is_file() else None


@dataclass(frozen=True)
class LayoutReport:
    """How a checkpoint's keys compare with an architecture's."""

    arch: str
    missing: list[str]
    unexpected: list[str]
    mismatched: list[str]  # "key (file shape) vs (model shape)"
    dropped: list[str]  # training-only keys removed (e.g. a classifier)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    @property
    def problems(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.mismatched)

    def summary(self) -> str:
        parts = [f"{len(v)} {what} ({_first(v)})" for what, v in
                 (("missing keys", self.missing), ("unexpected keys", self.unexpected), ("shape mismatches", self.mismatched)) if v]
        return "; ".join(parts)


def _first(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (", ..." if len(items) > n else "")


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, unwrapped and with wrapper prefixes stripped."""
    try:
        with warnings.catch_warnings():  # torch warns about unusual pickle protocols in foreign files
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  torch raises many types for foreign files; its hints invite weights_only=False
        raise BadInput(f"cannot read {path} as a PyTorch state dict: it is not a torch.save file of tensors only "
                       "(fpbench never unpickles other Python objects); save `model.state_dict()` with torch.save") from None
    while isinstance(obj, dict) and not _is_state_dict(obj):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict) or not _is_state_dict(obj):
        raise BadInput(f"{path} holds no state dict of tensors (top-level keys: {_first(sorted(map(str, obj)) if isinstance(obj, dict) else [type(obj).__name__])})")
    return {_strip(k): v for k, v in obj.items()}


def _is_state_dict(obj: dict[Any, Any]) -> bool:
    return bool(obj) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def _strip(key: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for p in WRAPPER_PREFIXES:
            if key.startswith(p):
                key, stripped = key[len(p):], True
    return key


def check_layout(sd: dict[str, torch.Tensor], arch: str) -> tuple[LayoutReport, dict[str, torch.Tensor]]:
    """Compare ``sd`` with architecture ``arch``; return the report and, if it fits, the module's full
    state dict in its own dtypes (``num_batches_tracked`` counters absent from the file are set to 0)."""
    spec = ARCHS[arch]
    with torch.device("meta"):  # names, shapes and dtypes without allocating the weights
        model_sd = spec.build().state_dict()
    is_counter = lambda k: k.endswith("num_batches_tracked")
    dropped = sorted(k for k in sd if k.startswith(spec.dropped_prefixes))
    given = {k: v for k, v in sd.items() if k not in dropped}
    missing = sorted(k for k in model_sd if k not in given and not is_counter(k))
    unexpected = sorted(k for k in given if k not in model_sd and not is_counter(k))
    mismatched = sorted(f"{k} {tuple(given[k].shape)} vs {tuple(v.shape)}" for k, v in model_sd.items()
                        if k in given and given[k].shape != v.shape)
    report = LayoutReport(arch, missing, unexpected, mismatched, dropped)
    if not report.ok:
        return report, {}
    out = {k: given[k].detach().to(ref.dtype).contiguous() if k in given else torch.zeros((), dtype=ref.dtype)
           for k, ref in model_sd.items()}
    return report, out


def add_weights(name: str, weights: str | Path, arch: str | None = None) -> ZooEntry:
    """Check the checkpoint ``weights`` against ``arch`` (paper names may omit it), cache it as model ``name``
    and register it. One-line ``BadInput`` / ``WeightsMismatch`` errors; nothing is written on failure."""
    name = PAPER_ALIASES.get(name, name)
    path = Path(weights).expanduser()
    archs = _candidate_archs(name, arch)
    if not path.is_file():
        raise BadInput(f"weights file {path} does not exist")
    sd = read_checkpoint(path)
    reports = [check_layout(sd, a) for a in archs]
    fitting = [(r, out) for r, out in reports if r.ok]
    if not fitting:
        best = min((r for r, _ in reports), key=lambda r: r.problems)
        others = f" (also tried {', '.join(a for a in archs if a != best.arch)})" if len(archs) > 1 else ""
        raise WeightsMismatch(f"{path.name} does not fit {best.arch}{others}: {best.summary()}")
    report, out = fitting[0]
    sha = state_dict_sha256(out)
    with atomic_path(weights_path(name)) as tmp:
        torch.save(out, tmp)
    record = {
        "arch": report.arch, "file": path.name, "file_sha256": file_sha256(path), "weights_sha256": sha,
        "dropped_keys": report.dropped, "added": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    index = read_index()
    index[name] = record
    write_json(index_path(), {"models": index})
    return _register(name, record)


def _candidate_archs(name: str, arch: str | None) -> tuple[str, ...]:
    if not _NAME.match(name):
        raise BadInput(f"invalid model name {name!r}: use letters, digits, '_', '-', '.' (at most 64)")
    if arch is not None and arch not in ARCHS:
        raise BadInput(f"unknown architecture {arch!r}; available: {', '.join(ARCHS)}")
    if name in PAPER_MODELS:
        accepted = PAPER_MODELS[name].archs
        if arch is not None and arch not in accepted:
            raise BadInput(f"{name} weights must be {' or '.join(accepted)}, not {arch}")
        return (arch,) if arch else accepted
    if name in ZOO and ZOO.get(name).package is not None:
        raise BadInput(f"{name!r} is an embedded zoo model; add your weights under another name")
    if arch is None:
        raise BadInput(f"{name!r} is not a paper model: pass --arch ({', '.join(ARCHS)})")
    return (arch,)


def _card(name: str, record: dict[str, Any] | None) -> ModelCard:
    if record is None:  # a paper model without weights yet
        return paper_card(name, source="none: add with `fpbench zoo add " + name + " --weights FILE`")
    fields = {"source": f"user file {record['file']}", "archive_sha256": record["file_sha256"],
              "weights_sha256": record["weights_sha256"]}
    if record.get("dropped_keys"):
        fields["notes"] = f"Dropped training-only keys: {_first(record['dropped_keys'])}."
    if name in PAPER_MODELS:
        return paper_card(name, record["arch"], **fields)
    return arch_card(name, ARCHS[record["arch"]], **fields)


def _build(name: str) -> nn.Module:
    record = readable_index().get(name)
    arch = record["arch"] if record else PAPER_MODELS[name].archs[0]
    return ARCHS[arch].build()


def _register(name: str, record: dict[str, Any] | None) -> ZooEntry:
    """Register ``name`` in ZOO, or refresh its card in place if it is registered already."""
    card = _card(name, record)
    if name in ZOO:
        entry = ZOO.get(name)
        if entry.package is not None:
            raise BadInput(f"{name!r} is an embedded zoo model; add your weights under another name")
        vars(entry.card).update(vars(card))
        return entry
    return register(ZooEntry(card=card, build=lambda: _build(name)))


def register_all() -> None:
    """Register the paper models and every indexed user model (called on import). A broken index is
    reported as a warning so that the embedded models stay usable."""
    try:
        index = read_index()
    except BadInput as e:
        warn(f"{e}; the embedded and paper models are listed without your weights")
        index = {}
    for name in PAPER_MODELS:
        _register(name, index.get(name))
    for name, record in index.items():
        if name in PAPER_MODELS or record.get("arch") not in ARCHS:
            continue
        try:
            _register(name, record)
        except BadInput as e:
            warn(f"user weights {name!r} skipped: {e}")


register_all()
