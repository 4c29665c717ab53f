"""`fpbench show RUN_DIR`: a run's faces side by side (clean, protected, edited, restored, reference) with
their similarities and success marks, and ``--export DIR`` of its protected images named by pair."""
from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from rich.console import Console

from ..data.sheet import pair_sheet
from ..results import RunResult
from ..results.pairs import image_file, main_rows, sheet_rows
from .options import DefaultsHelp, positive_int


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


def export(result: RunResult, dest: Path) -> int:
    """Copy the run's protected images to ``dest`` as ``<pair>.png``; returns how many (nothing is copied
    unless every file the scores name is an image)."""
    rows = main_rows(result, str(result.scores["transform"].iloc[0])).drop_duplicates("pair")
    files = [image_file(name, result.path) for name in rows["protected_file"]]
    dest.mkdir(parents=True, exist_ok=True)
    for pair, path in zip(rows["pair"], files):
        shutil.copyfile(path, dest / f"{file_name(pair)}.png")
    return len(rows)


def handle(args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)
    result = RunResult.load(args.run)
    out = pair_sheet(sheet_rows(result, args.transform, args.pairs), args.out or args.run / "sheet.png")
    console.print(f"sheet: {out}", highlight=False)
    if args.export:
        console.print(f"exported {export(result, args.export)} protected images to {args.export}", highlight=False)
    return 0
