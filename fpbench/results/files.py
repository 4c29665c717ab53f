"""Where a score or quality row's images are: file paths relative to the cache (absolute when outside it),
so a pair can be found on disk without matching pixels (``fpbench show`` reads them back)."""
from __future__ import annotations

from pathlib import Path

from ..cache import cache_root

#: the file columns of ``scores.parquet`` (verify protocol) and what each names
SCORE_FILES = {"clean_file": "the clean source face", "protected_file": "the protected face (before the channel)",
               "reference_file": "the face it was compared with", "restored_file": "the restored face (reversible)"}
#: the file columns of ``quality.parquet``
QUALITY_FILES = {"file": "the image measured", "reference_file": "the image it was measured against"}


def cache_relative(path: Path | str | None) -> str:
    """``path`` relative to the cache root, or absolute when it lies outside; "" for no file."""
    if not path:
        return ""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(cache_root().resolve()))
    except ValueError:
        return str(path)


def resolve(name: str, cache: Path | None = None) -> Path | None:
    """The file a row names (``cache_relative``'s inverse), or None for an empty name."""
    if not name:
        return None
    path = Path(name)
    return path if path.is_absolute() else (cache or cache_root()) / path


def record_file(record, size: int) -> str:
    """The aligned crop of a dataset record at ``size`` (the image the run read)."""
    return cache_relative(record.crops.get(size)) if getattr(record, "crops", None) else ""
