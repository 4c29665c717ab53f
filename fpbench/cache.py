"""Where fpbench keeps what it fetches and computes, and how it writes there safely.

Layout under ``cache_dir()`` (``$FPBENCH_CACHE``, default ``~/.cache/fpbench``)::

    packages/<registry>/<name>-<version>/   verified package archives and their extracted members
    weights/                                 converted and user-added state dicts, quality-metric weights
    manifests/                               manifests written for the user's datasets (fpbench data manifest)
    data/<dataset>/                          prepared datasets (aligned crops + prepared.json)
    embeddings/<target key>/                 one .npy per image content hash (+ its .sha256)
    protected/<method key>/, restored/...    one .png per protected / restored image (+ its .sha256)
    methods/<method>/                        trained method checkpoints (e.g. ErasableMask)
    thresholds/                              calibrated thresholds with provenance

Every write goes to a temporary file in the same directory and is renamed into place, so an interrupted
process never leaves a half-written entry behind. Entries written with ``checked_entry`` carry the sha256 of
their bytes in a ``<name>.sha256`` sidecar; ``read_checked`` verifies it on every read and deletes an entry
that no longer matches (with a one-line ``CacheIntegrityWarning``) so that it is recomputed.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

from .errors import BadInput


_UMASK = os.umask(0)
os.umask(_UMASK)


def cache_root() -> Path:
    """Where the cache lives (``$FPBENCH_CACHE`` or ``~/.cache/fpbench``), without creating it."""
    return Path(os.environ.get("FPBENCH_CACHE") or Path.home() / ".cache" / "fpbench").expanduser()


def cache_dir() -> Path:
    """The cache root (``cache_root()``); created on first use."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    return root


def subdir(*parts: str) -> Path:
    """A directory inside the cache, created on first use."""
    d = cache_dir().joinpath(*parts)
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` only if the block succeeds.

    A ``dest`` that exists as something other than a file or a symlink (a device such as /dev/full, a pipe, a
    socket) is refused: renaming onto it would replace it, and fpbench often runs as root."""
    dest = Path(dest)
    _refuse_special(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; cache entries are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _refuse_special(dest: Path) -> None:
    try:
        mode = dest.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode) or stat.S_ISDIR(mode)):  # a folder: the rename fails itself
        raise BadInput(f"{dest} exists and is not a regular file (a device, pipe or socket); fpbench does not "
                       "replace it: write to another path")


def write_bytes(dest: str | Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_json(dest: str | Path, obj: Any) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def json_sha256(obj: Any) -> str:
    """Hash of a JSON-able object with sorted keys: a stable cache key for cards and parameters."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


class CacheIntegrityWarning(UserWarning):
    """A cache entry no longer matched its recorded checksum and was deleted (it will be recomputed)."""


def checksum_path(entry: str | Path) -> Path:
    """The sidecar holding the sha256 of ``entry``'s bytes."""
    entry = Path(entry)
    return entry.with_name(entry.name + ".sha256")


@contextlib.contextmanager
def checked_entry(dest: str | Path) -> Iterator[Path]:
    """Like ``atomic_path``, and records the sha256 of what was written in ``checksum_path(dest)``.

    The checksum is written before the entry is renamed into place: an interrupted write leaves either no
    entry or one whose checksum does not match, and both are recomputed."""
    with atomic_path(dest) as tmp:
        yield tmp
        write_bytes(checksum_path(dest), f"{file_sha256(tmp)}\n".encode())


def read_checked(entry: str | Path) -> bytes | None:
    """The bytes of an entry written by ``checked_entry``; None when it is absent or has no checksum, and
    None after ``discard`` when its bytes do not match the checksum (replaced or corrupted)."""
    entry = Path(entry)
    try:
        data = entry.read_bytes()
        recorded = checksum_path(entry).read_bytes().decode("ascii", "replace").strip()  # garbage: a mismatch
    except FileNotFoundError:
        return None
    if hashlib.sha256(data).hexdigest() != recorded:
        discard(entry, "does not match the checksum recorded when it was written")
        return None
    return data


def discard(entry: str | Path, reason: str) -> None:
    """Delete a bad cache entry and its checksum, with a one-line ``CacheIntegrityWarning``."""
    entry = Path(entry)
    for path in (entry, checksum_path(entry)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    warnings.warn(f"cache entry {entry} {reason}; deleted, it will be recomputed", CacheIntegrityWarning,
                  stacklevel=3)


_HASHED: dict[tuple[str, int, int, int, int], str] = {}


def cached_file_sha256(path: str | Path) -> str:
    """``file_sha256``, computed once per process for each version of a file (path, inode, size, mtime and
    ctime: a replaced or rewritten file is hashed again)."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    key = (str(resolved), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _HASHED:
        _HASHED[key] = file_sha256(resolved)
    return _HASHED[key]


def verified_file(path: str | Path, sha256: str) -> bool:
    """Whether ``path`` holds exactly the bytes of ``sha256`` (hashed once per process per file version,
    so that it is cheap to call on every load of pinned weights)."""
    return cached_file_sha256(path) == sha256.strip().lower()
