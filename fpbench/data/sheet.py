"""Contact sheets: the aligned faces of a dataset in a grid with their ids, so a person can look."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from ..cache import atomic_path
from ..images import to_uint8
from .dataset import FaceDataset

TILE = 128
LABEL = 14


def _save(sheet: Image.Image, out: Path) -> Path:
    """Write ``sheet`` as PNG whatever ``out``'s suffix (``--out sheet`` is fine), atomically."""
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out


def contact_sheet(dataset: FaceDataset, out: str | Path, columns: int = 8, size: int = 112) -> Path:
    """Write a PNG grid of every face with its id, identity and role; returns the path."""
    records = sorted(dataset.records, key=lambda r: (r.role, r.id))
    rows = (len(records) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * TILE, rows * (TILE + 2 * LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (record, face) in enumerate(zip(records, to_uint8(dataset.images(records, size)))):
        x, y = (i % columns) * TILE, (i // columns) * (TILE + 2 * LABEL)
        sheet.paste(Image.fromarray(face).resize((TILE, TILE)), (x, y))
        draw.text((x + 2, y + TILE), record.id[:20], fill="black")
        draw.text((x + 2, y + TILE + LABEL - 2), f"{record.role}/{record.split}", fill="gray")
    return _save(sheet, Path(out))


def pair_sheet(pairs: list[tuple[str, list[tuple[str, Path]], list[str]]], out: str | Path) -> Path:
    """Write a PNG with one row per pair: its images side by side, each titled (``clean``, ``protected``,
    ...), and the pair's notes (similarities, success) under the row; returns the path.

    ``pairs``: (pair id, [(image title, image file)], [note lines])."""
    columns = max(len(images) for _, images, _ in pairs)
    lines = max(len(notes) for _, _, notes in pairs) + 1
    row_h = LABEL + TILE + lines * LABEL
    sheet = Image.new("RGB", (columns * TILE, len(pairs) * row_h), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (pair, images, notes) in enumerate(pairs):
        y = r * row_h
        for c, (title, path) in enumerate(images):
            with Image.open(path) as face:
                sheet.paste(face.convert("RGB").resize((TILE, TILE)), (c * TILE, y + LABEL))
            draw.text((c * TILE + 2, y), title, fill="gray")
        for i, line in enumerate([pair, *notes]):
            draw.text((2, y + LABEL + TILE + i * LABEL), line[: columns * TILE // 6], fill="black")
    return _save(sheet, Path(out))
