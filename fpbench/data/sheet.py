"""Contact sheets: the aligned faces of a dataset in a grid with their ids, so a person can look."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from ..images import to_uint8
from .dataset import FaceDataset

TILE = 128
LABEL = 14


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
    out = Path(out)
    sheet.save(out)
    return out
