"""Run results: the run card, per-image scores and per-image quality, saved to and loaded from a run dir.

A run directory holds ``card.json`` (spec and provenance, schema in ``card.py``), ``scores.parquet`` (one row
per protected image, target, transform and kind; the columns a metric reads are in
``fpbench.metrics.registry``; verify runs also name each row's image files, see ``files.py``) and
``quality.parquet`` (per image, with its ``file`` and ``reference_file``). A run is written to the cache first
(``$FPBENCH_CACHE/runs/<name>/``) and then copied to its run dir, so a full disk there loses no scores.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import pyarrow as pa

from ..cache import atomic_path, subdir, write_json
from ..errors import BadInput
from ..metrics.registry import default_metric_names, protocol_of
from .card import RunCard, load_card

#: columns every non-empty scores.parquet has (tables group by them)
SCORE_COLUMNS = ("pair", "target", "transform", "kind")
#: the file a sweep writes beside its cells: their order and the spec's parameter order
SWEEP_INDEX = "sweep.json"
FILES = ("scores.parquet", "quality.parquet", "card.json")  # card.json last: a dir with a card is complete


@dataclass
class RunResult:
    card: dict[str, Any]  # RunCard.to_dict() (a RunCard passed here is converted)
    scores: pd.DataFrame
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    path: Path | None = None
    param_order: tuple[str, ...] = ()  # a sweep spec's parameter order, for row labels

    def __post_init__(self) -> None:
        if isinstance(self.card, RunCard):
            self.card = self.card.to_dict()

    @property
    def label(self) -> str:
        return self.card["method"]["method"]

    @property
    def run_card(self) -> RunCard:
        """The card, validated against the schema."""
        return RunCard.from_dict(self.card, self.path / "card.json" if self.path else "run card")

    def save(self, run_dir: str | Path) -> Path:
        """Write the run into the cache (atomically), then copy it to ``run_dir``. If ``run_dir`` cannot be
        written (a full disk), a one-line ``BadInput`` says where the complete run is kept."""
        run_dir = Path(run_dir)
        try:
            kept = self._keep_in_cache(run_dir.resolve().name or "run")
        except OSError:
            kept = None  # no room in the cache: write the run dir directly
        try:
            if kept is None:
                self._write(run_dir)
            elif not (run_dir.exists() and run_dir.resolve() == kept.resolve()):
                run_dir.mkdir(parents=True, exist_ok=True)
                (run_dir / "card.json").unlink(missing_ok=True)  # a previous run's card would vouch for new files
                for name in FILES:
                    with atomic_path(run_dir / name) as tmp:
                        shutil.copyfile(kept / name, tmp)
        except OSError as e:
            reason = e.strerror or str(e)
            if kept is None:
                raise BadInput(f"cannot write the run to {run_dir} ({reason}), nor to the cache; free some space or "
                               "pass another --out, and re-run (cached work is reused)") from None
            self.path = kept
            raise BadInput(f"cannot write the run to {run_dir} ({reason}); the complete run is kept in {kept} "
                           "(or pass another --out and re-run: cached work is reused)") from None
        self.path = run_dir
        return run_dir

    def _write(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        for name, df in (("scores", self.scores), ("quality", self.quality)):
            with atomic_path(run_dir / f"{name}.parquet") as tmp:
                df.to_parquet(tmp, index=False)
        write_json(run_dir / "card.json", self.card)

    def _keep_in_cache(self, name: str) -> Path:
        """Write the run to ``<cache>/runs/<name>/`` as a whole: a new directory renamed into place."""
        root = subdir("runs")
        dest = root / name
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".part"))
        try:
            self._write(tmp)
            os.chmod(tmp, 0o777 & ~_umask())
            old = None
            if dest.exists():
                old = Path(tempfile.mkdtemp(dir=root, prefix=f".{name}.", suffix=".old"))
                os.replace(dest, old / name)
            os.replace(tmp, dest)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    @classmethod
    def load(cls, run_dir: str | Path) -> "RunResult":
        """Read a finished run; a one-line ``BadInput`` naming the file if any of it is missing or corrupt."""
        run_dir = Path(run_dir)
        card_path = run_dir / "card.json"
        if not card_path.is_file():
            raise BadInput(f"{run_dir} is not a finished fpbench run (no card.json); re-run it to complete it")
        card = load_card(card_path)
        scores = _read_parquet(run_dir / "scores.parquet")
        if scores is None:
            raise BadInput(f"{run_dir / 'scores.parquet'} is missing (the run has a card.json); re-run to rewrite it")
        missing = [c for c in SCORE_COLUMNS if c not in scores] if len(scores.columns) else []
        if missing:
            raise BadInput(f"{run_dir / 'scores.parquet'}: no column {', '.join(missing)}; not an fpbench scores file")
        quality = _read_parquet(run_dir / "quality.parquet")
        return cls(card=card.to_dict(), scores=scores, quality=pd.DataFrame() if quality is None else quality,
                   path=run_dir)

    def table(self, metric: str | None = None, fmt: str = "rich", ci: bool = True):
        """This run as a table (the `fpbench run` view): one row per target (and transform, if several),
        one column per metric, so that it stays readable in a terminal however many targets there are.
        ``fmt="rich"`` gives a ``TableView`` that prints (rich in a console, Markdown as ``str``)."""
        from .render import TableView
        from .tables import build_table, render

        metrics = [metric] if metric else default_metrics(self)
        if not metrics:
            raise BadInput(f"{self.path or 'the run'} holds no scores of its protocol ({protocol(self)})")
        table = build_table([self], metrics, rows="target", cols=None)
        return TableView(table, ci) if fmt == "rich" else render(table, fmt, ci=ci)

    def to_latex(self, metric: str | None = None, ci: bool = False) -> str:
        return self.table(metric, fmt="latex", ci=ci)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read_parquet(path: Path) -> pd.DataFrame | None:
    """The table in ``path`` (None if there is no such file); a one-line ``BadInput`` if it is unreadable."""
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        reason = reason.split("': ", 1)[-1] if str(path) in reason else reason  # the path is said once
        raise BadInput(f"{path}: unreadable, truncated or corrupt ({reason}); re-run to rewrite it "
                       "(cached work is reused)") from None


def protocol(result: RunResult) -> str:
    """The run's protocol: from its card, else from the kinds of its score rows."""
    kinds = set(result.scores["kind"]) if "kind" in result.scores else set()
    return result.card.get("protocol_name") or protocol_of(kinds)


