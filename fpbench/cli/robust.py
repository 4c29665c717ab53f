"""`fpbench zoo robustify|robustness`: robust fine-tuning of zoo models and the robustness report."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import BadInput
from .options import DefaultsHelp, add_threads_option, non_negative, number, positive_int


def _eps(text: str) -> float:
    value = number(text)
    if not 0 < value <= 32:
        raise argparse.ArgumentTypeError(f"eps is in 1/255 units and must lie in (0, 32], got {text}")
    return value


def register_actions(actions: argparse._SubParsersAction) -> None:
    """Add ``robustify`` and ``robustness`` to the ``fpbench zoo`` actions."""
    r = actions.add_parser("robustify", formatter_class=DefaultsHelp,
                           help="adversarially fine-tune a zoo model into the tag NAME.at-epsE (NAME.trades-epsE)",
                           description="Identity-agnostic feature-space adversarial fine-tuning (default) or TRADES "
                                       "with an ArcFace head on an identity-labelled --dataset. The result is a zoo "
                                       "tag with its own weights sha256, card and calibrated thresholds, usable as "
                                       "--target and --surrogate. Ctrl-C saves; a re-run resumes.")
    r.add_argument("name", help="an untagged zoo model (see `fpbench zoo list`)")
    r.add_argument("--recipe", choices=("feature", "trades"), default="feature",
                   help="feature: no labels, anchored to the frozen natural model; trades: ArcFace head, needs --dataset")
    r.add_argument("--eps", type=_eps, default=4.0, help="training budget in 1/255 (the tag says it: at-eps4)")
    r.add_argument("--steps", type=positive_int, default=60, help="optimisation steps")
    r.add_argument("--batch-size", type=positive_int, default=16)
    r.add_argument("--pgd-steps", type=positive_int, default=7, help="inner PGD steps (step size eps/4, random start)")
    r.add_argument("--lr", type=number, default=1e-4, help="Adam learning rate")
    r.add_argument("--lambda", dest="anchor", type=non_negative, default=1.0,
                   help="weight of the clean anchor 1 - cos(f(x), f0(x))")
    r.add_argument("--targeted", type=non_negative, default=0.0,
                   help="weight of an inner pull toward another face of the batch (0: off)")
    r.add_argument("--beta", type=non_negative, default=6.0, help="TRADES KL weight")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--data", type=Path, help="a folder of aligned face crops (default: every face fpbench builds "
                                               "offline from the mini photos, the mini test people held out)")
    src.add_argument("--dataset", help="a prepared identity-labelled dataset (lfw, celeba, folder, ...) for --recipe trades")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    r.add_argument("--calibrate-on", default="mini", help="dataset the tag's thresholds are calibrated on ('none': "
                                                          "each run calibrates on its own data)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--replace", action="store_true", help="overwrite other weights already stored under the tag")
    add_threads_option(r)
    r.set_defaults(handler=handle_robustify)

    p = actions.add_parser("robustness", formatter_class=DefaultsHelp,
                           help="clean TAR, PGD accuracy at eps 2/4/8, minimal flipping eps and transfer ASR of a "
                                "natural model and its robust tags, as a table and a plot")
    p.add_argument("names", nargs="+", metavar="NAME",
                   help="a natural model (its robust tags with weights are added) or several models")
    p.add_argument("--dataset", default="mini-1n-synthetic", help="evaluation data (people of the default robust "
                                                                 "training data are left out)")
    p.add_argument("--pairs", type=positive_int, default=16, help="genuine and impostor pairs attacked, each")
    p.add_argument("--far", type=number, default=0.01, help="FAR of each model's own threshold")
    p.add_argument("--no-transfer", action="store_true", help="skip the transfer attack from the default surrogates")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs"), help="the report goes to OUT/robustness-NAME/")
    add_threads_option(p)
    p.set_defaults(handler=handle_robustness)


def handle_robustify(args: argparse.Namespace) -> int:
    from ..robust.data import folder_faces
    from ..robust.learner import Recipe
    from ..robust.train import labelled_faces, robustify
    from ..spec import check_device

    device = str(check_device(args.device))
    recipe = Recipe(kind=args.recipe, eps=args.eps / 255, pgd_steps=args.pgd_steps, targeted=args.targeted,
                    anchor=args.anchor, lr=args.lr, steps=args.steps, batch_size=args.batch_size, beta=args.beta)
    data = labels = None
    if args.dataset:
        from ..data import load_dataset

        data, labels = labelled_faces(load_dataset(args.dataset))
    elif args.recipe == "trades":
        raise BadInput("--recipe trades needs identity labels: pass --dataset NAME (lfw, celeba, folder, ...)")
    elif args.data:
        data = folder_faces(args.data)
    calibration = None if args.calibrate_on == "none" else args.calibrate_on
    result = robustify(args.name, recipe, data, labels, args.seed, device, not args.quiet, calibration, args.replace)
    card = result.entry.card
    console = Console(soft_wrap=True)
    console.print(f"added {result.entry.name}: weights sha256 {card.weights_sha256[:16]}...; {result.thresholds}",
                  highlight=False)
    check = result.card.get("check") or {}
    if check:
        console.print("check on training crops (mean cos to the natural model's clean embedding): "
                      + ", ".join(f"{k} {v}" for k, v in check.items()), highlight=False)
    console.print(f"use it as --target {result.entry.name} or --surrogate {result.entry.name}; "
                  f"compare: fpbench zoo robustness {args.name}", highlight=False)
    return 0


def models_to_compare(names: list[str]) -> list[str]:
    """The names given; one untagged name also brings its robust tags whose weights are in the cache."""
    from ..zoo import ZOO
    from ..zoo.names import resolve
    from ..zoo.user import user_model

    resolved = [resolve(n).zoo_name for n in names]
    if len(resolved) == 1 and "." not in resolved[0]:
        tags = sorted(n for n in ZOO.names() if n.startswith(f"{resolved[0]}.") and user_model(n) is not None
                      and n.split(".", 1)[1].startswith(("at-", "trades-")))
        if not tags:
            raise BadInput(f"{resolved[0]} has no robust tag yet: run `fpbench zoo robustify {resolved[0]}` first, "
                           "or name the models to compare")
        resolved += tags
    return resolved


def handle_robustness(args: argparse.Namespace) -> int:
    from ..robust.plot import header, markdown, plot, table_rows
    from ..robust.report import ReportSettings, robustness_report

    if not 0 < args.far < 1:
        raise BadInput(f"--far must lie in (0, 1), got {args.far}")
    names = models_to_compare(args.names)
    settings = ReportSettings(dataset=args.dataset, far=args.far, pairs=args.pairs, seed=args.seed)
    report = robustness_report(names, settings, transfer=not args.no_transfer)
    dest = args.out / f"robustness-{names[0]}"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (dest / "table.md").write_text(markdown(report))
    png = plot(report, dest / "accuracy_vs_eps.png")
    pairs = report["pairs"]
    table = Table(title=f"robustness on {args.dataset}: {report['n_faces']} unseen faces of {report['n_people']} "
                        f"people; attacks on {pairs['genuine']} genuine + {pairs['impostor']} impostor pairs",
                  header_style="bold")
    for col in header(report):
        table.add_column(col, justify="left" if col == "model" else "right")
    for row in table_rows(report):
        table.add_row(*map(escape, row))
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(f"accuracy: share of correct verification decisions at each model's own threshold; transfer: "
                  f"fpbench pgd eps {settings.transfer_eps * 255:g}/255 on {', '.join(settings.surrogates)}. "
                  f"Written: {dest / 'table.md'}, {png}", highlight=False)
    return 0
