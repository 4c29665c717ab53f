"""The fuzz corpus of scripts/fuzz_corpus.py: small case definitions and the builders of their files.

A ``Case`` names the command line (placeholders: ``{cache}``, ``{work}``, ``{run}`` the toy run folder,
``{marker}``, ``{esc}`` an absolute path outside the case folder, ``{tok}`` its name), which cache it starts
from (``empty``, ``toy``: a copy of one finished toy run, ``ready``: hard links of a set-up cache), the
``setup`` steps that build its hostile or broken files (``(builder, *args)``, paths relative to the case
folder) and the exit codes that are right. Hostile files only ever create the case's marker file."""
from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

TOY = "--dataset toy-faces --target toy-fr-a --surrogate toy-fr-a --no-quality --quiet"
TEMPLATE_ARGV = ["run", "--method", "fgsm", *TOY.split(), "--out", "runs"]
RUN = f"run --method none {TOY} --out runs"
PGD = f"run --method pgd {TOY} --out out"
REAL = "run --method fgsm --dataset toy-faces --target sface --surrogate sface --no-quality --quiet --out runs"
LANDMARKS = [[60.0, 80.0], [100.0, 78.0], [80.0, 102.0], [64.0, 124.0], [97.0, 123.0]]
HEADER = {"fpbench_manifest": 1, "name": "fz", "version": "1", "attributes": ["Male"]}
INSIGHTFACE = "pypi:insightface==2.1"
INSIGHTFACE_SHA = "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399"
PREPARE = "data prepare {work}/m.jsonl --root {work}/root"


class Ctx:
    """Paths of one case folder and the placeholders of its command line."""

    def __init__(self, folder: Path, root: Path) -> None:
        self.dir, self.root = folder, root
        self.cache, self.work, self.marker = folder / "cache", folder / "work", folder / "MARKER"
        self.token = f"ESCAPED-{folder.name}"

    def fill(self, text: str) -> str:
        runs = sorted((self.work / "runs").glob("*/card.json"))
        values = {"cache": self.cache, "work": self.work, "marker": self.marker, "tok": self.token,
                  "esc": self.root / self.token, "run": runs[0].parent if runs else self.work / "no-run"}
        for key, value in values.items():
            text = text.replace(f"{{{key}}}", str(value))
        return text

    def argv(self, argv: tuple[str, ...]) -> list[str]:
        return [self.fill(a) for a in argv]

    def path(self, rel: str) -> Path:
        """``rel`` under the case folder; a glob pattern names its first match."""
        filled = self.fill(rel)
        if "*" not in filled:
            return self.dir / filled
        found = sorted(p for p in self.dir.glob(filled) if p.is_file())
        if not found:
            raise FileNotFoundError(f"case set-up: nothing matches {rel} under {self.dir}")
        return found[0]


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    argv: tuple[str, ...]
    setup: tuple[tuple[Any, ...], ...] = ()
    expect: tuple[int, ...] = (2,)
    cache: str = "empty"
    env: tuple[tuple[str, str], ...] = ()
    prime: bool = False  # run the command once before the setup (to fill the cache it then corrupts)
    parallel: int = 1  # copies of the command run at once on the same cache
    stdout: str = "pipe"  # or a file to write stdout to (/dev/full: the disk is full; only ever opened)
    file_limit: int | None = None  # RLIMIT_FSIZE in bytes: writes past it fail as on a full disk
    interrupt_after: float = 0.0  # send SIGINT after this many seconds
    absent: tuple[str, ...] = ()  # files that must not exist afterwards
    leaks: tuple[str, ...] = ()  # text of files outside (e.g. /etc/passwd, plain or base64) no output may hold
    timeout: float = 0.0
    fast: bool = False  # in the subset the test suite runs


# ---------------------------------------------------------------------------------------------- builders
class _WritesMarker:
    """Unpickling this creates the marker file (what a hostile checkpoint would do, harmlessly)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _fresh(path: Path) -> Path:
    """Ready to write ``path`` without touching a hard-linked original."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    return path


def pickle_file(ctx: Ctx, rel: str, wrapped: bool = False) -> None:
    import torch

    payload = {"fc.weight": _WritesMarker(ctx.marker)}
    torch.save({"state_dict": payload} if wrapped else payload, _fresh(ctx.path(rel)))


def pickle_npy(ctx: Ctx, rel: str) -> None:
    import numpy as np

    arr = np.empty(1, dtype=object)
    arr[0] = _WritesMarker(ctx.marker)
    with open(_fresh(ctx.path(rel)), "wb") as f:
        np.save(f, arr, allow_pickle=True)


def raw(ctx: Ctx, rel: str, data: bytes | str) -> None:
    _fresh(ctx.path(rel)).write_bytes(data.encode() if isinstance(data, str) else data)


def text(ctx: Ctx, rel: str, data: str) -> None:
    raw(ctx, rel, ctx.fill(data))


def random_bytes(ctx: Ctx, rel: str, n: int) -> None:
    raw(ctx, rel, os.urandom(n))


def json_file(ctx: Ctx, rel: str, obj: Any) -> None:
    raw(ctx, rel, json.dumps(obj))


def deep_json(ctx: Ctx, rel: str, depth: int = 100000) -> None:
    raw(ctx, rel, "[" * depth + "]" * depth)


def photo(ctx: Ctx, rel: str, size: tuple[int, int] = (160, 180)) -> None:
    from PIL import Image

    Image.new("RGB", size, (200, 160, 140)).save(_fresh(ctx.path(rel)))


