"""PMT's expected results E1-E7 (spec B6), on authorise runs: paired over the same source faces x1.

Values are percentages (accuracy), or SSIM and UP scaled by 100 so that every gap prints in points.
"""
from __future__ import annotations

from typing import Any, Sequence

from ..errors import BadInput
from ..metrics.estimate import Estimate
from ..results import RunResult, protocol
from .base import Claim, Gap, NotEvaluable, paired_contrast

#: hard check 3's bound on unauthorised accuracy (spec B6), used for "transfer stays low"
LOW_ACCURACY = 25.0
#: E7: what 8-bit quantisation of x~ may cost the authorised model, in points
QUANTISATION_POINTS = 2.0
#: same-architecture pairs of the zoo (E6): (authorised, unauthorised)
SAME_ARCHITECTURE = (("mobilefacenet", "mfn512"), ("mfn512", "mobilefacenet"), ("hse-faceres", "hse-faceres-deep"),
                     ("hse-faceres-deep", "hse-faceres"))
#: E5 ablations: (PMT parameter, value, the paper's expectation in words); the reference is the default run
ABLATIONS = (("augment", "affine", "random-affine augmentation"), ("aggregate", False, "no layer aggregation"),
             ("kernel", "none", "no TI kernel"))

Cell = tuple  # (run, kind, target or None for all, column, weight[, sigma of the UP curve])


class AuthoriseEvidence:
    """The authorise runs PMT's claims read, and paired contrasts of their rows (clusters: source faces)."""

    def __init__(self, runs: Sequence[RunResult]):
        self.runs = [r for r in runs if protocol(r) == "authorise"]
        if not self.runs:
            raise BadInput("none of these runs is an authorise-protocol run; PMT's claims read them (e.g. "
                           "`fpbench run --method pmt --protocol authorise --authorised mobilefacenet ...`)")

    def pmt_runs(self) -> list[RunResult]:
        return [r for r in self.runs if r.label in ("pmt", "mr-pmt")]

    def default_run(self) -> RunResult:
        """The PMT run with the paper's settings and one authorised model (the first such run)."""
        for run in self.pmt_runs():
            if not params(run) and len(authorised(run)) == 1:
                return run
        raise NotEvaluable("no run of pmt with its default settings and one --authorised model")

    def attribute_run(self) -> RunResult:
        """A PMT run with default settings, one authorised model and attribute rows (``--attacks attributes``)."""
        for run in self.pmt_runs():
            if not params(run) and len(authorised(run)) == 1 and (run.scores["kind"] == "attributes").any():
                return run
        raise NotEvaluable("no default pmt run with --attacks attributes (PMT Table VIII)")

    def contrast(self, cells: Sequence[Cell], scale: float = 1.0) -> Estimate:
        parts = []
        for run, kind, target, column, weight, *sigma in cells:
            s = run.scores
            rows = s[(s["kind"] == kind) & (s["transform"] == "identity")]
            if sigma:
                rows = rows[rows["sigma"] == sigma[0]]
            if target is not None:
                rows = rows[rows["target"] == target]
            if column in rows:
                rows = rows[rows[column].notna()]
            if rows.empty or column not in rows:
                where = f" on {target}" if target else ""
                raise NotEvaluable(f"{run.label} has no {kind} rows with {column}{where} (see the run's --attacks)")
            parts.append((f"{run.label}|{kind}|{target}|{column}", rows["source"], scale * rows[column].astype(float),
                          weight))
        return paired_contrast(parts)


def params(run: RunResult) -> dict[str, Any]:
    return dict((run.card.get("spec") or {}).get("params") or {})


def authorised(run: RunResult) -> list[str]:
    return list((run.card.get("spec") or {}).get("authorised") or [])


def unauthorised_targets(run: RunResult) -> set[str]:
    s = run.scores
    return set(s[s["kind"] == "unauthorised"]["target"])


