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

Every cell is a normal run directory; a cell whose directory already holds a card for the same spec is
skipped, and all cells share the protected-image and embedding caches.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .cache import json_sha256
from .errors import BadInput
from .pipeline.executors import Executor, SerialExecutor, Unit
from .runner import Runner
from .spec import RunSpec
from .sweepfile import read_sweep_file


@dataclass
class Sweep:
    name: str
    out: Path
    specs: list[RunSpec]
    table_metric: str


def load_sweep(path: Path, out: Path | None = None, device: str | None = None) -> Sweep:
    """The sweep of a YAML spec, every cell validated (a wrong key or value: one line naming the file)."""
    doc = read_sweep_file(path)
    common = {k: doc[k] for k in ("dataset", "goal", "profile", "batch_size", "far", "esr_far", "quality", "protocol",
                                  "mask_l2") if k in doc}
    specs = []
    for seed in doc.get("seeds", [0]):
        for entry in doc["methods"]:
            spec = RunSpec(
                method=entry["method"], targets=tuple(doc["targets"]),
                transforms=tuple(entry.get("transforms", doc.get("transforms", ["identity"]))),
                surrogates=tuple(entry.get("surrogates", doc.get("surrogates", []))),
                params=entry["params"], seed=seed, device=device or doc.get("device", "cpu"), **common,
            )
            try:
                specs.append(spec.validate())
            except BadInput as e:
                raise BadInput(f"{path}: {e}") from None
    name = doc.get("name", path.stem)
    return Sweep(name, out or Path(doc.get("out", Path("runs") / name)), specs, doc.get("table_metric", "asr"))


def run_sweep(sweep: Sweep, progress: bool = True, executor: Executor | None = None) -> Iterator[tuple[str, str]]:
    """Run every cell not yet finished through ``executor`` (default: serial, in this process); yields
    (cell label, "done"/"skipped") in the spec's order. Cells share the content-addressed caches, whose
    per-unit locks make concurrent cells wait for each other's work instead of repeating it."""
    executor = executor or SerialExecutor()
    n = len(sweep.specs)
    todo: list[tuple[str, Unit]] = []
    for k, spec in enumerate(sweep.specs, 1):
        resolved = Runner(spec, None, progress=False).spec  # the spec as a card records it
        label = f"cell {k} of {n}: {spec.method} seed={spec.seed} {json.dumps(spec.params, sort_keys=True)}"
        if _finished(sweep.out, resolved):
            yield label, "skipped"
            continue
        unit = Unit(label, json_sha256(resolved.to_dict()), run_cell,
                    (spec, sweep.out, progress and isinstance(executor, SerialExecutor)))
        if isinstance(executor, SerialExecutor):  # report each cell as it finishes
            executor.run([unit])
            yield label, "done"
        else:
            todo.append((label, unit))
    executor.run([unit for _, unit in todo])
    for label, _ in todo:
        yield label, "done"


def run_cell(spec: RunSpec, out: Path, progress: bool) -> None:
    """One sweep cell: a whole run (module level, so a process pool can pickle it)."""
    Runner(spec, out, progress=progress).execute()


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
