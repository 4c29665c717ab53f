"""`fpbench data prepare|show|manifest|align`: datasets from manifests to aligned crops in the cache."""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..errors import BadInput

#: datasets whose manifest `fpbench data manifest` writes from the user's copy (fpbench.data.adapters.ADAPTERS)
USER_DATASETS = ("lfw", "lfw-1n", "celeba", "celebahq", "ffhq", "privacy-commons", "agedb30", "calfw", "cfp-ff",
                 "folder")
REPORT_LINES = 20  # skipped files printed; the full list goes to the report file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="datasets: prepare aligned crops, contact sheets, checks")
    actions = p.add_subparsers(dest="data_action", required=True, metavar="ACTION")
    a = actions.add_parser("prepare", help="fetch/verify source images and write aligned crops into the cache")
    a.add_argument("name", help=f"a dataset (mini, {', '.join(USER_DATASETS)}) or a manifest file path")
    a.add_argument("--root", type=Path, help="dataset root for relative sources (default: the root the manifest records)")
    a.set_defaults(handler=handle_prepare)
    s = actions.add_parser("show", help="draw the aligned faces of a prepared dataset into a contact sheet")
    s.add_argument("name")
    s.add_argument("--out", type=Path, default=Path("sheet.png"))
    s.set_defaults(handler=handle_show)
    m = actions.add_parser("manifest", help="write the manifest of your copy of a public dataset or of a photo folder")
    m.add_argument("name", choices=USER_DATASETS, help="dataset layout under --root (see data_manifests/README.md)")
    m.add_argument("--root", type=Path, required=True, help="your copy of the dataset, in its standard layout")
    m.add_argument("--out", type=Path, help="manifest file (default: the cache, where `fpbench data prepare NAME` finds it)")
    m.add_argument("--seed", type=int, default=0, help="seed of the protocol's choices of faces (default: 0)")
    m.add_argument("--max-train", type=int, metavar="N", help="keep a seeded N of the training faces (default: all)")
    m.set_defaults(handler=handle_manifest)
    g = actions.add_parser("align", help="detect and align every face in a folder of photos, with a manifest")
    g.add_argument("src", type=Path, help="folder of photos (identity: subfolder name, else file name)")
    g.add_argument("--out", type=Path, required=True, help="folder for the crops (<size>/<id>.png) and manifest.jsonl")
    g.set_defaults(handler=handle_align)


def _manifest(name: str):
    from ..data import read_manifest, shipped_manifest

    path = Path(name)
    if path.suffix == ".jsonl" or path.is_file():
        return read_manifest(path)
    if name in USER_DATASETS:
        from ..data.adapters import user_manifest

        return user_manifest(name)
    try:
        return shipped_manifest(name)
    except BadInput:
        raise BadInput(f"no shipped manifest named {name!r} and no such manifest file") from None


def handle_prepare(args: argparse.Namespace) -> int:
    from ..data import prepare
    from ..data.detect import default_detector

    console = Console()
    manifest = _manifest(args.name)
    root = args.root or (Path(manifest.header["root"]) if manifest.header.get("root") else None)
    if root is not None and args.root is None:  # say where the files will be read from: only under this folder
        console.print(f"reading sources under {escape(str(root))} (the manifest's root; --root DIR overrides it)",
                      highlight=False)
    detector = default_detector() if any("landmarks5" not in r for r in manifest.rows) else None
    with Progress(TextColumn("prepare {task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task(manifest.name, total=len(manifest.rows))
        report = prepare(manifest, root=root, detector=detector, progress=lambda n: bar.advance(task, n))
    console.print(f"{manifest.name}: {report.prepared} faces aligned, {report.reused} already prepared, "
                  f"{len(report.problems)} skipped -> {report.dest}")
    for p in report.problems:
        console.print(f"[yellow]skipped[/] {p.id}: {p.reason}", highlight=False)
    return 0 if not report.problems else 1


def handle_show(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..data.sheet import contact_sheet

    out = contact_sheet(load_dataset(args.name), args.out)
    Console().print(f"wrote {out}")
    return 0


def handle_manifest(args: argparse.Namespace) -> int:
    from ..data.adapters import Options, write_dataset_manifest

    console = Console()
    with Progress(TextColumn("check {task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task(args.name, total=None)
        written = write_dataset_manifest(args.name, args.root, args.out, Options(args.seed, args.max_train),
                                         progress=lambda done, total: bar.update(task, completed=done, total=total))
    roles = Counter(r["role"] for r in written.rows)
    console.print(f"{args.name}: {len(written.rows)} faces ({', '.join(f'{n} {role}' for role, n in sorted(roles.items()))}) "
                  f"-> {written.path}", highlight=False)
    _print_skipped(console, written)
    console.print(f"next: fpbench data prepare {args.name if args.out is None else args.out}", highlight=False)
    return 0 if not written.skipped else 1


def handle_align(args: argparse.Namespace) -> int:
    from ..data.adapters import align_to_folder

    console = Console()
    with Progress(TextColumn("align {task.description}"), BarColumn(), MofNCompleteColumn(), transient=True) as bar:
        task = bar.add_task(args.src.name, total=None)
        written = align_to_folder(args.src, args.out, progress=lambda done, total: bar.update(task, completed=done, total=total))
    photos = len({r["source"] for r in written.rows})
    console.print(f"{len(written.rows)} faces from {photos} photos aligned -> {args.out} (manifest {written.path.name})",
                  highlight=False)
    _print_skipped(console, written)
    return 0 if not written.skipped else 1


def _print_skipped(console: Console, written) -> None:
    for s in written.skipped[:REPORT_LINES]:
        console.print(f"[yellow]skipped[/] {escape(s.source)}: {escape(s.reason)}", highlight=False)
    if len(written.skipped) > REPORT_LINES:
        console.print(f"... and {len(written.skipped) - REPORT_LINES} more", highlight=False)
    if written.report:
        console.print(f"{len(written.skipped)} files skipped, listed in {written.report}", highlight=False)
