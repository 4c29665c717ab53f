"""`fpbench show RUN_DIR`: a run's faces side by side (clean, protected, edited, restored, reference) with
their similarities and success marks, and ``--export DIR`` of its protected images named by pair."""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import pandas as pd
from rich.console import Console

from ..data.sheet import pair_sheet
from ..errors import BadInput
from ..results import RunResult
from ..results.files import resolve
from .options import DefaultsHelp, positive_int

MAIN_KINDS = ("impersonation", "dodging")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="a run's faces side by side with their scores; export its protected images",
                       formatter_class=DefaultsHelp)
    p.add_argument("run", type=Path, help="a run directory (with card.json and scores.parquet)")
    p.add_argument("--pairs", type=positive_int, default=8, help="how many pairs the sheet shows (the first ones)")
    p.add_argument("--transform", default="identity", help="the transform whose scores are shown")
    p.add_argument("--out", type=Path, default=None, help="the sheet's PNG (default: RUN/sheet.png)")
    p.add_argument("--export", type=Path, metavar="DIR",
                   help="also copy every protected image to DIR as PAIR.png (e.g. alice_1_to_bob_2.png)")
    p.set_defaults(handler=handle)


def file_name(pair: str) -> str:
    """A file name for a pair id (``a->b`` -> ``a_to_b``), safe on every file system."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", pair.replace("->", "_to_")).strip("._") or "pair"


def _file(name: str, run: Path) -> Path:
    path = resolve(name)
    if path is None or not path.is_file():
        raise BadInput(f"{run}: image {name or '(none)'} is not in the cache any more; re-run the run's spec to "
                       "recompute it (or set FPBENCH_CACHE to the cache the run used)")
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
        out.append((pair, [(title, _file(name, result.path)) for title, name in images], notes))
    return out


def export(result: RunResult, dest: Path) -> int:
    """Copy the run's protected images to ``dest`` as ``<pair>.png``; returns how many."""
    rows = main_rows(result, str(result.scores["transform"].iloc[0])).drop_duplicates("pair")
    dest.mkdir(parents=True, exist_ok=True)
    for pair, name in zip(rows["pair"], rows["protected_file"]):
        shutil.copyfile(_file(name, result.path), dest / f"{file_name(pair)}.png")
    return len(rows)


def handle(args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)
    result = RunResult.load(args.run)
    out = pair_sheet(sheet_rows(result, args.transform, args.pairs), args.out or args.run / "sheet.png")
    console.print(f"sheet: {out}", highlight=False)
    if args.export:
        console.print(f"exported {export(result, args.export)} protected images to {args.export}", highlight=False)
    return 0
