"""`fpbench train METHOD`: train a learning method into the cache ahead of a run (an interrupted training
resumes; a finished one is loaded, not trained again)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from ..errors import BadInput
from ..threads import default_threads, set_threads
from ..training import distributed
from .options import comma_list, key_value, number, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a learning method (e.g. erasablemask) on a dataset's training split",
                       description="Train METHOD on the dataset's split 'train' into the cache "
                                   "(FPBENCH_CACHE/methods/METHOD/...), as `fpbench run` would before protecting. "
                                   "Ctrl-C saves; running the command again resumes, and once finished it trains "
                                   "nothing. Another process training the same model is waited for.")
    p.add_argument("method", metavar="METHOD", help="a method that learns (see `fpbench list methods`)")
    p.add_argument("--dataset", default="mini", help="dataset whose split 'train' is used (default: mini)")
    p.add_argument("--surrogate", type=comma_list, default=None, metavar="A,B,C",
                   help="white-box surrogate models a,b,c (default: the method's own)")
    p.add_argument("--target", type=comma_list, default=None, metavar="ID[,ID...]",
                   help="record id(s) of the impersonation target face(s) to train for (methods trained per "
                        "target; default: every record with role 'target', as a run uses them)")
    p.add_argument("--profile", default="mini", help="the method's scale, e.g. mini (CPU minutes) or paper")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps-scale", type=number, default=None, metavar="F", help="multiply every stage's length by F")
    p.add_argument("--param", type=key_value, action="append", default=[], metavar="NAME=VALUE",
                   help="any other method parameter")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--nproc", type=positive_int, default=1, metavar="N",
                   help="train on N processes of this machine (torchrun --standalone; gloo on CPU, nccl on GPU): "
                        "each takes 1/N of every batch and of the threads, gradients are averaged, rank 0 writes "
                        "the checkpoint (default 1)")
    p.set_defaults(handler=handle)


def make_method(args: argparse.Namespace) -> Any:
    """The method of ``args`` with its parameters, as `fpbench run` builds it."""
    from ..methods import METHODS

    cls = METHODS.get(args.method)
    if "training" not in cls.needs:
        learners = ", ".join(n for n in METHODS.names() if "training" in METHODS.get(n).needs)
        raise BadInput(f"method {args.method!r} learns nothing, so there is nothing to train (methods that train: "
                       f"{learners or 'none'})")
    params = dict(args.param)
    if args.steps_scale is not None:
        params["steps_scale"] = args.steps_scale
    run_values = {"profile": args.profile, "seed": args.seed}
    params = {**{k: run_values[k] for k in cls.run_options if k not in params}, **params}
    try:
        method = cls(**params)
    except TypeError as e:
        raise BadInput(f"method {args.method!r} does not take these parameters {sorted(params)}: {e}") from None
    if hasattr(method, "progress"):
        method.progress = not args.quiet
    return method


def load_surrogates(names: list[str], device: Any) -> list[Any]:
    """The white-box models ``names`` (fetched into the cache when missing)."""
    from ..zoo import fetch, load

    models = []
    for name in names:
        fetch(name)
        models.append(load(name, device))
    return models


def torchrun_command(argv: list[str], nproc: int) -> list[str]:
    """This command again, under torchrun on ``nproc`` processes of this machine (without ``--nproc``, which
    torchrun would take for an abbreviation of its own ``--nproc-per-node``)."""
    rest, skip = [], False
    for arg in argv:
        if not skip and not arg.startswith("--nproc="):
            skip = arg == "--nproc"
            rest += [] if skip else [arg]
        else:
            skip = False
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "fpbench.cli.main", *rest]


def handle(args: argparse.Namespace) -> int:
    from ..spec import check_device

    device = check_device(args.device)
    if args.nproc > 1 and not distributed.launched():
        make_method(args)  # a wrong method or parameter: one line here, not one per process
        return subprocess.run(torchrun_command(args.argv, args.nproc)).returncode
    distributed.start(device)
    try:
        set_threads(max(1, (args.threads or default_threads()) // distributed.world_size()))
        return train(args, device)
    finally:
        distributed.stop()


def train(args: argparse.Namespace, device: Any) -> int:
    from ..data import load_dataset
    from ..methods.base import TargetFace
    from ..training import training_split

    method = make_method(args)
    dataset = load_dataset(args.dataset)
    train = training_split(dataset)
    targets: list[TargetFace | None] = [None]
    if "target_images" in method.needs:
        index = {r.id: r for r in dataset.records}
        wanted = args.target or sorted(r.id for r in dataset.select(role="target"))
        missing = [t for t in wanted if t not in index]
        if missing or not wanted:
            what = f"record {missing[0]!r}" if missing else "record with role 'target'"
            raise BadInput(f"dataset {dataset.name!r} has no {what}; pass --target ID (a record id of the dataset)")
        targets = [TargetFace(t, index[t].identity, dataset.images([index[t]], method.image_size)) for t in wanted]
    names = args.surrogate or list(method.default_surrogates)
    surrogates = load_surrogates(names, device) if "surrogates" in method.needs else []
    console = Console(soft_wrap=True, quiet=not distributed.is_main())  # one line per message, also in a log
    for target in targets:
        method.fit(train, surrogates, device, target=target)
        tid = target.id if target is not None else ""
        what = f" for target {tid}" if target is not None else ""
        state = ", ".join(f"{k} {v[:16]}..." for k, v in method.fitted_state(tid).items())
        console.print(escape(f"{args.method} ({args.profile}) trained{what} on {dataset.name}'s split 'train': {state}"),
                      highlight=False)
    directories = {c["directory"] for c in (method.card().get("checkpoints") or {}).values() if "directory" in c}
    for d in sorted(directories):
        console.print(escape(f"checkpoint: {d}"), highlight=False)
    return 0
