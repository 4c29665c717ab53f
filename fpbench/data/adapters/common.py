"""What the dataset adapters share: annotation files read with line numbers, image checks, seeded choices."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from PIL import Image, UnidentifiedImageError

from ...errors import BadInput
from ..manifest import ID_PATTERN
from ..prepare import inside_root

#: progress(done, total) while image files are hashed and checked
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Options:
    """Choices a user can make when writing a manifest; the header records them."""

    seed: int = 0  # for every seeded choice of a protocol (sources, targets, identities, distractors)
    max_train: int | None = None  # cap on the faces with role "train" (a seeded subset), None: all


@dataclass(frozen=True)
class Skipped:
    source: str  # path relative to the dataset root
    reason: str


@dataclass
class Draft:
    """A manifest being built: header fields, face rows, and the files left out (reported once, together)."""

    header: dict[str, Any]
    rows: list[dict[str, Any]]
    skipped: list[Skipped] = field(default_factory=list)


ANNOTATION_DIRS = ("Anno", "Eval")  # where the official CelebA archives keep their annotation files


def optional_file(root: Path, name: str) -> Path | None:
    """``root/name`` or ``root/<Anno|Eval>/name`` if it exists."""
    return next((d / name for d in (root, *(root / s for s in ANNOTATION_DIRS)) if (d / name).is_file()), None)


def find_file(root: Path, name: str, layout: str) -> Path:
    path = optional_file(root, name)
    if path is None:
        raise BadInput(f"{name} not found in {root} (nor in {'/, '.join(ANNOTATION_DIRS)}/); the {layout} layout needs it")
    return path


def find_dir(root: Path, name: str, layout: str) -> Path:
    if not (root / name).is_dir():
        raise BadInput(f"folder {root / name} not found; the {layout} layout keeps its images there")
    return root / name


def fields(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, whitespace-separated fields) of every non-blank line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield n, line.split()


def table(path: Path, columns: int, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """The lines after ``skip`` header lines, each with exactly ``columns`` fields (else file:line error)."""
    for n, parts in fields(path):
        if n <= skip:
            continue
        if len(parts) != columns:
            raise BadInput(f"{path}:{n}: expected {columns} fields, got {len(parts)}")
        yield n, parts


def integer(path: Path, n: int, text: str, allowed: Iterable[int] | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadInput(f"{path}:{n}: expected an integer, got {text!r}") from None
    if allowed is not None and value not in set(allowed):
        raise BadInput(f"{path}:{n}: value {value} is not one of {', '.join(map(str, allowed))}")
    return value


def counted_table(path: Path, names: list[str] | None = None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """CelebA-style annotation file: line 1 the row count, line 2 the column names, then one row per image
    (its file name and one value per column). ``names``, if given, are the columns the file must have.

    Returns the column names and the rows; the count is checked once the rows are consumed.
    """
    lines = fields(path)
    first, second = next(lines, None), next(lines, None)
    if first is None or second is None or first[0] != 1 or second[0] != 2:
        raise BadInput(f"{path}:1: expected the number of rows on line 1 and the column names on line 2")
    count = integer(path, 1, first[1][0])
    columns = second[1]
    if names is not None and columns != names:
        raise BadInput(f"{path}:2: expected the columns {' '.join(names)}")

    def rows() -> Iterator[tuple[int, list[str]]]:
        seen = 0
        for n, parts in lines:
            if len(parts) != len(columns) + 1:
                raise BadInput(f"{path}:{n}: expected a file name and {len(columns)} values, got {len(parts)} fields")
            seen += 1
            yield n, parts
        if seen != count:
            raise BadInput(f"{path}:1: declares {count} rows but the file has {seen} (truncated or edited?)")

    return columns, rows()


def seeded_order(keys: Iterable[str], seed: int, purpose: str) -> list[str]:
    """``keys`` in a seeded order that does not depend on their input order or on any library's RNG."""
    return sorted(keys, key=lambda k: hashlib.sha256(f"{seed}:{purpose}:{k}".encode()).hexdigest())


def cap(keys: list[str], limit: int | None, seed: int, purpose: str) -> list[str]:
    """A seeded subset of at most ``limit`` keys (all when ``limit`` is None), in sorted order."""
    return sorted(keys if limit is None else seeded_order(keys, seed, purpose)[:limit])


def image_sha256(path: Path) -> str:
    """sha256 of an image file after checking that it opens as a picture (``ValueError`` says why not,
    naming the file; an image over PIL's decompression-bomb limit is refused)."""
    data = path.read_bytes()
    buffer = io.BytesIO(data)
    try:
        with Image.open(buffer) as im:
            im.verify()
    except Image.DecompressionBombError as e:
        raise ValueError(f"image too large to decode safely ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"not a readable image ({str(e).replace(repr(buffer), path.name)})") from None
    return hashlib.sha256(data).hexdigest()


def finish(root: Path, rows: list[dict[str, Any]], skipped: list[Skipped], progress: Progress | None = None) -> list[dict[str, Any]]:
    """Hash and check every row's image; rows whose file is missing or unreadable move to ``skipped``.

    Rows come back sorted by id with the fields in the manifest's order (id, source, sha256, ...).
    """
    done = []
    for i, row in enumerate(sorted(rows, key=lambda r: r["id"]), start=1):
        try:
            if not ID_PATTERN.match(row["id"]):
                raise ValueError(f"its name gives the id {row['id']!r}, which cannot name a crop file")
            sha = image_sha256(inside_root(root, row["source"]))
        except FileNotFoundError:
            skipped.append(Skipped(row["source"], "missing file"))
        except ValueError as e:
            skipped.append(Skipped(row["source"], str(e)))
        else:
            done.append({"id": row["id"], "source": row["source"], "sha256": sha,
                         **{k: v for k, v in row.items() if k not in ("id", "source")}})
        if progress:
            progress(i, len(rows))
    return done


def files_in(folder: Path, pattern: str) -> dict[str, Path]:
    """Files under ``folder`` matching ``pattern`` (glob), keyed by their path relative to ``folder``."""
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.glob(pattern)) if p.is_file()}