def mean_accuracy(run: RunResult, targets: Sequence[str], weight: float) -> list[Cell]:
    """Cells of the mean unauthorised accuracy (%) over ``targets``, each weighted ``weight / n``."""
    return [(run, "unauthorised", t, "correct", 100.0 * weight / len(targets)) for t in targets]


def attributes(evidence: AuthoriseEvidence) -> list[Gap]:
    """E1: CosSim of x + N(0, 0.3^2) minus of the released x~ (x100) for emotion, race and gender; |delta age|
    (SSR-Net, years) of x~ minus of the noise. Networks: human-models, not DeepFace."""
    run = evidence.attribute_run()
    gaps = [Gap(f"{name} CosSim x100, noise 0.3 - x~", evidence.contrast(
                [(run, "attributes-noise-0.3", None, column, 1.0), (run, "attributes", None, column, -1.0)], scale=100.0))
            for column, name in (("attr_emotion", "emotion"), ("attr_race", "race"), ("attr_gender", "gender"))]
    gaps.append(Gap("|delta age| years (SSR-Net), x~ - noise 0.3", evidence.contrast(
        [(run, "attributes", None, "attr_age", 1.0), (run, "attributes-noise-0.3", None, "attr_age", -1.0)])))
    return gaps


def reconstruction(evidence: AuthoriseEvidence) -> list[Gap]:
    """E2: SSIM of reconstructions from z and from z_rn minus from z~ (x100), per authorised target, at both
    attack levels (Level 2: white-box optimisation; Level 1: the learned RecFace) the run has."""
    run = evidence.default_run()
    kinds = set(run.scores["kind"])
    gaps = []
    for level, pmt_kind in (("level 2", "reconstruction"), ("level 1", "reconstruction-learned")):
        if pmt_kind not in kinds:
            continue
        for target in authorised(run):
            for suffix, name in (("-unprotected", "z"), ("-permuted-noise", "z_rn")):
                est = evidence.contrast([(run, pmt_kind + suffix, target, "ssim", 1.0),
                                         (run, pmt_kind, target, "ssim", -1.0)], scale=100.0)
                gaps.append(Gap(f"{level}: SSIM x100 from {name} - from z~ ({target})", est))
    if not gaps:
        raise NotEvaluable("the default pmt run has no reconstruction rows (run it with --attacks reconstruction)")
    return gaps


def utility_privacy(evidence: AuthoriseEvidence) -> list[Gap]:
    """E3: UP(sigma, 0.3) of x~ minus UP of the original faces (x100), per authorised target, at every sigma of
    the UP curve (sigma in [0, 0.2]) when the run has it, else at Table X's sigma 0.1."""
    run = evidence.default_run()
    s = run.scores
    sigmas = sorted(set(s[s["kind"] == "up-curve"]["sigma"])) if "sigma" in s else []
    gaps = []
    for target in authorised(run):
        if not sigmas:
            gaps.append(Gap(f"UP x100 of x~ - of x ({target})",
                            evidence.contrast([(run, "utility-privacy", target, "up", 1.0),
                                               (run, "utility-privacy-original", target, "up", -1.0)], scale=100.0)))
        for sigma in sigmas:
            gaps.append(Gap(f"UP x100 of x~ - of x at sigma {sigma:g} ({target})",
                            evidence.contrast([(run, "up-curve", target, "up", 1.0, sigma),
                                               (run, "up-curve-original", target, "up", -1.0, sigma)], scale=100.0)))
    return gaps


def more_authorised(evidence: AuthoriseEvidence) -> list[Gap]:
    """E4: mean unauthorised accuracy of a run with more authorised models minus one with fewer, over the
    models unauthorised in both."""
    runs = sorted(evidence.pmt_runs(), key=lambda r: len(authorised(r)))
    gaps = []
    for fewer in runs:
        for more in runs:
            if len(authorised(more)) <= len(authorised(fewer)) or not set(authorised(fewer)) < set(authorised(more)):
                continue
            common = sorted(unauthorised_targets(fewer) & unauthorised_targets(more))
            if common and params(fewer) == params(more):
                est = evidence.contrast(mean_accuracy(more, common, 1.0) + mean_accuracy(fewer, common, -1.0))
                gaps.append(Gap(f"unauthorised acc. with {'+'.join(authorised(more))} - with "
                                f"{'+'.join(authorised(fewer))}", est))
    if not gaps:
        raise NotEvaluable("needs a pmt run and an mr-pmt run whose authorised models include its ones, on shared "
                           "unauthorised targets")
    return gaps


