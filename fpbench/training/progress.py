"""Training progress on stderr: rich bars in a terminal; in a log (not a terminal), plain lines with
step/total, elapsed time, ETA and every loss, every ``total / lines`` steps and at the end of each stage."""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from datetime import timedelta
from typing import Callable, Iterator, Mapping

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

Update = Callable[[int, Mapping[str, float]], None]


def clock(seconds: float) -> str:
    """``H:MM:SS`` of a duration."""
    return str(timedelta(seconds=round(max(0.0, seconds))))


def losses_text(losses: Mapping[str, float], limit: int | None = None) -> str:
    items = list(losses.items())[:limit]
    return " ".join(f"{k}={v:.4g}" for k, v in items)


class TrainingProgress:
    """Where a Trainer reports what it does; silent when not ``enabled``."""

    def __init__(self, enabled: bool = True, console: Console | None = None, lines: int = 20) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.lines = lines

    @property
    def terminal(self) -> bool:
        return self.console.is_terminal

    def say(self, text: str) -> None:
        """One message line (never wrapped or styled in a log)."""
        if not self.enabled:
            return
        if self.terminal:
            self.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.console.file, flush=True)

    @contextmanager
    def stage(self, label: str, total: int, done: int) -> Iterator[Update]:
        """Report the steps of one stage (``done`` of ``total`` already made); yields ``update(step, losses)``."""
        if not self.enabled:
            yield lambda step, losses: None
        elif self.terminal:
            with self._bar(label, total, done) as update:
                yield update
        else:
            yield self._plain(label, total, done)

    @contextmanager
    def _bar(self, label: str, total: int, done: int) -> Iterator[Update]:
        columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                   TextColumn("{task.fields[info]}")]
        with Progress(*columns, console=self.console) as bar:
            task = bar.add_task("", total=total, completed=done, info="")
            yield lambda step, losses: bar.update(task, completed=step, info=losses_text(losses, 5))

    def _plain(self, label: str, total: int, done: int) -> Update:
        every = max(1, math.ceil(total / self.lines))
        start, first = time.monotonic(), done

        def update(step: int, losses: Mapping[str, float]) -> None:
            if step % every and step != total:
                return
            elapsed = time.monotonic() - start
            rate = (step - first) / elapsed if elapsed > 0 else 0.0
            eta = clock((total - step) / rate) if rate > 0 else "?"
            self.say(f"{label}: step {step}/{total}, elapsed {clock(elapsed)}, ETA {eta}, {losses_text(losses)}")

        return update
