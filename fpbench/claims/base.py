"""A paper's expected orderings ("claims"), checked on finished runs with paired, identity-resampled CIs.

A claim says that some methods protect more than others (or more than themselves under another setting). It
is measured as one or more *gaps* in percentage points, each a contrast of per-(method, target) rates over the
same probes with a CI that resamples identities jointly (``metrics.estimate.contrast_ci``). The verdict is
**reproduced** when every gap's 95% CI lies above zero, **not reproduced** otherwise (the reason says whether
a gap is inside its CI or reversed), and **not evaluable** when the runs do not hold what the claim needs
(the reason says which runs to add). Claims never fail a build: at mini scale they are evidence, not tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pandas as pd

from ..errors import BadInput
from ..metrics.estimate import Estimate, contrast_ci
from ..results import RunResult, protocol

REPRODUCED, NOT_REPRODUCED, NOT_EVALUABLE = "reproduced", "not reproduced", "not evaluable"


@dataclass(frozen=True)
class Gap:
    """One measured gap in percentage points (positive = as the paper says)."""

    label: str
    estimate: Estimate

    def __str__(self) -> str:
        e = self.estimate
        return f"{self.label}: {e.value:+.1f} [{e.lo:+.1f}, {e.hi:+.1f}]"


@dataclass(frozen=True)
class Verdict:
    key: str
    statement: str
    status: str
    gaps: tuple[Gap, ...] = ()
    reason: str = ""


class NotEvaluable(Exception):
    """The runs do not hold what a claim needs; the message says what to add."""


@dataclass(frozen=True)
class Claim:
    """One expected ordering of a paper: ``measure`` turns the runs into gaps (or raises NotEvaluable)."""

    key: str  # "E2"
    statement: str  # what the paper reports, in one sentence
    measure: Callable[[Any], list[Gap]]  # evidence (a paper's Evidence class) -> gaps

    def check(self, evidence: Any) -> Verdict:
        try:
            gaps = self.measure(evidence)
        except NotEvaluable as e:
            return Verdict(self.key, self.statement, NOT_EVALUABLE, reason=str(e))
        reversed_ = [g.label for g in gaps if g.estimate.hi < 0]
        inside = [g.label for g in gaps if g.estimate.lo <= 0 <= g.estimate.hi]
        if not reversed_ and not inside:
            return Verdict(self.key, self.statement, REPRODUCED, tuple(gaps))
        reason = "; ".join(filter(None, [f"reversed: {', '.join(reversed_)}" if reversed_ else "",
                                         f"CI includes 0: {', '.join(inside)}" if inside else ""]))
        return Verdict(self.key, self.statement, NOT_REPRODUCED, tuple(gaps), reason)


class Evidence:
    """The identify runs a paper's claims read: per method the run at the paper's setting, its per-probe
    protection rows (top-1 or top-5, identity transform) and the black-box targets common to them (weak
    controls, which run cards list under ``controls``, left out as APSR leaves them out)."""

    def __init__(self, runs: Sequence[RunResult], mask_l2: float | None = None):
        runs = [r for r in runs if protocol(r) == "identify"]
        if not runs:
            raise BadInput("none of these runs is an identify-protocol run; the claims read 1:N identification runs "
                           "(e.g. `fpbench sweep examples/advcloak_table1_mini.yaml`)")
        self.runs = runs
        self.mask_l2 = mask_l2

    def methods(self) -> list[str]:
        return list(dict.fromkeys(r.label for r in self.runs))

    def run_of(self, method: str) -> RunResult:
        """The run of ``method``; among several, the one at the paper's mask norm."""
        found = [r for r in self.runs if r.label == method]
        if len(found) > 1 and self.mask_l2 is not None:
            found = [r for r in found if r.card.get("mask_l2") == self.mask_l2] or found
        if len(found) > 1:  # masks from all inference photos, as the paper's tables
            found = [r for r in found if r.card.get("inference_photos") is None] or found
        if not found:
            raise NotEvaluable(f"no run of {method}")
        if len(found) > 1:
            raise NotEvaluable(f"{len(found)} runs of {method} differ in their settings; pass one")
        return found[0]

    def runs_of(self, method: str) -> list[RunResult]:
        return [r for r in self.runs if r.label == method]

    def black_box(self, runs: Sequence[RunResult]) -> list[str]:
        """Targets every run scored that were white-box for none of them and are not weak controls."""
        common = set.intersection(*(set(r.scores["target"]) for r in runs))
        left_out = set().union(*(set(r.card.get("white_box") or []) | set(r.card.get("controls") or []) for r in runs))
        targets = sorted(common - left_out)
        if not targets:
            raise NotEvaluable("the runs share no black-box target")
        return targets

    def contrast(self, terms: Sequence[tuple[RunResult, str, float]], column: str = "hit1") -> Estimate:
        """Sum of weight x top-k protection (%) of each (run, target, weight) cell, paired over the same probes."""
        cells = []
        for run, target, weight in terms:
            rows = run.scores[(run.scores["target"] == target) & (run.scores["transform"] == "identity")]
            if rows.empty:
                raise NotEvaluable(f"{run.label} has no identity-transform rows on {target}")
            cells.append((f"{run.label}|{target}", rows["identity"], 100.0 * ~rows[column].astype(bool), weight))
        return paired_contrast(cells)

    def difference(self, high: RunResult, low: RunResult) -> Estimate:
        """Black-box average top-1 protection of run ``high`` minus that of run ``low``, over the same probes."""
        self.same_probes(high, low)
        targets = self.black_box([high, low])
        return self.contrast([(high, t, 1 / len(targets)) for t in targets] +
                             [(low, t, -1 / len(targets)) for t in targets])

    def average_gap(self, high: str, low: str) -> Gap:
        """Black-box average top-1 protection of method ``high`` minus that of method ``low``."""
        return Gap(f"{high} - {low}", self.difference(self.run_of(high), self.run_of(low)))

    @staticmethod
    def same_probes(a: RunResult, b: RunResult) -> None:
        sha = [(r.card.get("dataset") or {}).get("manifest_sha256") for r in (a, b)]
        if sha[0] != sha[1]:
            raise NotEvaluable(f"{a.label} and {b.label} ran on different data")


