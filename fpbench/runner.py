"""One run as a pipeline of stages: fit -> protect -> channel -> restore -> score -> quality -> card.

The runner resolves every name first (so typos fail before any work), then builds each stage's units (with
their content keys) and hands them to an executor (``fpbench.pipeline.executors``). Every expensive output is
content-addressed and cached (trained models, protected and restored images, embeddings), and work happens in
fixed chunks whose random streams depend only on the spec and the chunk's contents, so a re-run computes
nothing and an interrupted run resumes with bit-identical results. The protocol (``fpbench.protocols``)
decides what is protected and how it is scored.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .cache import json_sha256
from .data import DATASETS, load_dataset
from .errors import BadInput
from .methods import METHODS, Method
from .pipeline.card import build_card
from .pipeline.executors import Executor, SerialExecutor, run_lock
from .pipeline.fit import run_fit
from .pipeline.protect import run_protect
from .pipeline.quality import run_quality
from .pipeline.state import RunState
from .pipeline.thresholds import target_thresholds
from .protocols import PROTOCOLS, protocol_for
from .spec import NO_MASK_L2, RunSpec, check_device
from .targets import make_target, parse_target, target_names
from .threads import set_threads
from .transforms import make_transform
from .zoo.model import FaceModel


def white_box_model(name: str, device: torch.device) -> FaceModel:
    """The differentiable model behind a target name, for use as a surrogate."""
    model = getattr(make_target(name, device), "model", None)
    if model is None:
        raise BadInput(f"target {name!r} has no local model and cannot serve as a white-box surrogate")
    return model


def resolve_mask_l2(requested: float | str | None, protocol: Any, scope: str) -> float | str | None:
    """The L2 norm a run rescales perturbations to: ``--mask-l2`` when given, else the protocol's default for
    person and universal masks (identify: 4.706, AdvCloak's 1200 on 0-255). ``none`` stays in the spec where
    it turns a default off (so the card's spec re-runs the same run) and is None elsewhere (the same run as
    no option)."""
    default = protocol.default_mask_l2 if scope in ("person", "universal") else None
    if requested == NO_MASK_L2:
        return NO_MASK_L2 if default is not None else None
    return float(requested) if requested is not None else default


class Runner:
    """Executes one RunSpec; ``execute()`` returns a ``fpbench.results.RunResult``."""

    def __init__(self, spec: RunSpec, out: Path | None = Path("runs"), progress: bool = True,
                 threads: int | None = None, executor: Executor | None = None) -> None:
        self.spec = spec.validate()
        self.out = out
        self.device = check_device(spec.device)
        self.threads = threads
        self.executor = executor or SerialExecutor()
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), transient=True, disable=not progress)
        # resolve every name before any work, so typos fail fast
        method_cls = METHODS.get(spec.method)
        if spec.goal and spec.goal not in method_cls.goals:
            raise BadInput(f"method {spec.method!r} is made for --goal {' or '.join(method_cls.goals)}, not {spec.goal!r}")
        run_values = {"profile": spec.profile, "seed": spec.seed}
        params = {**{k: run_values[k] for k in method_cls.run_options if k not in spec.params}, **spec.params}
        self.method: Method = method_cls(**params)
        if hasattr(self.method, "progress"):  # methods that train show their own progress
            self.method.progress = progress
        if spec.protocol:
            PROTOCOLS.get(spec.protocol)
        self.transforms = [make_transform(t) for t in spec.transforms]
        DATASETS.get(spec.dataset)
        known = set(target_names())
        surrogate_names = spec.surrogates or method_cls.default_surrogates
        for name in (*spec.targets, *surrogate_names):
            if parse_target(name)[0] not in known:
                raise BadInput(f"unknown target {name!r}; available: {', '.join(sorted(known))}")
        self.dataset = load_dataset(spec.dataset)
        protocol = protocol_for(spec.protocol, self.dataset)
        if not spec.goal:
            spec = self.spec = spec.with_(goal=protocol.goals[0])
        if spec.goal not in protocol.goals:
            raise BadInput(f"protocol {protocol.name!r} runs --goal {' or '.join(protocol.goals)}, not {spec.goal!r}")
        if spec.goal not in method_cls.goals:
            raise BadInput(f"method {spec.method!r} is made for --goal {' or '.join(method_cls.goals)}, not {spec.goal!r}")
        if spec.side not in protocol.sides:
            raise BadInput(f"protocol {protocol.name!r} protects the {' or '.join(protocol.sides)} side only, not "
                           f"--side {spec.side}; --side gallery needs --protocol identify")
        spec = self.spec = spec.with_(mask_l2=resolve_mask_l2(spec.mask_l2, protocol, method_cls.scope))
        if spec.attacks:
            from .adversaries import check_attacks
            from .pipeline.protect import releases_features

            check_attacks(spec.attacks, protocol.name)
            if "reconstruction" in spec.attacks and not releases_features(self.method):
                raise BadInput(f"--attacks reconstruction attacks uploaded features: method {spec.method!r} releases "
                               "none (use pmt or mr-pmt)")
            if "deobfuscate" in spec.attacks and (method_cls.scope != "image" or spec.method == "none"):
                raise BadInput(f"--attacks deobfuscate learns to undo one protected image per face: method "
                               f"{spec.method!r} makes none (use pmt or mr-pmt)")
        self.surrogate_names: tuple[str, ...] = surrogate_names
        if "surrogates" in self.method.needs and not self.surrogate_names:
            raise BadInput(f"method {spec.method!r} needs white-box surrogates: pass --surrogate NAME[,NAME...]")

    def execute(self):  # -> RunResult (imported lazily: results depends on the runner's outputs only)
        from .results import RunResult

        threads = set_threads(self.threads)
        # two identical runs on one cache: the second waits for the first, then re-uses all its work
        with run_lock(f"run-{json_sha256(self.spec.to_dict())}"), self.progress:
            t0 = time.perf_counter()
            state = self.load_state(threads)
            state.work.stage_seconds["load"] = round(time.perf_counter() - t0, 3)
            run_fit(state, self.executor)
            protected = run_protect(state, self.executor)
            if state.protocol.uses_thresholds:
                state.thresholds = {t.display: target_thresholds(state, t) for t in state.targets}
            scores = state.protocol.score(state, protected)
            if self.spec.attacks:
                from .adversaries import run_attacks

                attacked, state.attacks = run_attacks(state, protected)
                scores = pd.concat([scores, attacked], ignore_index=True)
            quality = run_quality(state, protected) if self.spec.quality else None
        state.work.embedded = sum(t.computed for t in state.targets)
        result = RunResult(card=build_card(state, protected), scores=scores,
                           quality=quality if quality is not None else _empty())
        if self.out is not None:
            result.save(self.out / self.run_name(state))
        return result

    def load_state(self, threads: int | None = None) -> RunState:
        """Everything the stages read: data, protocol items, surrogates, targets."""
        spec = self.spec
        dataset = self.dataset
        protocol = protocol_for(spec.protocol, dataset)
        return RunState(
            spec=spec, method=self.method, protocol=protocol, dataset=dataset,
            items=protocol.items(dataset, spec.goal), surrogate_names=self.surrogate_names,
            surrogates=[white_box_model(n, self.device) for n in self.surrogate_names],
            targets=[make_target(n, self.device) for n in spec.targets], transforms=self.transforms,
            device=self.device, progress=self.progress, threads=threads or set_threads(self.threads),
        )

    def run_name(self, state: RunState) -> str:
        s = self.spec
        method = s.method.replace(":", "-")  # torchattacks:PGD: a folder name on every system
        return f"{state.dataset.name}-{method}-{s.goal}-{json_sha256(s.to_dict())[:8]}"


def _empty():
    import pandas as pd

    return pd.DataFrame()


def run(
    method: str,
    targets: Sequence[str] | str,
    dataset: str = "mini",
    transforms: Sequence[str] = ("identity",),
    *,
    out: str | Path | None = None,
    progress: bool = False,
    threads: int | None = None,
    **options: Any,
):
    """Python API mirroring ``fpbench run``: returns a ``RunResult`` (``.scores``, ``.table()``, ``.to_latex()``).
    Nothing is written beside your code unless ``out`` names a folder (the run is still cached, and
    ``result.save(dir)`` writes it later).

    ``options`` are the other RunSpec fields (goal, protocol, authorised, surrogates, params, profile, seed,
    device, batch_size, far, esr_far, mask_l2, quality, attacks).
    """
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    for key in ("surrogates", "transforms", "authorised", "attacks"):
        if key in options and isinstance(options[key], str):
            options[key] = tuple(options[key].split(","))
    spec = RunSpec(method=method, targets=targets, dataset=dataset, transforms=tuple(transforms),
                   **{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
    return Runner(spec, Path(out) if out is not None else None, progress=progress, threads=threads).execute()
