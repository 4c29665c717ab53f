"""`fpbench zoo list|fetch|verify|card|add|robustify|robustness`: the face recognition models and their weights."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import BadInput, FpbenchError
from .robust import register_actions


def register(sub: argparse._SubParsersAction) -> None:
    from ..zoo.paper import ARCHS

    p = sub.add_parser("zoo", help="face recognition models: list, fetch, verify, card, add your own weights")
    actions = p.add_subparsers(dest="zoo_action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every model and tag (NAME.TAG) with its architecture, input, weights source and "
                                    "status").set_defaults(handler=handle_list)
    for action, handler, what, everything in (
        ("fetch", handle_fetch, "fetch and convert embedded models' weights (idempotent)", "every embedded model"),
        ("verify", handle_verify, "re-hash cached weights and compare golden embeddings", "every model with cached weights"),
    ):
        a = actions.add_parser(action, help=what)
        a.add_argument("names", nargs="*", metavar="NAME")
        a.add_argument("--all", action="store_true", help=everything)
        a.set_defaults(handler=handler)
    c = actions.add_parser("card", help="a model's card: source, sha256, preprocessing, thresholds")
    c.add_argument("name")
    c.add_argument("--json", action="store_true", help="print the card as JSON")
    c.set_defaults(handler=handle_card)
    a = actions.add_parser("add", help="add your checkpoint of a paper model (arcface, cosface, ir152, irse50, facenet, "
                                       "mobileface), as a tag NAME.TAG of any zoo model, or of any supported architecture")
    a.add_argument("name", help="a paper model, NAME.TAG (other weights of zoo model NAME) or a new name with --arch")
    a.add_argument("--weights", required=True, type=Path, help="a PyTorch state dict (.pt/.pth)")
    a.add_argument("--arch", choices=sorted(ARCHS), help="architecture (required unless NAME is a paper model or a tag)")
    a.add_argument("--channel", choices=("rgb", "bgr"), help="colour order the checkpoint was trained on, if not the "
                                                             "architecture's (RobFR IR-50: adversarially trained rgb, natural bgr)")
    a.set_defaults(handler=handle_add)
    register_actions(actions)


def _embedded() -> list[str]:
    from ..zoo.names import embedded_models

    return embedded_models()


def handle_list(args: argparse.Namespace) -> int:
    from ..zoo import ZOO
    from ..zoo.names import FALLBACKS
    from ..zoo.user import user_model
    from ..zoo.verify import status

    table = Table(title="fpbench model zoo (NAME.TAG: other weights of model NAME)", header_style="bold")
    for col in ("name", "tag", "architecture", "dim", "input", "weights", "status"):
        table.add_column(col, overflow="fold")
    colour = {"verified": "green", "fetched": "yellow", "missing": "red"}
    for e in sorted(ZOO.entries(), key=lambda e: (e.obj.base, e.obj.tag)):
        card, pkg = e.obj.card, e.obj.package_file
        source = f"{pkg.package.registry} {pkg.package.spec}" if pkg is not None else (
            card.source if user_model(e.name) else "bring your own: fpbench zoo add" + (
                f"; until then `{e.name}` runs {e.name}[{FALLBACKS[e.name]}]" if e.name in FALLBACKS else ""))
        st = status(e.name)
        table.add_row(e.name, e.obj.tag or "default", card.architecture.split(" (")[0], str(card.embedding_dim),
                      f"{card.input.size} {card.input.channels}", escape(source), f"[{colour[st]}]{st}[/]")
    Console().print(table)
    return 0


def _targets(args: argparse.Namespace, candidates: list[str]) -> list[str]:
    if args.all:
        return candidates
    if not args.names:
        raise BadInput(f"name the models to {args.zoo_action} or pass --all")
    return args.names


def handle_fetch(args: argparse.Namespace) -> int:
    from ..zoo import ZOO, fetch

    names = _targets(args, _embedded())
    for name in names:
        if ZOO.get(name).package_file is None:
            raise BadInput(f"{name!r} has no package source; add its weights with `fpbench zoo add {name} --weights FILE`")
    with _progress() as progress:
        task = progress.add_task("fetch", total=len(names))
        for name in names:
            progress.update(task, description=f"fetch {name}")
            fetch(name)
            progress.advance(task)
    Console().print(f"cached: {', '.join(names)}")
    return 0


def handle_verify(args: argparse.Namespace) -> int:
    from ..zoo import ZOO
    from ..zoo.catalog import is_fetched
    from ..zoo.verify import GOLDEN_MIN_COSINE, verify

    names = _targets(args, [n for n in ZOO.names() if is_fetched(n)])
    table = Table(title="weights verification", header_style="bold")
    for col in ("name", "sha256", "golden cosine (min)", "result"):
        table.add_column(col)
    failed = 0
    colour = {"ok": "green", "FAILED": "red", "unchecked": "yellow"}
    for name in names:
        v = verify(name)
        pin = {None: " (no pinned sha256)", True: " = pinned", False: f" != pinned {v.pinned_sha256[:16]}"}[v.sha_ok]
        golden = v.golden_note or ("no golden file" if v.golden_min_cosine is None else f"{v.golden_min_cosine:.6f} (> {GOLDEN_MIN_COSINE})")
        table.add_row(name, v.weights_sha256[:16] + pin, golden, f"[{colour[v.result]}]{v.result}[/]")
        failed += v.result == "FAILED"
    Console().print(table)
    if failed:
        raise FpbenchError(f"{failed} of {len(names)} models failed verification; delete their cached weights and fetch/add again")
    return 0


def handle_card(args: argparse.Namespace) -> int:
    from ..zoo import ZOO

    card = ZOO.get(args.name).card.to_dict()
    if args.json:
        print(json.dumps(card, indent=2, sort_keys=True))
        return 0
    lines = []
    for key, value in card.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        lines.append(f"[bold]{key}[/]: {escape(str(value)) if value != '' else '-'}")
    Console().print(Panel("\n".join(lines), title=f"model card: {args.name}", expand=False))
    note = fallback_note(args.name)
    if note:
        Console(soft_wrap=True).print(escape(note), highlight=False)
    return 0


def fallback_note(name: str) -> str:
    """What a paper name runs without the user's weights (``arcface`` -> ``arcface[mobilefacenet]``), or ""."""
    from ..zoo.names import FALLBACKS
    from ..zoo.user import user_model

    fallback = FALLBACKS.get(name)
    if fallback is None or user_model(name) is not None:
        return ""
    return (f"without your weights, `{name}` runs as {name}[{fallback}] (the embedded {fallback}, trained with the "
            f"same loss); add IResNet weights with `fpbench zoo add {name} --weights FILE`")


def handle_add(args: argparse.Namespace) -> int:
    from ..zoo.user import add_weights
    from ..zoo.verify import verify

    entry = add_weights(args.name, args.weights, args.arch, args.channel)
    v = verify(entry.name)
    card = entry.card
    console = Console()
    console.print(f"added {entry.name}: {card.architecture}, {card.embedding_dim}-d, input {card.input.size} "
                  f"{card.input.channels}, "
                  f"weights sha256 {card.weights_sha256[:16]}..., {'verified' if v.ok else 'NOT verified'}")
    if card.notes:
        console.print(card.notes, highlight=False)
    return 0


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True))
