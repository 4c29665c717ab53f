"""What a training directory holds and how it is written: atomic torch files, the training card, the lock
that keeps two processes from training the same unit, and loss-curve summaries."""
from __future__ import annotations

import io
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from filelock import FileLock, Timeout

from ..cache import json_sha256, subdir, write_bytes, write_json

LOCK_NAME = ".lock"


def units_root(method: str) -> Path:
    """``FPBENCH_CACHE/methods/<method>/``: where a method's training directories live."""
    return subdir("methods", method)


def unit_key(identity: dict[str, Any]) -> str:
    """A training directory's name: 20 hex digits of the hash of everything that shapes the training
    (settings, data manifest hash, surrogate hashes, target id, seed, code version)."""
    return json_sha256(identity)[:20]


def save_torch(obj: Any, dest: Path) -> None:
    """``torch.save`` atomically, with bytes that depend only on ``obj`` (not on the temporary file name)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(dest, buf.getvalue())


def read_card(directory: Path) -> dict[str, Any] | None:
    """``card.json`` of a training directory, None when there is none."""
    path = Path(directory) / "card.json"
    return json.loads(path.read_text()) if path.is_file() else None


def write_card(directory: Path, card: dict[str, Any]) -> None:
    write_json(Path(directory) / "card.json", card)


def is_complete(directory: Path, result: str) -> bool:
    """Whether ``directory`` holds a finished training: its ``result`` file and a card saying complete."""
    return (Path(directory) / result).is_file() and bool((read_card(directory) or {}).get("complete"))


@contextmanager
def directory_lock(directory: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock of a training directory (creating it); when another process holds it, call
    ``on_wait`` once and wait until it is released."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / LOCK_NAME))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def curve_summary(rows: list[dict[str, float]], points: int = 10) -> dict[str, dict[str, Any]]:
    """Per loss: mean of the first and last tenth of the steps and ``points`` chunk means."""
    if not rows:
        return {}
    out = {}
    n = len(rows)
    tenth = max(1, n // 10)
    for key in rows[0]:
        vals = torch.tensor([r[key] for r in rows], dtype=torch.float64)
        chunks = torch.tensor_split(vals, min(points, n))
        out[key] = {
            "first": round(float(vals[:tenth].mean()), 5),
            "last": round(float(vals[-tenth:].mean()), 5),
            "points": [round(float(c.mean()), 5) for c in chunks],
        }
    return out
