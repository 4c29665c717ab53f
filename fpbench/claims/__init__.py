"""Papers' expected orderings checked on finished runs (``fpbench claims PAPER RUNS``); see ``base``."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..errors import BadInput
from ..results import RunResult
from .base import Claim, Evidence, Verdict, check


def papers() -> dict[str, tuple[list[Claim], Callable[[Sequence[RunResult]], Any]]]:
    from . import advcloak, pmt

    return {"advcloak": (advcloak.CLAIMS, advcloak.evidence), "pmt": (pmt.CLAIMS, pmt.evidence)}


def check_paper(paper: str, runs: Sequence[RunResult]) -> list[Verdict]:
    """The verdict of every claim of ``paper`` on ``runs``."""
    known = papers()
    if paper not in known:
        raise BadInput(f"no claims for paper {paper!r}; available: {', '.join(known)}")
    claims, make_evidence = known[paper]
    return check(claims, make_evidence(runs))


__all__ = ["Claim", "Evidence", "Verdict", "check_paper", "papers"]
