"""A leaderboard entry: the numbers of one run (each with its 95% CI) and everything needed to trust and
re-run them (spec, commit, dataset manifest sha256, weights sha256, thresholds and their source).

Entries are JSON files in ``leaderboards/entries/``, one per (method, dataset, protocol, profile), made only
from run directories (``from_run``), never by hand; ``load_entry`` validates one against the schema.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cache import write_json
from ..errors import BadInput
from ..metrics.registry import METRICS
from ..results import RunResult, default_metrics, protocol
from ..results.legend import protocol_notes

SCHEMA_VERSION = 1
ENTRIES = "entries"  # the folder of entry files inside a leaderboards/ directory
#: the fields that make up an entry's file name: each a plain name (no '/', no '..'), or empty
NAME_FIELDS = ("method", "dataset", "protocol", "goal", "profile")
_PLAIN_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.+-]{0,63})?$")
#: per-image quality metrics an entry keeps (means over the protected faces, with CIs)
QUALITY_METRICS = ("ssim", "psnr", "lpips")
RESULT_KEYS = {"target": str, "transform": str, "metric": str, "value": float, "lo": float, "hi": float, "n": int}


@dataclass
class Entry:
    """One leaderboard entry (the JSON object of its file)."""

    method: str
    dataset: str
    protocol: str
    goal: str
    profile: str
    spec: dict[str, Any]  # RunSpec.to_dict(): what `leaderboard check` re-runs
    method_card: dict[str, Any]  # the method's card: its parameters and version
    commit: str  # fpbench's git commit that made the run
    fpbench_version: str
    date: str
    dataset_manifest_sha256: str
    pairs: int
    targets: list[dict[str, Any]]  # display name, kind, weights sha256 of each target
    surrogates: list[dict[str, Any]]
    white_box: list[str]
    thresholds: dict[str, Any]  # per target display name: FAR -> tau, kind and source
    results: list[dict[str, Any]]  # target, transform, metric, value, lo, hi, n (95% bootstrap CI)
    notes: list[str]  # what flatters the numbers (the run's protocol notes), the dataset's caveat, warnings
    run: str  # the run directory's name
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.method, self.dataset, self.protocol, self.profile

    @property
    def board(self) -> str:
        """The table this entry ranks in: dataset, protocol (goal), profile."""
        return f"{self.dataset} · {self.protocol} ({self.goal}) · {self.profile} profile"

    @property
    def file_name(self) -> str:
        return f"{self.dataset}--{self.protocol}-{self.goal}--{self.profile}--{self.method}.json"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str | Path) -> "Entry":
        """Validate ``data``; a one-line ``BadInput`` naming ``source`` and every problem."""
        if not isinstance(data, dict):
            raise BadInput(f"{source}: not a leaderboard entry (expected a JSON object)")
        if data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise BadInput(f"{source}: leaderboard entry schema version {data.get('schema_version')!r} is not "
                           f"supported (this fpbench reads {SCHEMA_VERSION}); re-add it from its run")
        problems = _problems(cls, data)
        if problems:
            raise BadInput(f"{source}: invalid leaderboard entry: {'; '.join(problems)}")
        return cls(**data)


def _problems(cls: type, data: dict[str, Any]) -> list[str]:
    """What is wrong with ``data``: missing, unknown or mistyped fields, malformed result rows."""
    types = {f.name: f.type for f in fields(cls)}
    required = [f.name for f in fields(cls) if f.name != "schema_version"]
    problems = []
    missing = [n for n in required if n not in data]
    unknown = sorted(set(data) - set(types))
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(unknown)}")
    for name in required:
        if name in data and not isinstance(data[name], _python_type(types[name])):
            problems.append(f"{name} should be {types[name].split('[')[0]}, found {type(data[name]).__name__}")
    for name in NAME_FIELDS:  # they name the entry's file: a run card cannot steer it out of entries/
        if isinstance(data.get(name), str) and not _PLAIN_NAME.match(data[name]):
            problems.append(f"{name} {data[name]!r} is not a plain name (letters, digits, '_', '.', '+', '-')")
    for i, row in enumerate(data.get("results") if isinstance(data.get("results"), list) else []):
        problems += [f"results[{i}]: {p}" for p in _row_problems(row)]
    if isinstance(data.get("results"), list) and not data["results"]:
        problems.append("results is empty")
    return problems


def _python_type(hint: str) -> type:
    return {"str": str, "int": int}.get(hint) or (dict if hint.startswith("dict") else list)


def _row_problems(row: Any) -> list[str]:
    if not isinstance(row, dict):
        return ["not an object"]
    missing = [k for k in RESULT_KEYS if k not in row]
    if missing:
        return [f"missing {', '.join(missing)}"]
    bad = [k for k, t in RESULT_KEYS.items() if not _fits(row[k], t)]
    if bad:
        return [f"{', '.join(bad)} of the wrong type"]
    if row["metric"] not in METRICS:
        return [f"unknown metric {row['metric']!r}"]
    if not row["lo"] <= row["value"] <= row["hi"]:
        return [f"value {row['value']} outside its CI [{row['lo']}, {row['hi']}]"]
    return []


def _fits(value: Any, kind: type) -> bool:
    """Whether a JSON value is of ``kind`` (a number for float; never a boolean)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) if kind is float else isinstance(value, kind)


