"""`fpbench train`: train a learned protection method ahead of a run (resumes an interrupted training)."""
from __future__ import annotations

import argparse

from rich.console import Console

from ..errors import BadInput
from .options import comma_list, number

TRAINABLE = ("erasablemask",)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a learned method (erasablemask) on a dataset's training split",
                       description="Train METHOD into the cache (FPBENCH_CACHE/methods/METHOD/<key>/). An "
                                   "interrupted training resumes from its last checkpoint when run again.")
    p.add_argument("method", choices=TRAINABLE)
    p.add_argument("--dataset", default="mini", help="dataset whose split 'train' is used (default: mini)")
    p.add_argument("--surrogate", type=comma_list, default=None,
                   help="white-box surrogate models a,b,c (default: the method's embedded-model trio)")
    p.add_argument("--target", default=None,
                   help="id of the impersonation target face (default: the dataset's first 'target' record)")
    p.add_argument("--profile", choices=("mini", "paper"), default="mini",
                   help="mini: minutes on a CPU; paper: the paper's settings (GPU)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps-scale", type=number, default=1.0, help="multiply every stage's length by F")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..data import load_dataset
    from ..methods.erasablemask import ErasableMask
    from ..spec import check_device
    from ..zoo import fetch, load

    device = check_device(args.device)
    dataset = load_dataset(args.dataset)
    targets = sorted(dataset.select(role="target"), key=lambda r: r.id)
    if args.target is not None:
        targets = [r for r in dataset.records if r.id == args.target]
    if not targets:
        wanted = f"record {args.target!r}" if args.target else "a record with role 'target'"
        raise BadInput(f"dataset {dataset.name!r} has no {wanted}; pass --target ID")
    target = targets[0]
    size = max(target.crops)
    names = args.surrogate or list(ErasableMask.default_surrogates)
    surrogates = []
    for name in names:
        fetch(name)
        surrogates.append(load(name, device))
    method = ErasableMask(profile=args.profile, seed=args.seed, steps_scale=args.steps_scale, progress=not args.quiet)
    method.fit(dataset, surrogates, device, target=dataset.images([target], size), target_id=target.id)
    ckpt = method.card()["checkpoints"][target.id]
    console = Console()
    console.print(f"erasablemask trained: target {target.id}, surrogates {', '.join(names)}, profile {args.profile}")
    console.print(f"checkpoint {ckpt['directory']} (model sha256 {ckpt['sha256'][:16]}...)")
    return 0
