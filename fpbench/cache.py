"""Where fpbench keeps what it fetches and computes, and how it writes there safely.

Layout under ``cache_dir()`` (``$FPBENCH_CACHE``, default ``~/.cache/fpbench``)::

    packages/<registry>/<name>-<version>/   verified package archives and their extracted members
    weights/                                 converted and user-added state dicts, quality-metric weights
    manifests/                               manifests written for the user's datasets (fpbench data manifest)
    data/<dataset>/                          prepared datasets (aligned crops + prepared.json)
    embeddings/<target key>/                 one .npy per image content hash
    protected/<method key>/, restored/...    one .png per protected / restored image
    methods/<method>/                        trained method checkpoints (e.g. ErasableMask)
    thresholds/                              calibrated thresholds with provenance

Every write goes to a temporary file in the same directory and is renamed into place, so an interrupted
process never leaves a half-written entry behind.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


_UMASK = os.umask(0)
os.umask(_UMASK)


def cache_dir() -> Path:
    """The cache root (``$FPBENCH_CACHE`` or ``~/.cache/fpbench``); created on first use."""
    root = Path(os.environ.get("FPBENCH_CACHE") or Path.home() / ".cache" / "fpbench").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def subdir(*parts: str) -> Path:
    """A directory inside the cache, created on first use."""
    d = cache_dir().joinpath(*parts)
    d.mkdir(parents=True, exist_ok=True)
    return d


@contextlib.contextmanager
def atomic_path(dest: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` only if the block succeeds."""
    dest = Path(dest)
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
