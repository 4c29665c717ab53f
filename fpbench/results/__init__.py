"""Run results: the run card, per-image scores and per-image quality, saved to and loaded from a run dir.

A run directory holds ``card.json`` (spec and provenance), ``scores.parquet`` (one row per protected
image, target, transform and kind: similarity, threshold, success) and ``quality.parquet``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..cache import atomic_path, write_json
from ..errors import BadInput


@dataclass
class RunResult:
    card: dict[str, Any]
    scores: pd.DataFrame
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    path: Path | None = None

    @property
    def label(self) -> str:
        return self.card["method"]["method"]

    def save(self, run_dir: str | Path) -> Path:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        for name, df in (("scores", self.scores), ("quality", self.quality)):
            with atomic_path(run_dir / f"{name}.parquet") as tmp:
                df.to_parquet(tmp, index=False)
        write_json(run_dir / "card.json", self.card)  # last: a dir with a card is complete
        self.path = run_dir
        return run_dir

    @classmethod
    def load(cls, run_dir: str | Path) -> "RunResult":
        run_dir = Path(run_dir)
        card_path = run_dir / "card.json"
        if not card_path.is_file():
            raise BadInput(f"{run_dir} is not a finished fpbench run (no card.json); re-run it to complete it")
        card = json.loads(card_path.read_text())
        read = lambda name: pd.read_parquet(run_dir / f"{name}.parquet") if (run_dir / f"{name}.parquet").is_file() else pd.DataFrame()
        return cls(card=card, scores=read("scores"), quality=read("quality"), path=run_dir)

    def table(self, metric: str | None = None, fmt: str = "rich", ci: bool = True):
        """This run as a table (the `fpbench run` view): one row per target (and transform, if several),
        one column per metric, so that it stays readable in a terminal however many targets there are."""
        from .tables import build_table, render

        metrics = [metric] if metric else default_metrics(self)
        rows = "target/transform" if self.scores["transform"].nunique() > 1 else "target"
        return render(build_table([self], metrics, rows=rows, cols=None), fmt, ci=ci)

    def to_latex(self, metric: str | None = None, ci: bool = False) -> str:
        return self.table(metric, fmt="latex", ci=ci)


def default_metrics(result: RunResult) -> list[str]:
    """The goal's success rate, then the reversible-method rates the run has scores for."""
    kinds = set(result.scores["kind"])
    main = "asr" if result.card["spec"]["goal"] == "impersonate" else "psr"
    extra = (("esr", "erasion"), ("esr_wrong", "erasion-wrong-key"), ("rvr", "restoration"))
    return [main] + [metric for metric, kind in extra if kind in kinds]


def load_runs(paths: Sequence[str | Path]) -> list[RunResult]:
    """Load run dirs; a directory holding run dirs (e.g. a sweep's output) is expanded."""
    runs: list[RunResult] = []
    for p in map(Path, paths):
        if (p / "card.json").is_file():
            runs.append(RunResult.load(p))
        elif p.is_dir() and any(p.glob("*/card.json")):
            runs.extend(RunResult.load(c.parent) for c in sorted(p.glob("*/card.json")))
        else:
            raise BadInput(f"{p} is not a run directory (no card.json) nor a folder of runs")
    return runs
