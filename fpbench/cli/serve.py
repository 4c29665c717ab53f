"""`fpbench serve VENDOR`: a local mock of a commercial face-compare API on 127.0.0.1, to dry-run a paid
campaign (point the adapter at it with FPBENCH_<VENDOR>_URL)."""
from __future__ import annotations

import argparse

from rich.console import Console

from .options import non_negative, number


def register(sub: argparse._SubParsersAction) -> None:
    from ..serve import CONTRACTS

    p = sub.add_parser("serve", help="run a local mock of a commercial face-compare API (dry runs, tests)",
                       description="Serve VENDOR's contract on 127.0.0.1: verify its authentication with the "
                                   "credentials in the vendor's environment variables, score the received images "
                                   "with a local zoo model on the vendor's scale, answer in the vendor's envelopes, "
                                   "and inject seeded faults.")
    p.add_argument("vendor", choices=sorted(CONTRACTS), help="the contract to serve")
    p.add_argument("--model", default="sface", help="zoo model that scores the images (default: sface)")
    p.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--faults", default="", help="seeded fault rates, e.g. 429:0.2,500:0.05,timeout:0.05,"
                                                "noface:0.02,plain413:0.01")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    p.add_argument("--tau", type=number, default=None,
                   help="the model's cosine that maps to the vendor's first threshold (default: its stored "
                        "calibration at the smallest FAR)")
    p.add_argument("--hang", type=non_negative, default=35.0, help="seconds an injected timeout hangs (default 35)")
    p.add_argument("--retry-after", type=non_negative, default=1.0,
                   help="Retry-After seconds sent with injected throttling (default 1)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ..serve import make_server
    from ..targets.api import ADAPTERS

    server = make_server(args.vendor, args.model, args.port, args.faults, args.seed, tau=args.tau, hang=args.hang,
                         retry_after=args.retry_after)
    console = Console(stderr=True)
    url_var = ADAPTERS[args.vendor].url_var
    console.print(f"serving a mock of {args.vendor} on {server.url} scored by {args.model} (cosine {server.scorer.tau:.4g} "
                  f"= the vendor's first threshold); point the adapter at it: export {url_var}={server.url}",
                  highlight=False, soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print(f"stopped; {dict(server.stats)}", highlight=False)
    finally:
        server.server_close()
    return 0
