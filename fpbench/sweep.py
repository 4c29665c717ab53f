"""Sweeps: a YAML grid of runs (methods x seeds, each over targets x transforms) executed as one job.

Example (examples/table2_mini.yaml)::

    name: table2-mini
    dataset: mini
    goal: impersonate
    targets: [sface, mfn512]
    transforms: [identity]
    surrogates: [mobilefacenet]
    seeds: [0]
    methods:
      - none
      - {method: fgsm, params: {eps: 4/255}}
      - {method: pgd, params: {eps: 4/255, steps: 20}}
      - {method: pgd, params: {eps: [2/255, 4/255, 8/255], steps: 20}}   # a grid: one cell per eps

Every cell is a normal run directory; a cell whose directory already holds a card for the same spec is
skipped, and all cells share the protected-image and embedding caches. The output folder's ``sweep.json``
lists the cells in the spec's order (and its parameter order), so ``fpbench table`` shows them that way.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from .cache import json_sha256, write_json
from .errors import BadInput
from .pipeline.executors import Executor, SerialExecutor, Unit
from .results import SWEEP_INDEX
from .results.labels import format_value, param_order
from .runner import Runner
from .spec import RunSpec
from .sweepfile import SETTING_LISTS, read_sweep_file


@dataclass
class Sweep:
    name: str
    out: Path
    specs: list[RunSpec]
    table_metric: str
    param_order: tuple[str, ...] = ()  # parameter names in the spec's order (row labels)
    claims: str | None = None  # a paper whose expected orderings are checked on the finished cells


def _setting_grid(entry: dict[str, Any], common: dict[str, Any]) -> list[dict[str, Any]]:
    """The run settings of one method entry: the file's, with each listed per-entry value (mask_l2,
    inference_photos) making one cell."""
    lists = [[(key, v) for v in entry[key]] for key in SETTING_LISTS if key in entry]
    return [{**common, **dict(combo)} for combo in itertools.product(*lists)]


def load_sweep(path: Path, out: Path | None = None, device: str | None = None) -> Sweep:
    """The sweep of a YAML spec, every cell validated (a wrong key or value: one line naming the file)."""
    doc = read_sweep_file(path)
    common = {k: doc[k] for k in ("dataset", "goal", "profile", "batch_size", "far", "esr_far", "quality", "protocol",
                                  "mask_l2", "side", "inference_photos") if k in doc}
    specs = []
    for seed in doc.get("seeds", [0]):
        for entry in doc["methods"]:
            for params, settings in itertools.product(grid(entry["params"]), _setting_grid(entry, common)):
                spec = RunSpec(
                    method=entry["method"], targets=tuple(doc["targets"]),
                    transforms=tuple(entry.get("transforms", doc.get("transforms", ["identity"]))),
                    surrogates=tuple(entry.get("surrogates", doc.get("surrogates", []))),
                    authorised=tuple(entry.get("authorised", doc.get("authorised", []))),
                    attacks=tuple(entry.get("attacks", doc.get("attacks", []))),
                    params=params, seed=seed, device=device or doc.get("device", "cpu"), **settings,
                )
                try:
                    specs.append(spec.validate())
                except BadInput as e:
                    raise BadInput(f"{path}: {e}") from None
    name = doc.get("name", path.stem)
    claims = doc.get("claims")
    if claims is not None:
        from .claims import papers

        if claims not in papers():
            raise BadInput(f"{path}: `claims`: no claims for paper {claims!r}; available: {', '.join(papers())}")
    order = tuple(dict.fromkeys(k for entry in doc["methods"] for k in entry["params"]))
    return Sweep(name, out or Path(doc.get("out", Path("runs") / name)), specs, doc.get("table_metric", "asr"), order,
                 claims)


def grid(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the listed values (``{eps: [a, b], steps: 20}`` -> two dicts), keys in order."""
    values = [v if isinstance(v, list) else [v] for v in params.values()]
    return [dict(zip(params, combo)) for combo in itertools.product(*values)]


def cell_label(k: int, n: int, spec: RunSpec, order: Sequence[str] = ()) -> str:
    """``cell 3 of 5: pgd seed=0 eps=8/255 steps=20``: parameters in the spec's order, budgets as fractions."""
    keys = param_order(spec.method, list(spec.params), order)
    params = " ".join(f"{key}={format_value(spec.params[key])}" for key in keys)
    return f"cell {k} of {n}: {spec.method} seed={spec.seed}" + (f" {params}" if params else "")


def write_index(sweep: Sweep, resolved: Sequence[RunSpec]) -> None:
    """The cells' order and the parameter order, for ``fpbench table`` (``results.SWEEP_INDEX``)."""
    sweep.out.mkdir(parents=True, exist_ok=True)
    write_json(sweep.out / SWEEP_INDEX, {"cells": [json_sha256(s.to_dict()) for s in resolved],
                                         "params": list(sweep.param_order)})


def run_sweep(sweep: Sweep, progress: bool = True, executor: Executor | None = None) -> Iterator[tuple[str, str]]:
    """Run every cell not yet finished through ``executor`` (default: serial, in this process); yields
    (cell label, "done"/"skipped") in the spec's order. Cells share the content-addressed caches, whose
    per-unit locks make concurrent cells wait for each other's work instead of repeating it."""
    executor = executor or SerialExecutor()
    n = len(sweep.specs)
    todo: list[tuple[str, Unit]] = []
    cells = [Runner(spec, None, progress=False).spec for spec in sweep.specs]  # the specs as cards record them
    write_index(sweep, cells)
    for k, (spec, resolved) in enumerate(zip(sweep.specs, cells), 1):
        label = cell_label(k, n, spec, sweep.param_order)
        if _finished(sweep.out, resolved):
            yield label, "skipped"
            continue
        unit = Unit(label, f"cell-{json_sha256([sweep.out, resolved.to_dict()])}", run_cell,
                    (spec, resolved, sweep.out.absolute(), progress and isinstance(executor, SerialExecutor)),
                    resources=cell_resources(spec))
        if isinstance(executor, SerialExecutor):  # report each cell as it finishes
            executor.run([unit])
            yield label, "done"
        else:
            todo.append((label, unit))
    executor.run([unit for _, unit in todo])
    for label, _ in todo:
        yield label, "done"


def run_cell(spec: RunSpec, resolved: RunSpec, out: Path, progress: bool) -> None:
    """One sweep cell: a whole run, unless ``out`` already holds it (so a retried or repeated cell is never
    computed twice); module level, so a process pool or Ray can pickle it."""
    if not _finished(out, resolved):
        Runner(spec, out, progress=progress).execute()


def cell_resources(spec: RunSpec) -> dict[str, float]:
    """What a cell reserves beyond its CPU threads: a GPU when it runs on one (Ray hides GPUs from tasks
    that declare none)."""
    return {"num_gpus": 1} if spec.device.startswith("cuda") else {}


def _finished(out: Path, spec: RunSpec) -> bool:
    """Whether ``out`` holds a finished run of ``spec`` (an unreadable card is a cell to run again)."""
    for card_path in out.glob("*/card.json"):
        try:
            card: dict[str, Any] = json.loads(card_path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(card, dict) and card.get("spec") == spec.to_dict():
            return True
    return False
