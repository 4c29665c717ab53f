"""Where the time of one ErasableMask stage-2 step goes (mini profile, the default surrogates, the mini data).

Run::

    FPBENCH_CACHE=/path/to/cache python benchmarks/erasablemask_step.py [--steps 6] [--threads 2]

It times whole stage-2 steps of a freshly initialised curriculum (the cost does not depend on the weights),
then the parts one step is made of, each on the step's batch: the generator pass (G_enc + E_adv + G_dec) with
its backward, and each surrogate's forward and forward+backward. A step runs, for K surrogates, K primary
forwards, K inner backwards (one per meta task), K regenerations with K - 1 auxiliary forwards each, and one
outer backward through all of it: the table multiplies each part by its count, so the shares show which
surrogate dominates and what the meta step repeats. Times are medians over ``--rounds``.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch
from rich.console import Console
from rich.table import Table

from fpbench import zoo
from fpbench.data import load_dataset
from fpbench.methods.base import DEFAULT_SURROGATES, TargetFace
from fpbench.methods.erasablemask.profiles import MINI
from fpbench.methods.erasablemask.train import Curriculum, TrainSet
from fpbench.threads import set_threads


def median_time(fn: Callable[[], object], rounds: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6, help="stage-2 steps to time")
    ap.add_argument("--rounds", type=int, default=5, help="repetitions of each part")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    set_threads(args.threads)
    data = load_dataset("mini")
    target = data.select(role="target")[0]
    face = TargetFace(target.id, target.identity, data.images([target], MINI.image_size))
    surrogates = [zoo.load(name) for name in DEFAULT_SURROGATES]
    cur = Curriculum(MINI, TrainSet.from_dataset(data), surrogates, face, seed=0, device="cpu")
    cur.start_stage(2)
    gen = torch.Generator().manual_seed(0)
    step = median_time(lambda: cur.step(2, 0, gen), args.steps)

    x01, att_a = cur._batch(2, 0, gen)
    x = x01 * 2 - 1
    code = cur._att_b(att_a, gen) * MINI.thres_int
    with torch.no_grad():
        ft = cur.nets.g.enc(x)
    k = len(surrogates)

    def generator_pass() -> None:
        cur.nets.zero_grad(set_to_none=True)
        cur.nets.adv_generate(x, code, ft).sum().backward()

    def restorer_pass() -> None:
        cur.nets.zero_grad(set_to_none=True)
        cur.nets.restore(x).sum().backward()

    fake = cur.nets.adv_generate(x, code, ft).detach()
    crops = (fake + 1) / 2
    # x_adv, then one regeneration per meta task, each differentiated (the no-grad D-step pass not counted)
    rows = [("generator fwd+bwd (E_adv, G_dec)", median_time(generator_pass, args.rounds), 1 + k),
            ("restorer R fwd+bwd", median_time(restorer_pass, args.rounds), 1),
            ("D step (the D(x_adv) term about the same)", median_time(lambda: cur._d_step(x, att_a, fake), args.rounds), 2)]
    for model in surrogates:
        probe = crops.clone().requires_grad_(True)
        fwd = median_time(lambda: model(probe), args.rounds)
        both = median_time(lambda: torch.autograd.grad(model(probe).sum(), probe), args.rounds)
        # per surrogate: 1 primary + K - 1 auxiliary forwards; 1 inner backward + K outer backwards
        n_fwd, n_bwd = k, 1 + k
        rows.append((f"{model.card.name} forward", fwd, n_fwd))
        rows.append((f"{model.card.name} backward", max(both - fwd, 0.0), n_bwd))

    table = Table(title=f"one stage-2 step: {step:.2f} s median over {args.steps} (batch {x.shape[0]}, "
                        f"{torch.get_num_threads()} threads, K = {k} surrogates)")
    for col in ("part", "once (s)", "times per step", "per step (s)", "share of step"):
        table.add_column(col, justify="left" if col == "part" else "right")
    for name, once, count in rows:
        table.add_row(name, f"{once:.3f}", str(count), f"{once * count:.2f}", f"{once * count / step:.0%}")
    accounted = sum(once * count for _, once, count in rows)
    table.add_row("sum of the parts", "", "", f"{accounted:.2f}", f"{accounted / step:.0%}")
    Console().print(table)


if __name__ == "__main__":
    main()
