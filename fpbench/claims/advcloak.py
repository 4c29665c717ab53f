"""AdvCloak's expected orderings E1-E7 (spec A6), on identify runs (black-box average top-1 protection)."""
from __future__ import annotations

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


def norm_trend(evidence: Evidence) -> list[Gap]:
    """E6: for every method run at several --mask-l2 values, protection at each norm minus at the next lower."""
    gaps = []
    for method in evidence.methods():
        runs = sorted((r for r in evidence.runs_of(method) if r.card.get("mask_l2")), key=lambda r: r.card["mask_l2"])
        norms = [r.card["mask_l2"] for r in runs]
        if len(set(norms)) < 2 or len(set(norms)) < len(norms):
            continue
        for low, high in zip(runs, runs[1:]):
            label = f"{method} L2 {high.card['mask_l2']:g} - {low.card['mask_l2']:g}"
            gaps.append(Gap(label, evidence.difference(high, low)))
    if not gaps:
        raise NotEvaluable("needs runs of one method at several --mask-l2 values (a sweep over mask_l2)")
    return gaps


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
    Claim("E6", "protection rises with the mask norm (Fig. 3b)", norm_trend),
    Claim("E7", "masked inference photos are protected at least as well as unseen test photos",
          not_evaluable("the identify protocol scores unseen test photos only, not the masked inference photos")),
]


def evidence(runs) -> Evidence:
    return Evidence(runs, mask_l2=PAPER_MASK_L2)
