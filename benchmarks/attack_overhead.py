"""Overhead of fpbench's PGD over a bare torch loop doing the same forwards and backwards.

Run::

    FPBENCH_CACHE=/path/to/cache python benchmarks/attack_overhead.py [--steps 10] [--surrogates sface,mfn512]

Both paths attack the same batch (synthetic ``golden_batch`` images toward other golden images) for ``--steps``
Linf steps over the same zoo models: fpbench through ``IterativeAttack.protect`` (``FaceModel`` wrappers,
``embedding_loss``, the method's option handling), the bare loop through each model's ``backbone`` with the
preprocessing arithmetic written out (resize or dlib chip warp, colour order, ``x * gain + bias``, L2
normalisation). The random start uses the same seeded generator, so both must return the same images; the
script checks that. Times (wall and process CPU) are the best of ``--rounds`` interleaved runs after one
warm-up each; the wall ratio fpbench / bare should stay <= 1.10. Other processes on the same cores distort
the numbers badly with more than one torch thread (each op waits for its slowest thread): the script says
when the threads were not busy most of the wall time; ``--threads 1`` then gives stable numbers.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from fpbench import zoo
from fpbench.methods.base import DEFAULT_SURROGATES, ProtectContext
from fpbench.methods.gradient import PGD
from fpbench.zoo.golden import golden_batch
from fpbench.zoo.model import FaceModel, arcface_to_dlib_chip

EPS = 4 / 255
TARGET = 1.10


def bare_embedder(model: FaceModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's forward pass as plain torch on its backbone (no FaceModel call)."""
    spec = model.spec
    mean, std = (torch.tensor(v, dtype=torch.float64).view(1, 3, 1, 1) for v in (spec.mean, spec.std))
    gain, bias = (spec.scale / std).float(), (-mean / std).float()
    backbone = model.backbone

    def embed(x: torch.Tensor) -> torch.Tensor:
        if spec.crop == "dlib-chip":
            x = arcface_to_dlib_chip(x, spec.size)
        elif x.shape[-1] != spec.size:
            x = F.interpolate(x, size=(spec.size, spec.size), mode=spec.resize, align_corners=False, antialias=False)
        if spec.channels == "BGR":
            x = x.flip(1)
        return F.normalize(backbone(torch.addcmul(bias, x, gain)).flatten(1), dim=1)

    return embed


def bare_pgd(
    embedders: list, x: torch.Tensor, targets: torch.Tensor, steps: int, alpha: float, seed: int
) -> torch.Tensor:
    """Impersonation PGD with a random start, written out."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        anchors = [f(targets) for f in embedders]
    delta = (torch.rand(x.shape, generator=generator) * 2 - 1) * EPS
    for _ in range(steps):
        delta.requires_grad_(True)
        x_adv = (x + delta).clamp(0, 1)
        cos = torch.stack([(f(x_adv) * a).sum(1) for f, a in zip(embedders, anchors)]).mean(0)
        (grad,) = torch.autograd.grad((1 - cos).sum(), delta)
        with torch.no_grad():
            delta = (delta - alpha * grad.sign()).clamp(-EPS, EPS)
            delta = (x + delta).clamp(0, 1) - x
    return (x + delta).clamp(0, 1)


def fpbench_pgd(models: list[FaceModel], x: torch.Tensor, targets: torch.Tensor, steps: int, seed: int) -> torch.Tensor:
    method = PGD(eps=EPS, steps=steps)
    ctx = ProtectContext(goal="impersonate", surrogates=models, target_images=targets,
                         generator=torch.Generator().manual_seed(seed))
    return method.protect(x, ctx)


def best_times(
    runs: dict[str, Callable[[], torch.Tensor]], rounds: int
) -> tuple[dict[str, tuple[float, float]], dict[str, torch.Tensor]]:
    """Best (wall, process CPU) seconds of each run over ``rounds`` interleaved repetitions (after one
    warm-up; the order alternates between rounds), and its output."""
    outputs = {name: run() for name, run in runs.items()}
    best = {name: (float("inf"), float("inf")) for name in runs}
    for i in range(rounds):
        for name, run in list(runs.items())[:: 1 if i % 2 == 0 else -1]:
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--surrogates", default=",".join(DEFAULT_SURROGATES), help="comma-separated zoo models")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n for n in args.surrogates.split(",") if n]
    models = [zoo.load(n) for n in names]
    x, targets = golden_batch(112, n=args.batch, seed=0), golden_batch(112, n=args.batch, seed=1)
    alpha = PGD(eps=EPS, steps=args.steps).params["alpha"]
    embedders = [bare_embedder(m) for m in models]
    best, out = best_times({
        "fpbench": lambda: fpbench_pgd(models, x, targets, args.steps, seed=0),
        "bare torch": lambda: bare_pgd(embedders, x, targets, args.steps, alpha, seed=0),
    }, args.rounds)
    threads = torch.get_num_threads()
    table = Table(title=f"PGD overhead: {args.steps} steps x {len(names)} surrogates ({', '.join(names)}), "
                        f"batch {args.batch}, {threads} threads, best of {args.rounds}")
    for column in ("path", "wall s", "cpu s", "wall ms / step", "wall ratio", "cpu ratio"):
        table.add_column(column, justify="left" if column == "path" else "right")
    bare_wall, bare_cpu = best["bare torch"]
    for name, (wall, cpu) in best.items():
        table.add_row(name, f"{wall:.3f}", f"{cpu:.3f}", f"{1000 * wall / args.steps:.1f}",
                      f"{wall / bare_wall:.3f}", f"{cpu / bare_cpu:.3f}")
    console = Console()
    console.print(table)
    diff = (out["fpbench"] - out["bare torch"]).abs().max().item()
    ratio = best["fpbench"][0] / bare_wall
    console.print(f"same output: max |fpbench - bare| = {diff:.2e}; "
                  f"wall ratio {ratio:.3f} {'<=' if ratio <= TARGET else '>'} target {TARGET}")
    busy = bare_cpu / (bare_wall * threads)
    if busy < 0.9:
        console.print(f"the {threads} threads were busy {100 * busy:.0f}% of the wall time: other processes share the "
                      "cores and the times mean little (try --threads 1)")


if __name__ == "__main__":
    main()
