"""`fpbench run`: one method against one or more targets through the processing channel."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..runner import Runner
from ..spec import GOALS, PROFILES, RunSpec
from ..transforms import DEFAULT_CHANNEL
from .options import comma_list, key_value, non_negative, number, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="protect a dataset with a method and measure it against targets",
                       description="Protect the dataset's test faces with METHOD and report ASR/PSR (and ESR for "
                                   "reversible methods) per target and transform, with 95%% bootstrap CIs.")
    p.add_argument("--method", required=True, help="protection method (see `fpbench list methods`)")
    p.add_argument("--target", dest="targets", action="append", required=True,
                   help="face recognition target; repeat for several (see `fpbench list targets`)")
    p.add_argument("--dataset", default="mini", help="dataset (default: mini, the embedded set)")
    channel = p.add_mutually_exclusive_group()
    channel.add_argument("--transform", dest="transforms", action="append",
                         help="processing between protection and recognition, e.g. jpeg50; repeat for several")
    channel.add_argument("--channel", action="store_true",
                         help=f"evaluate the full channel: {', '.join(DEFAULT_CHANNEL)} (instead of --transform)")
    p.add_argument("--goal", choices=GOALS, default="",
                   help="impersonate (match a target person) or dodge (no longer match oneself); default: the "
                        "protocol's (verify: impersonate; identify and authorise: dodge)")
    p.add_argument("--protocol", default="", help="verify (1:1), identify (1:N top-k) or authorise (PMT); default: "
                                                  "the one the dataset's manifest names, else verify")
    p.add_argument("--authorised", type=comma_list, default=[],
                   help="authorise protocol: the target(s) the face's owner allows, a,b")
    p.add_argument("--mask-l2", type=number, default=None,
                   help="renormalise every perturbation to this L2 norm in [0,1] units (AdvCloak: 4.706 = 1200 on 0-255)")
    p.add_argument("--surrogate", type=comma_list, default=[], help="white-box model(s) for the method: a,b,c")
    p.add_argument("--profile", choices=PROFILES, default="mini", help="mini: CPU minutes; paper: the paper's settings")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--out", type=Path, default=Path("runs"), help="where run directories are written")
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--eps", type=non_negative, help="perturbation budget in [0,1] units, e.g. 8/255")
    p.add_argument("--steps", type=positive_int, help="attack iterations")
    p.add_argument("--alpha", type=non_negative, help="attack step size, e.g. 1/255")
    p.add_argument("--param", type=key_value, action="append", default=[], metavar="NAME=VALUE",
                   help="any other method parameter")
    p.add_argument("--far", type=number, default=0.01, help="FAR of the success threshold (default 0.01)")
    p.add_argument("--no-quality", action="store_true", help="skip LPIPS/SSIM/PSNR/FID")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=handle)


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    params = dict(args.param)
    for key in ("eps", "steps", "alpha"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    transforms = list(DEFAULT_CHANNEL) if args.channel else (args.transforms or ["identity"])
    return RunSpec(method=args.method, targets=tuple(args.targets), dataset=args.dataset,
                   transforms=tuple(transforms), goal=args.goal, surrogates=tuple(args.surrogate),
                   params=params, profile=args.profile, seed=args.seed, device=args.device,
                   batch_size=args.batch_size, far=args.far, quality=not args.no_quality, protocol=args.protocol,
                   authorised=tuple(args.authorised), mask_l2=args.mask_l2)


def handle(args: argparse.Namespace) -> int:
    console = Console()
    result = Runner(spec_from_args(args), args.out, progress=not args.quiet, threads=args.threads).execute()
    show_result(console, result)
    return 0


def show_result(console: Console, result) -> None:
    """The run view: the table, what its cells are (from the metric registry), quality, warnings, work."""
    from ..metrics.registry import METRICS
    from ..results import default_metrics, protocol
    from ..results.legend import legend

    card, spec = result.card, result.card.get("spec") or {}
    metrics = default_metrics(result)
    proto = protocol(result)
    console.print(result.table(), highlight=False)
    setting = {"verify": f"{spec.get('goal')}, FAR {spec.get('far')}", "identify": "1:N identification",
               "authorise": f"authorised and unauthorised models, FAR {spec.get('far')}"}.get(proto, proto)
    title = f"{card['method']['method']} on {(card.get('dataset') or {}).get('name', '?')} ({setting})"
    over = "identities" if any(METRICS[m].cluster for m in metrics) else "pairs"
    console.print(f"[bold]{escape(title)}[/]; cells: % [95% bootstrap CI over {over}], "
                  f"n = {(card.get('dataset') or {}).get('pairs', len(result.scores))} pairs")
    if (card.get("dataset") or {}).get("note"):
        console.print(escape(f"data: {card['dataset']['note']} ({card['dataset']['name']})"), highlight=False)
    if card.get("white_box"):
        console.print(escape(f"white-box (also a surrogate): {', '.join(card['white_box'])}"))
    if not result.quality.empty:
        sets = (card.get("quality") or {}).get("sets") or {}
        for image, q in result.quality.groupby("image", sort=False):
            means = q.select_dtypes("number").mean()
            s = sets.get(image, {})
            line = f"quality of {s.get('images', image)} vs {s.get('reference', 'their reference')} (mean): "
            line += ", ".join(f"{k} {v:.4g}" for k, v in means.items())
            if "fid" in s:
                line += f"; FID {s['fid']:.4g}, KID {s['kid']:.4g} (sets of {s['n']}: small sets inflate FID)"
            console.print(escape(line), highlight=False)
    console.print(escape("; ".join(legend(card, name) for name in metrics)), highlight=False)
    for w in card.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    work = card.get("work") or {}
    console.print(f"computed: {work.get('protected', 0)} protected, {work.get('embedded', 0)} embeddings "
                  f"(the rest from the cache); run dir: {result.path}")
