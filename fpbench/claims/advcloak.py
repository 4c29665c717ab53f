"""AdvCloak's expected orderings E1-E7 (spec A6), on identify runs (black-box average top-1 protection)."""
from __future__ import annotations

from typing import Callable

from .base import Claim, Evidence, Gap, NotEvaluable, not_evaluable, ordering

PERSON_SPECIFIC = ("advcloak", "advcloak-affinehull", "advcloak-classcenter", "advcloak-convexhull", "advfaces-plus",
                   "fi-uap", "fi-uap-plus", "opom-affinehull", "opom-classcenter", "opom-convexhull")
#: the mini plan's source family (spec A5.1: MobileFaceNet-style models with other losses) and other architectures
SAME_FAMILY = ("sface", "mfn512", "mobilefacenet")
OTHER_ARCHITECTURES = ("dlib-resnet29", "hse-faceres", "hse-faceres-deep")
#: every mask of the paper's tables is rescaled to L2 = 1200 on 0-255
PAPER_MASK_L2 = 4.706


def drop_contrast(evidence: Evidence) -> list[Gap]:
    """E4: FI-UAP's drop from same-family to other-architecture targets minus AdvCloak's drop."""
    fi, ac = evidence.run_of("fi-uap"), evidence.run_of("advcloak")
    evidence.same_probes(fi, ac)
    targets = evidence.black_box([fi, ac])
    near = [t for t in targets if t in SAME_FAMILY]
    far = [t for t in targets if t in OTHER_ARCHITECTURES]
    if not near or not far:
        raise NotEvaluable(f"needs black-box targets of both kinds: same family {', '.join(SAME_FAMILY)} and other "
                           f"architectures {', '.join(OTHER_ARCHITECTURES)}")
    terms = [(run, t, sign / len(near)) for run, sign in ((fi, 1.0), (ac, -1.0)) for t in near]
    terms += [(run, t, -sign / len(far)) for run, sign in ((fi, 1.0), (ac, -1.0)) for t in far]
    return [Gap("drop(fi-uap) - drop(advcloak)", evidence.contrast(terms))]


def trend(setting: str, short: str, option: str, others: dict[str, float | None]) -> Callable[[Evidence], list[Gap]]:
    """For every method run at several values of the card's ``setting`` (the ``others`` at their given
    values), the protection at each value minus at the next lower one."""

    def measure(evidence: Evidence) -> list[Gap]:
        gaps = []
        for method in evidence.methods():
            runs = sorted((r for r in evidence.runs_of(method) if r.card.get(setting)
                           and all(r.card.get(k) == v for k, v in others.items())), key=lambda r: r.card[setting])
            values = [r.card[setting] for r in runs]
            if len(set(values)) < 2 or len(set(values)) < len(values):
                continue
            for low, high in zip(runs, runs[1:]):
                label = f"{method} {short} {high.card[setting]:g} - {low.card[setting]:g}"
                gaps.append(Gap(label, evidence.difference(high, low)))
        if not gaps:
            raise NotEvaluable(f"needs runs of one method at several {option} values (a sweep over {setting})")
        return gaps

    return measure


def both(*measures: Callable[[Evidence], list[Gap]]) -> Callable[[Evidence], list[Gap]]:
    """The gaps of every measure that can be evaluated (not evaluable only when none can)."""

    def measure(evidence: Evidence) -> list[Gap]:
        gaps, missing = [], []
        for m in measures:
            try:
                gaps += m(evidence)
            except NotEvaluable as e:
                missing.append(str(e))
        if not gaps:
            raise NotEvaluable("; ".join(missing))
        return gaps

    return measure


CLAIMS = [
    Claim("E1", "every person-specific method protects more than GAP (black-box average top-1)",
          ordering([PERSON_SPECIFIC, ["gap"]], any_of_first=True)),
    Claim("E2", "OPOM-ConvexHull >= OPOM-ClassCenter >= OPOM-AffineHull >= FI-UAP (black-box average top-1)",
          ordering([["opom-convexhull"], ["opom-classcenter"], ["opom-affinehull"], ["fi-uap"]])),
    Claim("E3", "AdvCloak > AdvFaces+ > FI-UAP (black-box average top-1)",
          ordering([["advcloak"], ["advfaces-plus"], ["fi-uap"]])),
    Claim("E4", "FI-UAP loses more than AdvCloak from same-family to other-architecture targets", drop_contrast),
    Claim("E5", "AdvCloak-ClassCenter/ConvexHull >= AdvCloak >= AdvCloak-AffineHull (the paper: small margins)",
          ordering([["advcloak-classcenter", "advcloak-convexhull"], ["advcloak"], ["advcloak-affinehull"]])),
    Claim("E6", "protection rises with the mask norm (Fig. 3b) and with the number of inference photos (Fig. 4b)",
          both(trend("mask_l2", "L2", "--mask-l2", {"inference_photos": None}),
               trend("inference_photos", "K", "--inference-photos", {"mask_l2": PAPER_MASK_L2}))),
    Claim("E7", "masked inference photos are protected at least as well as unseen test photos",
          not_evaluable("the identify protocol scores unseen test photos only, not the masked inference photos")),
]


def evidence(runs) -> Evidence:
    return Evidence(runs, mask_l2=PAPER_MASK_L2)