def load_entry(path: str | Path) -> Entry:
    """Read and validate one entry file; a one-line ``BadInput`` naming it if unreadable or invalid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as e:
        raise BadInput(f"{path}: cannot read the leaderboard entry ({e.strerror or e})") from None
    except ValueError as e:
        raise BadInput(f"{path}: leaderboard entry is not valid JSON ({str(e).splitlines()[0]})") from None
    return Entry.from_dict(data, path)


def load_entries(root: str | Path) -> list[tuple[Path, Entry]]:
    """Every entry under ``root/entries`` (sorted by file name), each validated."""
    folder = Path(root) / ENTRIES
    return [(p, load_entry(p)) for p in sorted(folder.glob("*.json"))]


def results_of(run: RunResult) -> list[dict[str, Any]]:
    """The run's numbers: its protocol's default metrics per target and transform, and mean image quality
    per kind of image, each with its 95% bootstrap CI (``nan`` bounds are stored as the value)."""
    out = []
    scores = run.scores
    for name in default_metrics(run):
        m = METRICS[name]
        rows = scores[scores["kind"].isin(m.kinds)]
        for (target, transform), group in rows.groupby(["target", "transform"], sort=False):
            out += _row(str(target), str(transform), name, group)
    q = run.quality
    for name in QUALITY_METRICS:
        if not q.empty and name in q:
            for image, group in q.groupby("image", sort=False):
                out += _row(str(image), "identity", name, group)
    return out


def _row(target: str, transform: str, metric: str, rows: pd.DataFrame) -> list[dict[str, Any]]:
    with np.errstate(invalid="ignore"):  # PSNR of identical images is inf: dropped below, not warned about
        est = METRICS[metric].estimate(rows)
    if est is None or not math.isfinite(est.value):
        return []
    lo, hi = (est.lo, est.hi) if math.isfinite(est.lo) and math.isfinite(est.hi) else (est.value, est.value)
    return [{"target": target, "transform": transform, "metric": metric, "value": round(float(est.value), 6),
             "lo": round(float(lo), 6), "hi": round(float(hi), 6), "n": int(est.n)}]


def from_run(run: RunResult) -> Entry:
    """The entry of a finished run (its card is schema-validated on the way)."""
    card = run.run_card
    if not card.environment.get("git_commit"):
        raise BadInput(f"{run.path}: its card records no git commit; re-run it from an fpbench checkout")
    thresholds = {t: {far: {k: v[k] for k in ("tau", "kind", "source") if k in v} for far, v in th["far"].items()}
                  for t, th in card.thresholds.items()}
    targets = [{"display": t.get("display", t.get("name", "")), "kind": t.get("kind", ""),
                "weights_sha256": (t.get("model") or {}).get("weights_sha256", "")} for t in card.targets]
    results = results_of(run)
    notes = protocol_notes(run.card) + ([card.dataset["note"]] if card.dataset.get("note") else []) + card.warnings
    if not results:
        raise BadInput(f"{run.path}: the run holds no scores of its protocol ({protocol(run)}); nothing to add")
    return Entry(
        method=card.method_name, dataset=card.dataset.get("name", card.spec.get("dataset", "")),
        protocol=card.protocol_name, goal=card.spec.get("goal", ""), profile=card.spec.get("profile", ""),
        spec=card.spec, method_card=card.method, commit=card.environment["git_commit"],
        fpbench_version=card.environment.get("fpbench", ""), date=card.environment.get("date", ""),
        dataset_manifest_sha256=card.dataset.get("manifest_sha256", ""), pairs=int(card.dataset.get("pairs", 0)),
        targets=targets, surrogates=card.surrogates, white_box=card.white_box, thresholds=thresholds,
        results=results, notes=notes, run=run.path.name if run.path else "",
    )


def add(run: RunResult, root: str | Path) -> tuple[Path, bool]:
    """Write the run's entry under ``root/entries``; returns its path and whether it replaced one."""
    entry = from_run(run)
    path = Path(root) / ENTRIES / entry.file_name
    Entry.from_dict(entry.to_dict(), path)  # what is written validates as what is read
    replaced = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, entry.to_dict())
    return path, replaced