def default_metrics(result: RunResult) -> list[str]:
    """The run view's metrics (registry defaults of the run's protocol that the run has rows for): verify ->
    ASR or PSR, then ESR, ESR_WRONG and RVR of reversible methods; identify -> top-1, top-5; authorise ->
    accuracy; metrics of columns the run does not have (top1_real: a set without synthetic variants) are left
    out."""
    from ..metrics.registry import METRICS

    kinds = set(result.scores["kind"]) if "kind" in result.scores else set()
    return [m for m in default_metric_names(protocol(result), kinds) if METRICS[m].column in result.scores]


def load_runs(paths: Sequence[str | Path]) -> list[RunResult]:
    """Load run dirs; a directory holding run dirs (e.g. a sweep's output) is expanded, in the sweep spec's
    order when it has the sweep's ``sweep.json``."""
    runs: list[RunResult] = []
    for p in map(Path, paths):
        if (p / "card.json").is_file():
            runs.append(RunResult.load(p))
        elif p.is_dir() and any(p.glob("*/card.json")):
            runs.extend(_sweep_order(p, [RunResult.load(c.parent) for c in sorted(p.glob("*/card.json"))]))
        else:
            raise BadInput(f"{p} is not a run directory (no card.json) nor a folder of runs")
    return runs


def _sweep_order(folder: Path, runs: list[RunResult]) -> list[RunResult]:
    """``runs`` in the order of the sweep that wrote ``folder`` (runs it does not list come last), each
    knowing the spec's parameter order; unchanged without a readable ``sweep.json``."""
    from ..cache import json_sha256

    try:
        index = json.loads((folder / SWEEP_INDEX).read_text())
        cells, order = list(index["cells"]), tuple(index.get("params", ()))
    except (OSError, ValueError, KeyError, TypeError, RecursionError):  # [[[...]]]: unreadable as well
        return runs
    rank = {sha: i for i, sha in enumerate(cells)}
    for r in runs:
        r.param_order = order
    return sorted(runs, key=lambda r: rank.get(json_sha256(r.card.get("spec") or {}), len(rank)))