def ablations(evidence: AuthoriseEvidence) -> list[Gap]:
    """E5: mean unauthorised accuracy of each ablated run minus the default run (the paper: higher)."""
    base = evidence.default_run()
    gaps = []
    for key, value, what in ABLATIONS:
        for run in evidence.pmt_runs():
            if params(run) == {key: value} and authorised(run) == authorised(base):
                common = sorted(unauthorised_targets(run) & unauthorised_targets(base))
                est = evidence.contrast(mean_accuracy(run, common, 1.0) + mean_accuracy(base, common, -1.0))
                gaps.append(Gap(f"unauthorised acc. with {what} - default", est))
    if not gaps:
        raise NotEvaluable("needs pmt runs with --param augment=affine, aggregate=false or kernel=none beside the "
                           "default run")
    return gaps


def same_architecture(evidence: AuthoriseEvidence) -> list[Gap]:
    """E6: the hard-check bound (25%) minus the unauthorised accuracy of a same-architecture model."""
    gaps = []
    for run in evidence.pmt_runs():
        if params(run) or len(authorised(run)) != 1:
            continue
        for allowed, other in SAME_ARCHITECTURE:
            if authorised(run) == [allowed] and other in unauthorised_targets(run):
                est = evidence.contrast([(run, "unauthorised", other, "correct", -100.0)])
                gaps.append(Gap(f"{LOW_ACCURACY:g} - acc. of {other} ({allowed} authorised)", est.shifted(LOW_ACCURACY)))
    if not gaps:
        raise NotEvaluable("needs a pmt run authorising one of " + ", ".join(a for a, _ in SAME_ARCHITECTURE)
                           + " with its same-architecture twin as a target")
    return gaps


def quantisation(evidence: AuthoriseEvidence) -> list[Gap]:
    """E7: the 2-point allowance minus |accuracy on the float x~ - on the 8-bit PNG|, as two one-sided gaps."""
    run = evidence.default_run()
    gaps = []
    for target in authorised(run):
        for sign, side in ((1.0, "float - 8-bit"), (-1.0, "8-bit - float")):
            est = evidence.contrast([(run, "authorised", target, "correct_float", -100.0 * sign),
                                     (run, "authorised", target, "correct", 100.0 * sign)])
            gaps.append(Gap(f"{QUANTISATION_POINTS:g} - ({side}) acc. ({target})", est.shifted(QUANTISATION_POINTS)))
    return gaps


CLAIMS = [
    Claim("E1", "attribute CosSim of PMT(x) < of x + Gaussian noise (emotion, race, gender); |delta age| larger",
          attributes),
    Claim("E2", "reconstructions from z~ have lower SSIM than from z and from permuted noise z_rn", reconstruction),
    Claim("E3", "UP(0.1, 0.3) of the obfuscated faces > of the originals (Fig. 8/10)", utility_privacy),
    Claim("E4", "MR-PMT: unauthorised accuracy rises as more models are authorised (Table IX)", more_authorised),
    Claim("E5", "random-affine augmentation, no layer aggregation and no kernel each raise unauthorised accuracy "
                "(Tables IV-V)", ablations),
    Claim("E6", "same-architecture transfer stays low (unauthorised accuracy <= 25%)", same_architecture),
    Claim("E7", "8-bit quantisation of x~ changes authorised accuracy by < 2 points (not in the paper)", quantisation),
]


def evidence(runs: Sequence[RunResult]) -> AuthoriseEvidence:
    return AuthoriseEvidence(runs)