def bomb(ctx: Ctx, rel: str, side: int = 20000) -> None:
    """A tiny PNG that declares side x side pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    raw(ctx, rel, b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b""))


def symlink(ctx: Ctx, rel: str, target: str) -> None:
    _fresh(ctx.path(rel)).symlink_to(ctx.fill(target))


def fifo(ctx: Ctx, rel: str) -> None:
    os.mkfifo(_fresh(ctx.path(rel)))


def full_device(ctx: Ctx, rel: str) -> None:
    """A character device like /dev/full (every write fails: no space left) inside the case folder."""
    import stat

    os.mknod(_fresh(ctx.path(rel)), 0o666 | stat.S_IFCHR, os.makedev(1, 7))


def mkdir(ctx: Ctx, rel: str) -> None:
    _fresh(ctx.path(rel)).mkdir(parents=True)


def truncate(ctx: Ctx, pattern: str, keep: int) -> None:
    path = ctx.path(pattern)
    data = path.read_bytes()
    _fresh(path).write_bytes(data[:keep])


def forge_checksum(ctx: Ctx, pattern: str) -> None:
    """Write the sha256 of an entry's current bytes as its recorded checksum (a forged cache entry)."""
    import hashlib

    path = ctx.path(pattern)
    _fresh(path.with_name(path.name + ".sha256")).write_text(hashlib.sha256(path.read_bytes()).hexdigest())


def edit_scores(ctx: Ctx, column: str, value: Any, last_only: bool = False) -> None:
    """Set a column of the run's scores.parquet (or of its last row) to ``value`` (a hostile run folder)."""
    import pandas as pd

    path = ctx.path("{run}/scores.parquet")
    scores = pd.read_parquet(path)
    value = ctx.fill(value) if isinstance(value, str) else value
    if last_only:
        scores.loc[scores.index[-1], column] = value
    else:
        scores[column] = value
    scores.to_parquet(_fresh(path))


def edit_json(ctx: Ctx, rel: str, key_path: str, value: Any) -> None:
    """Set ``a.b.c`` of a JSON file to ``value`` (a hostile edit of a run card, an index, ...)."""
    path = ctx.path(rel)
    obj = json.loads(path.read_text())
    *parents, last = key_path.split(".")
    node = obj
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = ctx.fill(value) if isinstance(value, str) else value
    _fresh(path).write_text(json.dumps(obj))


def zero_layer(ctx: Ctx, rel: str) -> None:
    """A valid weights file with its first floating-point tensor zeroed."""
    import torch

    path = ctx.path(rel)
    sd = torch.load(path, map_location="cpu", weights_only=True)
    sd = sd.get("state_dict", sd) if isinstance(sd, dict) else sd
    key = next(k for k, v in sd.items() if torch.is_tensor(v) and v.is_floating_point())
    sd[key] = torch.zeros_like(sd[key])
    torch.save(sd, _fresh(path))


def wrong_npy(ctx: Ctx, pattern: str, forge: bool) -> None:
    """Replace a cached embedding by a valid vector of the same size (``forge``: and its checksum)."""
    import hashlib

    import numpy as np

    for path in _matches(ctx, pattern)[:3]:
        vec = np.load(path, allow_pickle=False)
        with open(_fresh(path), "wb") as f:
            np.save(f, np.ones_like(vec) / np.sqrt(vec.size))
        if forge:
            raw(ctx, str(path.relative_to(ctx.dir)) + ".sha256", hashlib.sha256(path.read_bytes()).hexdigest())


def flip_png(ctx: Ctx, pattern: str) -> None:
    """Replace cached PNGs by valid PNGs of another picture (the same one upside down)."""
    from PIL import Image, ImageOps

    for path in _matches(ctx, pattern):
        img = ImageOps.flip(Image.open(path).convert("RGB"))
        img.save(_fresh(path), format="PNG")


def manifest(ctx: Ctx, header: dict[str, Any] | None = None, rows: list[Any] | None = None,
             photos: tuple[str, ...] = ("img/f0.png",)) -> None:
    for rel in photos:
        photo(ctx, f"work/root/{rel}")
    lines = [header if header is not None else HEADER, *(rows if rows is not None else [face()])]
    raw(ctx, "work/m.jsonl", "".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))


def face(face_id: Any = "f0", source: Any = "img/f0.png", **changes: Any) -> dict[str, Any]:
    return {"id": face_id, "source": source, "identity": "p", "role": "source", "landmarks5": LANDMARKS, **changes}


def user_index(ctx: Ctx, models: Any) -> None:
    json_file(ctx, "cache/weights/user.json", {"models": models})


def _matches(ctx: Ctx, pattern: str) -> list[Path]:
    found = sorted(p for p in ctx.dir.glob(ctx.fill(pattern)) if p.is_file())
    if not found:
        raise FileNotFoundError(f"case set-up: nothing matches {pattern} under {ctx.dir}")
    return found


BUILDERS: dict[str, Callable[..., None]] = {f.__name__: f for f in (
    pickle_file, pickle_npy, raw, text, random_bytes, json_file, deep_json, photo, bomb, symlink, fifo, mkdir,
    full_device,
    truncate, forge_checksum, edit_scores, edit_json, zero_layer, wrong_npy, flip_png, manifest, user_index)}


def build(ctx: Ctx, steps: tuple[tuple[Any, ...], ...]) -> None:
    for name, *args in steps:
        BUILDERS[name](ctx, *args)

