"""Bring-your-own weights: ``fpbench zoo add NAME[.TAG] --weights FILE [--arch ARCH]``.

``add_weights`` reads a user checkpoint (a plain state dict, or a dict holding one under ``state_dict``,
``state_dict_backbone`` or ``model``), strips wrapper prefixes (``module.``, ``backbone.``), checks every
key and shape against the architecture, and caches the converted float32 state dict as
``FPBENCH_CACHE/weights/NAME.pt`` (atomically). ``NAME.TAG`` adds other weights of model ``NAME``'s
architecture (any zoo model, or a paper model's accepted ones); ``add_derived`` stores weights fpbench
produced from a zoo model (e.g. a robust fine-tuning) as such a tag. The index
``FPBENCH_CACHE/weights/user.json`` records the file's sha256, the architecture and the state-dict sha256;
on import this module registers every paper model (``fpbench.zoo.paper``) and every indexed model in ``ZOO``.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ..cache import atomic_path, file_sha256, subdir, write_json
from ..errors import BadInput, warn
from .catalog import ZOO, WeightsMismatch, ZooEntry, register, state_dict_sha256, weights_path
from .cfg import Architecture, DerivedFrom, PretrainedCfg, UserFile, split_name
from .integrity import remember
from .model import InputSpec
from .paper import ARCHS, PAPER_ALIASES, PAPER_MODELS, paper_cfg

#: Keys under which training scripts wrap the backbone's state dict.
WRAPPER_KEYS = ("state_dict", "state_dict_backbone", "model")
#: Key prefixes added by DataParallel / training wrappers.
WRAPPER_PREFIXES = ("module.", "backbone.")

#: what every user.json record holds (besides ``dropped_keys`` and ``added``)
RECORD_FIELDS = ("arch", "weights_sha256")
#: and either a user file or the zoo model it was derived from
SOURCE_FIELDS = (("file", "file_sha256"), ("derived_from", "recipe"))
#: colour orders ``--channel`` accepts
CHANNELS = ("RGB", "BGR")
#: ``name`` or ``name.tag``, at most 64 characters.
_NAME = re.compile(r"^(?=.{1,64}$)[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)?$")


def index_path() -> Path:
    return subdir("weights") / "user.json"


def read_index() -> dict[str, dict[str, Any]]:
    """Indexed models: name -> {arch, weights_sha256, added} and {file, file_sha256, dropped_keys} (user
    files) or {derived_from, recipe} (derived weights)."""
    p = index_path()
    if not p.is_file():
        return {}
    try:
        models = json.loads(p.read_text(encoding="utf-8")).get("models", {})
    except (ValueError, AttributeError, RecursionError):  # UnicodeDecodeError is a ValueError; [[[...]]]
        models = None
    if not isinstance(models, dict) or not all(_valid_record(r) for r in models.values()):
        raise BadInput(f"{p} is unreadable (not an fpbench user-weights index); delete it and add your weights again "
                       "with `fpbench zoo add`")
    return models


def _valid_record(record: Any) -> bool:
    return isinstance(record, dict) and all(isinstance(record.get(k), str) for k in RECORD_FIELDS) \
        and any(all(isinstance(record.get(k), str) for k in keys) for keys in SOURCE_FIELDS) \
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


def canonical(name: str) -> str:
    """``name`` with a paper alias of its base replaced (``mobile_face.x`` -> ``mobileface.x``)."""
    base, tag = split_name(name)
    base = PAPER_ALIASES.get(base, base)
    return f"{base}.{tag}" if tag else base


def check_layout(sd: dict[str, torch.Tensor], arch: Architecture) -> tuple[LayoutReport, dict[str, torch.Tensor]]:
    """Compare ``sd`` with architecture ``arch``; return the report and, if it fits, the module's full
    state dict in its own dtypes (``num_batches_tracked`` counters absent from the file are set to 0)."""
    with torch.device("meta"):  # names, shapes and dtypes without allocating the weights
        model_sd = arch.build().state_dict()
    is_counter = lambda k: k.endswith("num_batches_tracked")
    dropped = sorted(k for k in sd if k.startswith(arch.dropped_prefixes))
    given = {k: v for k, v in sd.items() if k not in dropped}
    missing = sorted(k for k in model_sd if k not in given and not is_counter(k))
    unexpected = sorted(k for k in given if k not in model_sd and not is_counter(k))
    mismatched = sorted(f"{k} {tuple(given[k].shape)} vs {tuple(v.shape)}" for k, v in model_sd.items()
                        if k in given and given[k].shape != v.shape)
    report = LayoutReport(arch.name, missing, unexpected, mismatched, dropped)
    if not report.ok:
        return report, {}
    out = {k: given[k].detach().to(ref.dtype).contiguous() if k in given else torch.zeros((), dtype=ref.dtype)
           for k, ref in model_sd.items()}
    return report, out


def add_weights(name: str, weights: str | Path, arch: str | None = None, channels: str | None = None) -> ZooEntry:
    """Check the checkpoint ``weights`` against ``arch`` (paper names and tags may omit it), cache it as model
    ``name`` and register it; ``channels`` ("RGB"/"BGR") overrides the colour order the architecture's input
    spec assumes (e.g. RobFR's adversarially trained IR-50s take RGB, its natural ones BGR). One-line
    ``BadInput`` / ``WeightsMismatch`` errors; nothing is written on failure."""
    name = canonical(name)
    path = Path(weights).expanduser()
    archs = _candidate_archs(name, arch)
    if not path.is_file():
        raise BadInput(f"weights file {path} does not exist")
    sd = read_checkpoint(path)
    reports = [check_layout(sd, a) for a in archs]
    fitting = [(r, out) for r, out in reports if r.ok]
    if not fitting:
        best = min((r for r, _ in reports), key=lambda r: r.problems)
        others = f" (also tried {', '.join(a.name for a in archs if a.name != best.arch)})" if len(archs) > 1 else ""
        raise WeightsMismatch(f"{path.name} does not fit {best.arch}{others}: {best.summary()}")
    report, out = fitting[0]
    if channels is not None and channels.upper() not in CHANNELS:
        raise BadInput(f"--channel must be one of {', '.join(c.lower() for c in CHANNELS)}, not {channels!r}")
    record = {"arch": report.arch, "file": path.name, "file_sha256": file_sha256(path), "dropped_keys": report.dropped}
    return _store(name, out, record | ({"channels": channels.upper()} if channels else {}))


def add_derived(name: str, sd: dict[str, torch.Tensor], recipe: str, training_data: str = "") -> ZooEntry:
    """Store weights fpbench produced from zoo model ``base`` (``name`` is ``base.tag``), e.g. by fine-tuning;
    ``training_data`` (if given) replaces the base's on the card."""
    base, tag = split_name(canonical(name))
    if not tag or base not in ZOO:
        raise BadInput(f"derived weights need a name BASE.TAG with a zoo model as BASE, not {name!r}")
    report, out = check_layout(sd, ZOO.get(base).arch)
    if not report.ok:
        raise WeightsMismatch(f"weights derived from {base} do not fit its architecture: {report.summary()}")
    record = {"arch": ZOO.get(base).arch.name, "derived_from": base, "recipe": recipe}
    return _store(f"{base}.{tag}", out, record | ({"training_data": training_data} if training_data else {}))


def _store(name: str, sd: dict[str, torch.Tensor], record: dict[str, Any]) -> ZooEntry:
    """Cache ``sd`` as model ``name``, index it with ``record`` and its sha256, and register it."""
    sha = state_dict_sha256(sd)
    dest = weights_path(name)
    with atomic_path(dest) as tmp:
        torch.save(sd, tmp)
    remember(dest, sha)
    record = {**record, "weights_sha256": sha, "added": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    index = read_index()
    index[name] = record
    write_json(index_path(), {"models": index})
    return _register(name, record)


def _candidate_archs(name: str, arch: str | None) -> tuple[Architecture, ...]:
    if not _NAME.match(name):
        raise BadInput(f"invalid model name {name!r}: use letters, digits, '_', '-' and one '.' before a tag "
                       "(at most 64 characters)")
    if name in ZOO and ZOO.get(name).package_file is not None:
        raise BadInput(f"{name!r} is an embedded zoo model; add your weights under another name")
    base, tag = split_name(name)
    if arch is not None and arch not in ARCHS and not (tag and base in ZOO and arch == ZOO.get(base).arch.name):
        raise BadInput(f"unknown architecture {arch!r}; available: {', '.join(ARCHS)}")
    if base in PAPER_MODELS:
        accepted = PAPER_MODELS[base].archs
        if arch is not None and arch not in accepted:
            raise BadInput(f"{base} weights must be {' or '.join(accepted)}, not {arch}")
        return tuple(ARCHS[a] for a in ((arch,) if arch else accepted))
    if tag:
        if base not in ZOO:
            raise BadInput(f"{name!r}: {base!r} is not a zoo model, so it has no tags; add it first or name yours without '.'")
        own = ZOO.get(base).arch
        if arch is not None and arch != own.name:
            raise BadInput(f"{name} is a tag of {base}, whose architecture is {own.name}, not {arch}")
        return (own,)
    if arch is None:
        raise BadInput(f"{name!r} is not a paper model: pass --arch ({', '.join(ARCHS)})")
    return (ARCHS[arch],)


def _arch_and_input(name: str, arch_name: str) -> tuple[Architecture, InputSpec]:
    """The architecture an index record names and the input spec its weights get: the paper architecture's,
    or (for a tag of another zoo model) the base model's own."""
    if arch_name in ARCHS and ARCHS[arch_name].input is not None:
        return ARCHS[arch_name], ARCHS[arch_name].input
    base = split_name(name)[0]
    if base != name and base in ZOO and ZOO.get(base).arch.name == arch_name:
        return ZOO.get(base).arch, ZOO.get(base).cfg.input
    raise BadInput(f"{index_path()}: {name!r} has unknown architecture {arch_name!r}; re-add its weights")


def _entry_data(name: str, record: dict[str, Any] | None) -> tuple[Architecture, PretrainedCfg]:
    base, tag = split_name(name)
    if record is None:  # a paper model without weights yet
        arch = ARCHS[PAPER_MODELS[name].archs[0]]
        return arch, paper_cfg(name, arch, None)
    arch, spec = _arch_and_input(name, record["arch"])
    if record.get("channels") in CHANNELS:
        spec = replace(spec, channels=record["channels"])
    if "derived_from" in record:
        source = DerivedFrom(record["derived_from"], record["recipe"])
        notes = f"Derived by fpbench from {source.base}: {source.recipe}."
        cfg = ZOO.get(base).cfg
        return arch, replace(cfg, source=source, weights_sha256=record["weights_sha256"], verified="", notes=notes,
                             thresholds=None, training_data=record.get("training_data", cfg.training_data))
    source = UserFile(record["file"], record["file_sha256"])
    notes = f"Dropped training-only keys: {_first(record['dropped_keys'])}." if record.get("dropped_keys") else ""
    if base in PAPER_MODELS:
        return arch, replace(paper_cfg(base, arch, source, record["weights_sha256"], notes, tag), input=spec)
    return arch, PretrainedCfg(source, record["weights_sha256"], spec, notes=notes)


def _register(name: str, record: dict[str, Any] | None) -> ZooEntry:
    """Register ``name`` in ZOO, or give its entry the new weights if it is registered already."""
    arch, cfg = _entry_data(name, record)
    if name in ZOO:
        entry = ZOO.get(name)
        if entry.package_file is not None:
            raise BadInput(f"{name!r} is an embedded zoo model; add your weights under another name")
        entry.arch, entry.cfg = arch, cfg
        return entry
    return register(name, arch, cfg)


def register_all() -> None:
    """Register the paper models and every indexed model, bases before their tags (called on import). A
    broken index or record is reported as a warning so that the embedded models stay usable."""
    try:
        index = read_index()
    except BadInput as e:
        warn(f"{e}; the embedded and paper models are listed without your weights")
        index = {}
    for name in PAPER_MODELS:
        _register(name, index.get(name))
    for name, record in sorted(index.items(), key=lambda item: "." in item[0]):
        if name in PAPER_MODELS:
            continue
        try:
            _register(name, record)
        except (BadInput, KeyError) as e:
            warn(f"user weights {name!r} skipped: {e}")


register_all()
