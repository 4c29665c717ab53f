"""One-line messages for failures that are not ``FpbenchError``s: files the OS refuses (read-only, full,
forbidden, not a folder), JSON / YAML / Parquet / non-UTF-8 files that do not parse or nest too deeply (exit 2),
and bugs (``internal error``, exit 3).

A parse error does not know the file it came from, so the file is looked up in the traceback: the innermost
frame holding a path with the format's suffix names it."""
from __future__ import annotations

import io
import json
import os
import socket
import traceback
from pathlib import Path
from types import TracebackType

from ..cache import cache_root

#: Exit code of user-fixable failures (same as ``BadInput``) and of bugs.
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

DEBUG_VARIABLE = "FPBENCH_DEBUG"
#: suffixes of the files whose parsers recurse (a deeply nested file exhausts the stack)
_NESTED = (".json", ".jsonl", ".yaml", ".yml")

_FORMATS = {  # module of the library's exception classes -> (format name, file suffixes)
    "yaml": ("YAML", (".yaml", ".yml")),
    "pyarrow": ("Parquet", (".parquet",)),
}


def debug_enabled() -> bool:
    """``FPBENCH_DEBUG`` set to anything but empty or 0: failures re-raise with their traceback."""
    return os.environ.get(DEBUG_VARIABLE, "").strip() not in ("", "0")


def describe(exc: BaseException, out: Path | None = None) -> tuple[int, str]:
    """(exit code, one-line message) for an exception that escaped a command; ``out`` is its --out."""
    if isinstance(exc, OSError):
        return EXIT_BAD_INPUT, _os_message(exc, out)
    if isinstance(exc, json.JSONDecodeError):
        where = _file_in_traceback(exc.__traceback__, (".json", ".jsonl"))
        return EXIT_BAD_INPUT, (f"{where or 'a JSON file'} is not valid JSON ({exc.msg} at line {exc.lineno} "
                                f"column {exc.colno}); repair or delete it")
    if isinstance(exc, RecursionError):  # e.g. json.loads of "[[[[...]]]]": a corrupt or hostile file
        where = _file_in_traceback(exc.__traceback__, _NESTED)
        if where:
            return EXIT_BAD_INPUT, f"{where} nests too deeply to be read (corrupt or hostile); repair or delete it"
    if isinstance(exc, UnicodeDecodeError):
        where = _file_in_traceback(exc.__traceback__, None)
        return EXIT_BAD_INPUT, (f"{where or 'a file'} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                                "repair or delete it")
    for module, (name, suffixes) in _FORMATS.items():
        if any(cls.__module__.split(".")[0] == module for cls in type(exc).__mro__):
            where = _file_in_traceback(exc.__traceback__, suffixes)
            return EXIT_BAD_INPUT, f"{where or f'a {name} file'} cannot be read as {name}: {_first_line(exc)}"
    return EXIT_INTERNAL, (f"internal error in fpbench: {type(exc).__name__}: {_first_line(exc)} "
                           f"(re-run with {DEBUG_VARIABLE}=1 for the traceback)")


def _os_message(exc: OSError, out: Path | None) -> str:
    reason = exc.strerror or _first_line(exc)
    if isinstance(exc, BrokenPipeError):
        return "the output was closed before fpbench finished writing it (broken pipe)"
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return f"network error: {reason}"
    named = exc.filename if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
    path = named or _file_in_traceback(exc.__traceback__, None)
    if path is None:
        places = f"the cache ({cache_root()}, set by FPBENCH_CACHE)" + (f" or --out {out}" if out else "")
        return f"{reason} while using {places}"
    message = f"{reason}: {os.fsdecode(path)}"
    if isinstance(exc.filename2, (str, bytes, os.PathLike)):
        message += f" -> {os.fsdecode(exc.filename2)}"
    where = _which_place(Path(os.fsdecode(path)), out)
    return f"{message} ({where})" if where else message


def _which_place(path: Path, out: Path | None) -> str:
    """Which setting chose ``path`` and how to change it; '' when neither the cache nor --out did."""
    for root, name in ((cache_root(), "in the cache: set FPBENCH_CACHE to a writable folder with free space"),
                       (out, "under --out: pass another --out")):
        if root is not None and _is_under(path, root):
            return name
    return ""


def _is_under(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.expanduser().resolve())
    except (OSError, RuntimeError):
        return False


def _file_in_traceback(tb: TracebackType | None, suffixes: tuple[str, ...] | None) -> str | None:
    """The file path held by the innermost frame that holds one: a path or string ending in one of
    ``suffixes``, or, when ``suffixes`` is None, any path object or open file."""
    frames = [frame for frame, _ in traceback.walk_tb(tb)]
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            path = _as_path(value, strings=suffixes is not None)
            if path is not None and (suffixes is None or path.suffix.lower() in suffixes):
                return str(path)
    return None


def _as_path(value: object, strings: bool) -> Path | None:
    if isinstance(value, io.IOBase):
        value = getattr(value, "name", None)
    elif isinstance(value, str) and not strings:
        return None
    if isinstance(value, os.PathLike) or (isinstance(value, str) and 0 < len(value) < 4096 and "\n" not in value):
        return Path(os.fsdecode(value))
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