def paired_contrast(cells: Sequence[tuple[str, pd.Series, pd.Series, float]]) -> Estimate:
    """Sum of weight x mean value of each (name, clusters, values, weight) cell, with a CI that resamples the
    clusters (identities, source faces) jointly across cells: a paired contrast."""
    frames, weights = [], {}
    for k, (name, clusters, values, weight) in enumerate(cells):
        cell = f"{k}|{name}"
        weights[cell] = weight
        frames.append(pd.DataFrame({"cluster": clusters.to_numpy(), "cell": cell,
                                    "value": values.to_numpy(dtype=float)}))
    data = pd.concat(frames, ignore_index=True)
    return contrast_ci(data["value"].to_numpy(), data["cluster"].to_numpy(), data["cell"].to_numpy(), weights)


def ordering(groups: Sequence[Sequence[str]], any_of_first: bool = False) -> Callable[[Evidence], list[Gap]]:
    """Gaps of every method in each group over every method of the next group (black-box average top-1).
    With ``any_of_first`` the first group's absent methods are skipped (at least one must be present)."""

    def measure(evidence: Evidence) -> list[Gap]:
        first = list(groups[0])
        if any_of_first:
            first = [m for m in first if m in evidence.methods()]
            if not first:
                raise NotEvaluable(f"no run of any of {', '.join(groups[0])}")
        chain = [first, *map(list, groups[1:])]
        absent = [m for g in chain for m in g if m not in evidence.methods()]
        if absent:
            raise NotEvaluable(f"no run of {', '.join(absent)}")
        return [evidence.average_gap(hi, lo) for upper, lower in zip(chain, chain[1:]) for hi in upper for lo in lower]

    return measure


def not_evaluable(reason: str) -> Callable[[Evidence], list[Gap]]:
    def measure(evidence: Evidence) -> list[Gap]:
        raise NotEvaluable(reason)

    return measure


def check(claims: Sequence[Claim], evidence: Any) -> list[Verdict]:
    return [c.check(evidence) for c in claims]


def verdict_rows(verdicts: Sequence[Verdict]) -> list[tuple[str, str, str, str]]:
    """(claim, paper, measured gaps, verdict) per claim, as text for a table."""
    rows = []
    for v in verdicts:
        measured = "; ".join(map(str, v.gaps)) or "-"
        verdict = v.status + (f" ({v.reason})" if v.reason else "")
        rows.append((v.key, v.statement, measured, verdict))
    return rows

