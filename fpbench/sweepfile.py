"""Reading a sweep YAML (see ``fpbench.sweep``): every key is checked for its type before any run starts,
and a wrong one is a one-line ``BadInput`` naming the file and the key. A bare name or number where a list is
expected is read as a one-element list (``targets: sface``, ``seeds: 0``)."""
from __future__ import annotations

import math
import numbers
import reprlib
from pathlib import Path
from typing import Any, Callable

import yaml

from .values import parse_value
from .errors import BadInput

METHOD_KEYS = ("method", "params", "transforms", "surrogates", "authorised", "attacks", "mask_l2", "inference_photos")
#: run settings a method entry may give as a list, one cell per value (AdvCloak Fig. 3b: mask_l2; Fig. 4b: K)
SETTING_LISTS = ("mask_l2", "inference_photos")


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The checked document: keys as written, values normalised (lists of names, ints, floats, bools) and
    ``methods`` as a list of dicts with the keys of ``METHOD_KEYS`` they give."""
    if not path.is_file():
        raise BadInput(f"sweep spec {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise BadInput(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a text (UTF-8) YAML file") from None
    except RecursionError:
        raise BadInput(f"{path}: nests too deeply to be read (corrupt or hostile)") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: a sweep spec is a mapping of keys (name, targets, methods, ...), got {_show(doc)}")
    unknown = sorted(map(str, set(doc) - set(KEYS)))
    if unknown:
        raise BadInput(f"{path}: unknown key(s) {unknown}; valid: {sorted(KEYS)}")
    for key in ("methods", "targets"):
        if key not in doc:
            raise BadInput(f"{path}: a sweep needs `methods` and `targets`")
    return {key: KEYS[key](value, f"{path}: `{key}`") for key, value in doc.items()}


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 3, 4, 4, 40, 40


def _show(value: Any) -> str:
    """A bounded repr: a YAML of nested aliases (billion laughs) would otherwise expand into gigabytes."""
    text = _SHORT.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(where: str, what: str, value: Any) -> BadInput:
    return BadInput(f"{where} must be {what}, got {_show(value)}")


def text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, "a non-empty string", value)
    return value


def folder_name(value: Any, where: str) -> str:
    """A name that becomes the folder ``runs/<name>``: no path separators, no ``..`` (it cannot leave ``runs``)."""
    from .data.manifest import check_name

    return check_name(text(value, where), where)


def names(value: Any, where: str, allow_empty: bool = False) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise _fail(where, "a list of names", value)
    if not items and not allow_empty:
        raise _fail(where, "a list of at least one name", value)
    return items


def integer(value: Any, where: str, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        raise _fail(where, "an integer" + (f" >= {low}" if low is not None else ""), value)
    return value


def integers(value: Any, where: str) -> list[int]:
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not items:
        raise _fail(where, "a list of at least one integer", value)
    return [integer(v, f"{where}[{i}]") for i, v in enumerate(items)]


def number(value: Any, where: str) -> float:
    value = parse_value(value)  # "1/100" is a number, as on the command line
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise _fail(where, "a finite number", value)
    return float(value)


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def params(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(where, "a mapping of parameter names to values", value)
    out: dict[str, Any] = {}
    for key, raw in value.items():
        if isinstance(raw, list):  # a grid: one cell per value
            if not raw:
                raise _fail(f"{where}.{key}", "a value or a non-empty list of values (a grid)", raw)
            out[key] = [_scalar(v, f"{where}.{key}[{i}]") for i, v in enumerate(raw)]
        else:
            out[key] = _scalar(raw, f"{where}.{key}")
    return out


def _scalar(raw: Any, where: str) -> Any:
    if raw is not None and not isinstance(raw, (str, int, float, bool)):
        raise _fail(where, "a number, true/false or a string (or a list of them: a grid)", raw)
    return parse_value(raw)


def methods(value: Any, where: str) -> list[dict[str, Any]]:
    items = [value] if isinstance(value, (str, dict)) else value
    if not isinstance(items, list) or not items:
        raise _fail(where, "a list of at least one method (a name or {method: NAME, params: {...}})", value)
    return [_method(entry, f"{where}[{i}]") for i, entry in enumerate(items)]


def _method(entry: Any, where: str) -> dict[str, Any]:
    if isinstance(entry, str):
        return {"method": text(entry, where), "params": {}}
    if not isinstance(entry, dict) or "method" not in entry:
        raise _fail(where, "a method name or a mapping with `method`", entry)
    unknown = sorted(map(str, set(entry) - set(METHOD_KEYS)))
    if unknown:
        raise BadInput(f"{where}: unknown key(s) {unknown}; valid: {list(METHOD_KEYS)}")
    out: dict[str, Any] = {"method": text(entry["method"], f"{where}.method"),
                           "params": params(entry.get("params"), f"{where}.params")}
    for key, allow_empty in (("transforms", False), ("surrogates", True), ("authorised", False), ("attacks", True)):
        if key in entry:
            out[key] = names(entry[key], f"{where}.{key}", allow_empty)
    for key in SETTING_LISTS:
        if key in entry:
            values = entry[key] if isinstance(entry[key], list) and entry[key] else [entry[key]]
            out[key] = [KEYS[key](v, f"{where}.{key}[{i}]") for i, v in enumerate(values)]
    return out


#: Every key of a sweep spec and the check of its value.
KEYS: dict[str, Callable[[Any, str], Any]] = {
    "name": folder_name, "dataset": text, "goal": text, "profile": text, "device": text, "out": text,
    "table_metric": text, "targets": names, "transforms": names,
    "surrogates": lambda v, where: names(v, where, allow_empty=True), "seeds": integers, "methods": methods,
    "batch_size": lambda v, where: integer(v, where, low=1), "far": number, "esr_far": number, "quality": flag,
    "protocol": text, "mask_l2": lambda v, where: "none" if v == "none" else number(v, where),
    "side": text, "claims": text, "authorised": names, "attacks": lambda v, where: names(v, where, allow_empty=True), "inference_photos": lambda v, where: integer(v, where, low=1),
}
