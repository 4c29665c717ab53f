"""`fpbench run`: one method against one or more targets through the processing channel."""
from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..errors import BadInput
from ..runner import Runner
from ..spec import GOALS, NO_MASK_L2, PROFILES, SIDES, RunSpec
from ..transforms import DEFAULT_CHANNEL
from .options import DefaultsHelp, comma_list, key_value, non_negative, number, positive_int, target_list


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="protect a dataset with a method and measure it against targets",
                       formatter_class=DefaultsHelp,
                       description="Protect the dataset's test faces with METHOD and report ASR/PSR (and ESR for "
                                   "reversible methods) per target and transform, with 95% bootstrap CIs.")
    p.add_argument("--method", required=True, help="protection method (see `fpbench list methods`)")
    p.add_argument("--target", dest="targets", type=target_list, action="append", default=[],
                   help="face recognition target(s): a,b or repeat the option (see `fpbench list targets`); "
                        "required, except with --protocol authorise: the --authorised models and every embedded "
                        "model")
    p.add_argument("--dataset", default=None,
                   help="dataset (see `fpbench list datasets`); default: the protocol's own (identify: "
                        "mini-1n-synthetic), else mini, the embedded set")
    channel = p.add_mutually_exclusive_group()
    channel.add_argument("--transform", dest="transforms", type=comma_list, action="append",
                         help="processing between protection and recognition, e.g. jpeg50; a,b or repeat "
                              "(default: identity)")
    channel.add_argument("--channel", action="store_true",
                         help=f"evaluate the full channel: {', '.join(DEFAULT_CHANNEL)} (instead of --transform)")
    p.add_argument("--goal", choices=GOALS, default="",
                   help="impersonate (match a target person) or dodge (no longer match oneself); default: the "
                        "protocol's (verify: impersonate; identify and authorise: dodge)")
    p.add_argument("--protocol", default="", help="verify (1:1), identify (1:N top-k) or authorise (PMT); default: "
                                                  "the one the dataset's manifest names, else verify")
    p.add_argument("--authorised", type=comma_list, default=[],
                   help="authorise protocol: the target(s) the face's owner allows, a,b")
    p.add_argument("--attacks", type=comma_list, default=None,
                   help="authorise protocol: adversaries run on what the method released, a,b: "
                        "reconstruction (white-box and learned black-box inversion of the uploaded feature, PMT "
                        "Table VI), up (utility-privacy UP(0.1, 0.3), Table X), deobfuscate (adaptive attacker "
                        "outside the paper's threat model: a de-obfuscator trained on (x, PMT(x)) pairs), attributes "
                        "(emotion/race/gender/age of x~ vs x, Table VIII); default: attributes under --protocol "
                        "authorise for a protecting method; none: no attack")
    p.add_argument("--mask-l2", type=mask_l2, default=None, metavar="L2|none",
                   help="renormalise every perturbation to this L2 norm in [0,1] units (AdvCloak: 4.706 = 1200 on "
                        "0-255); none: never; unset: the protocol's default (identify: 4.706 for person and "
                        "universal masks), else as the method makes it")
    p.add_argument("--inference-photos", type=positive_int, default=None, metavar="K",
                   help="identify protocol: make each person mask from the first K inference photos (default: all; "
                        "AdvCloak Fig. 4b varies K)")
    p.add_argument("--side", choices=SIDES, default="probe",
                   help="identify protocol: protect the probe photos (AdvCloak/OPOM: the attacker's gallery holds "
                        "clean photos) or the gallery photos (the Fawkes threat model: clean probes query a gallery "
                        "of protected photos)")
    p.add_argument("--surrogate", type=comma_list, default=[],
                   help="white-box model(s) for the method: a,b,c (none: the method's default)")
    p.add_argument("--profile", choices=PROFILES, default="mini", help="mini: CPU minutes; paper: the paper's settings")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice (same seed: same bits)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--out", type=Path, default=Path("runs"), help="where run directories are written")
    p.add_argument("--batch-size", type=positive_int, default=16, help="images per batch (memory vs speed)")
    p.add_argument("--eps", type=non_negative, help="perturbation budget in [0,1] units, e.g. 8/255")
    p.add_argument("--steps", type=positive_int, help="attack iterations")
    p.add_argument("--alpha", type=non_negative, help="attack step size, e.g. 1/255")
    p.add_argument("--param", type=key_value, action="append", default=[], metavar="NAME=VALUE",
                   help="any other method parameter (repeatable)")
    p.add_argument("--far", type=number, default=0.01, help="false accept rate of the success threshold")
    p.add_argument("--no-quality", action="store_true", help="skip LPIPS/SSIM/PSNR/FID")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=handle)


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    params = dict(args.param)
    for key in ("eps", "steps", "alpha"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    transforms = list(DEFAULT_CHANNEL) if args.channel else (_flat(args.transforms) or ["identity"])
    from ..protocols.base import default_dataset

    dataset = args.dataset or default_dataset(args.protocol)
    return RunSpec(method=args.method, targets=_targets(args), dataset=dataset,
                   transforms=tuple(transforms), goal=args.goal, surrogates=tuple(args.surrogate),
                   params=params, profile=args.profile, seed=args.seed, device=args.device,
                   batch_size=args.batch_size, far=args.far, quality=not args.no_quality, protocol=args.protocol,
                   authorised=tuple(args.authorised), mask_l2=args.mask_l2, side=args.side,
                   attacks=_attacks(args), inference_photos=args.inference_photos)


def _targets(args: argparse.Namespace) -> tuple[str, ...]:
    """The --target list, or the protocol's defaults after the --authorised models; one line when neither."""
    named = _flat(args.targets)
    if named:
        return tuple(named)
    defaults = _protocol(args.protocol).default_targets
    if not defaults:
        raise BadInput("--target is required (e.g. --target arcface; see `fpbench list targets`)")
    return tuple(dict.fromkeys([*args.authorised, *defaults]))


def _attacks(args: argparse.Namespace) -> tuple[str, ...]:
    """--attacks as given (``none``: no attack), else the protocol's default attacks for a protecting method."""
    if args.attacks is not None:
        return () if args.attacks == ["none"] else tuple(args.attacks)
    return () if args.method == "none" else _protocol(args.protocol).default_attacks


def _protocol(name: str) -> type:
    """The protocol class a run names (the base class, with no defaults, when it names none or an unknown one:
    the runner reports an unknown name)."""
    from ..protocols.base import PROTOCOLS, Protocol

    return PROTOCOLS.get(name) if name in PROTOCOLS.names() else Protocol


def mask_l2(text: str) -> float | str:
    """``--mask-l2``: a positive number (fractions allowed) or ``none``."""
    if text.strip().lower() == NO_MASK_L2:
        return NO_MASK_L2
    value = number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0 or {NO_MASK_L2}, got {text}")
    return value


def _flat(lists: list[list[str]] | None) -> list[str]:
    """Values of a repeatable comma-list option, in order, each once."""
    return list(dict.fromkeys(v for values in lists or [] for v in values))


def handle(args: argparse.Namespace) -> int:
    console = Console(soft_wrap=True)
    runner = Runner(spec_from_args(args), args.out, progress=not args.quiet, threads=args.threads)
    plan = method_plan(runner)
    if plan:
        console.print(escape(plan), highlight=False)
    if runner.spec.attacks:
        from ..adversaries import LEARNED_ATTACKS, plan as attack_plan
        from ..adversaries.learned import auxiliary_faces
        from ..protocols.base import protocol_for

        items = protocol_for(runner.spec.protocol, runner.dataset).items(runner.dataset, runner.spec.goal)
        learned = set(runner.spec.attacks) & set(LEARNED_ATTACKS)
        aux = len(auxiliary_faces(runner.dataset.records, [i.source for i in items])) if learned else 0
        steps = int(getattr(getattr(runner.method, "settings", None), "steps", 0) or 0)
        console.print(escape(attack_plan(runner.spec.attacks, runner.spec.authorised, runner.spec.profile, len(items),
                                         aux, steps)), highlight=False)
    result = runner.execute()
    show_result(console, result)
    return 0


def method_plan(runner: Runner) -> str | None:
    """The method's own plan and time estimate for this run (methods with a ``plan``: PMT), else None."""
    from ..protocols.base import protocol_for

    plan = getattr(runner.method, "plan", None)
    if plan is None:
        return None
    items = protocol_for(runner.spec.protocol, runner.dataset).items(runner.dataset, runner.spec.goal)
    return plan(len(items), runner.spec.authorised)


def pair_count(card: dict, default: int) -> int:
    """Pairs scored: the protocol's count when it has one (identify: ordered probe/genuine pairs; authorise: x1
    is protected once and used in two pairs)."""
    protocol = card.get("protocol") or {}
    return protocol.get("probe_pairs") or protocol.get("pairs") or (card.get("dataset") or {}).get("pairs", default)


def show_table_viii(console: Console, scores, heading: str = "") -> None:
    """The Table VIII layout of a run's attribute rows and its E1 line (after ``heading``), if it has them."""
    from ..results.table_viii import render as render_viii

    shown = render_viii(scores)
    if shown is not None:
        if heading:
            console.print(escape(heading), highlight=False)
        console.print(shown[0], highlight=False)
        for line in shown[1]:
            console.print(escape(line), highlight=False)


def show_result(console: Console, result) -> None:
    """The run view: the table (Markdown when the output is not a terminal, so no number is cut), what its
    cells are (from the metric registry), what flatters them, quality, warnings, work."""
    from ..metrics.registry import METRICS
    from ..results import default_metrics, protocol
    from ..results.legend import kid_note, legend, protocol_notes
    from ..results.render import render

    card, spec = result.card, result.card.get("spec") or {}
    metrics = default_metrics(result)
    proto = protocol(result)
    view = result.table()
    if console.is_terminal:
        console.print(view, highlight=False)
    else:
        console.out(render(view.table, "markdown", ci=True).rstrip("\n"), highlight=False)
    if proto == "authorise":
        from ..results.table_vii import render as render_vii
        from ..results.table_vi import render as render_vi

        clean = card["method"]["method"] == "none"
        console.print(render_vii(result.scores, list(spec.get("authorised") or []), clean), highlight=False)
        for table in render_vi(result.scores, card):
            console.print(table, highlight=False)
        show_table_viii(console, result.scores)
    setting = {"verify": f"{spec.get('goal')}, FAR {spec.get('far')}", "identify": identify_setting(spec),
               "authorise": f"authorised and unauthorised models, FAR {spec.get('far')}"}.get(proto, proto)
    title = f"{card['method']['method']} on {(card.get('dataset') or {}).get('name', '?')} ({setting})"
    over = "identities" if any(METRICS[m].cluster for m in metrics) else "pairs"
    unit = "probe/genuine pairs" if proto == "identify" else "pairs"
    console.print(f"[bold]{escape(title)}[/]; cells: % [95% bootstrap CI over {over}], "
                  f"n = {pair_count(card, len(result.scores))} {unit}", highlight=False)
    if proto == "identify" and (card.get("protocol") or {}).get("mask_l2"):
        console.print(escape(f"masks: {card['protocol']['mask_l2']}"), highlight=False)
    if (card.get("dataset") or {}).get("note"):
        console.print(escape(f"data: {card['dataset']['note']} ({card['dataset']['name']})"), highlight=False)
    for line in protocol_notes(card):
        console.print(f"[yellow]note:[/] {escape(line)}", highlight=False)
    if card.get("white_box"):
        console.print(escape(f"† white-box (also a surrogate; not ranked or averaged in tables): "
                             f"{', '.join(card['white_box'])}"), highlight=False)
    if not result.quality.empty:
        sets = (card.get("quality") or {}).get("sets") or {}
        for image, q in result.quality.groupby("image", sort=False):
            means = q.select_dtypes("number").mean()
            s = sets.get(image, {})
            line = f"quality of {s.get('images', image)} vs {s.get('reference', 'their reference')} (mean): "
            line += ", ".join(f"{k} {v:.4g}" for k, v in means.items())
            if "fid" in s:
                line += (f"; FID {s['fid']:.4g}, KID {s['kid']:.4g} (sets of {s['n']}: small sets inflate FID)"
                         + kid_note(s["kid"]))
            console.print(escape(line), highlight=False)
    console.print(escape("; ".join(legend(card, name) for name in metrics)), highlight=False)
    for w in card.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    for line in api_lines(card, result.scores):
        console.print(escape(line), highlight=False)
    line = timing_line(card)
    if line:
        console.print(escape(line), highlight=False)
    work = card.get("work") or {}
    console.print(f"computed: {work.get('protected', 0)} protected, {work.get('embedded', 0)} embeddings "
                  f"(the rest from the cache); run dir: {result.path}", highlight=False)


def identify_setting(spec: dict) -> str:
    """The identify protocol's setting in a run's title: which side of the search is protected."""
    if spec.get("side", "probe") == "gallery":
        return "1:N identification, protected gallery: clean probes (Fawkes threat model)"
    return "1:N identification, protected probes"


def timing_line(card: dict) -> str | None:
    """T_cus (seconds to make one person's mask) and T_gen (seconds to protect one image) measured in this run,
    with the device, as AdvCloak's Table 3 reports them; None when nothing was made (all from the cache)."""
    seconds = card.get("mask_seconds") or {}
    parts = [f"{label} {seconds[key]['mean']:.3g} s ({what}, mean of {seconds[key]['n']})"
             for key, label, what in (("customise", "T_cus", "one person's mask"), ("generate", "T_gen", "per image"))
             if key in seconds]
    if not parts:
        return None
    device = next(iter(seconds.values())).get("device", "?")
    return f"time on {device}: {'; '.join(parts)}"


def api_lines(card: dict, scores) -> list[str]:
    """Per commercial-API target: the mean confidence the papers report, faces not found, and its requests."""
    lines = []
    for t in card.get("targets") or []:
        if t.get("kind") != "api":
            continue
        rows = scores[(scores["target"] == t["display"]) & (scores["kind"].isin(["impersonation", "dodging"]))]
        no_face = int((rows["outcome"] == "no-face").sum()) if "outcome" in rows else 0
        scored = rows["similarity"].dropna()
        r = (t.get("requests") or {}).get("summary") or {}
        mean = f"{scored.mean():.2f}" if len(scored) else "n/a"
        lines.append(f"{t['display']}: mean confidence {mean} over {len(scored)} scored pairs, {no_face} no face found "
                     f"(not a success); requests sent {r.get('sent', 0)}, cached {r.get('cached', 0)}, retried "
                     f"{r.get('retried', 0)}, failed {r.get('failed', 0)}, billable {r.get('billable', 0)}"
                     + (f"; model {', '.join(t['model_versions'])}" if t.get("model_versions") else ""))
    return lines
