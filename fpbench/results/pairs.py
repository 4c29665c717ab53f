"""A run's pairs as a person looks at them: for each pair its faces (clean, edited, protected, restored,
reference) and each target's similarity and outcome; read by `fpbench show` and `fpbench report`."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import BadInput
from ..images import ImageError, read_image
from . import RunResult
from .files import resolve

MAIN_KINDS = ("impersonation", "dodging")


def image_file(name: str, run: Path) -> Path:
    """The file a score row names; a one-line ``BadInput`` if it left the cache or is not an image.

    It is decoded here because a run folder is data that may come from elsewhere: scores naming a file that
    is not an image (``/etc/passwd``) must not get it copied (``show --export``) or embedded (``report``)."""
    path = resolve(name)
    if path is None or not path.is_file():
        raise BadInput(f"{run}: image {name or '(none)'} is not in the cache any more; re-run the run's spec to "
                       "recompute it (or set FPBENCH_CACHE to the cache the run used)")
    try:
        read_image(path)
    except ImageError as e:
        raise BadInput(f"{run}: its scores name {path}, which is not an image ({e}); the run folder is damaged "
                       "or was not written by fpbench") from None
    return path


def main_rows(result: RunResult, transform: str) -> pd.DataFrame:
    """The run's protection rows under ``transform`` that name their files (one per pair and target)."""
    s = result.scores
    if "protected_file" not in s:
        raise BadInput(f"{result.path}: its scores.parquet names no image files (written by an older fpbench); "
                       "re-run it (cached work is reused)")
    rows = s[s["kind"].isin(MAIN_KINDS) & (s["transform"] == transform)]
    if rows.empty:
        have = ", ".join(dict.fromkeys(s["transform"].astype(str)))
        raise BadInput(f"{result.path}: no protection scores under transform {transform!r}; it has {have}")
    return rows


def sheet_rows(result: RunResult, transform: str, n: int) -> list[tuple[str, list[tuple[str, Path]], list[str]]]:
    """(pair, images, notes) of the first ``n`` pairs: notes give each target's similarity and outcome."""
    rows = main_rows(result, transform)
    q = result.quality
    edited = q[q["image"] == "protected vs edited"].set_index("pair")["reference_file"] \
        if not q.empty and "reference_file" in q else pd.Series(dtype=str)
    s = result.scores
    restored = s[(s["kind"] == "erasion") & (s["transform"] == transform)].drop_duplicates("pair") \
        .set_index("pair")["restored_file"] if "restored_file" in s else pd.Series(dtype=str)
    out = []
    for pair, group in list(rows.groupby("pair", sort=False))[:n]:
        first = group.iloc[0]
        images = [("clean", first["clean_file"])]
        if pair in edited.index:
            images.append(("edited", edited[pair]))
        images.append(("protected", first["protected_file"]))
        if pair in restored.index and restored[pair]:
            images.append(("restored", restored[pair]))
        images.append(("reference", first["reference_file"]))
        notes = [f"{t}: {sim:.3f} vs {tau:.3f} {'success' if ok else 'no'}"
                 for t, sim, tau, ok in zip(group["target"], group["similarity"], group["threshold"], group["success"])]
        out.append((pair, [(title, image_file(name, result.path)) for title, name in images], notes))
    return out
