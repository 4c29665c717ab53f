"""OPOM-AffineHull, OPOM-ClassCenter, OPOM-ConvexHull (Zhong & Deng, OPOM, TPAMI 2022): person-specific masks
that push the protected features away from a model of the person's feature subspace (spec A2.5, A4.3)."""
from __future__ import annotations

from typing import Any

from .. import METHODS
from .base import PersonSpecific


@METHODS.register("opom-affinehull", "OPOM-AffineHull: person-specific mask maximising the distance to the affine "
                                     "hull of the clean features (Linf 8/255, 16 steps; OPOM code loss 8)")
class OPOMAffineHull(PersonSpecific):
    name = "opom-affinehull"
    loss = "affine"


@METHODS.register("opom-classcenter", "OPOM-ClassCenter: person-specific mask maximising the distance to the mean "
                                      "clean feature (Linf 8/255, 16 steps; OPOM code loss 7)")
class OPOMClassCenter(PersonSpecific):
    name = "opom-classcenter"
    loss = "center"


@METHODS.register("opom-convexhull", "OPOM-ConvexHull: person-specific mask maximising the distance to the convex "
                                     "hull of the clean features, class center for the first 5 of 16 steps "
                                     "(Linf 8/255; OPOM code loss 9, cvxpy QP)")
class OPOMConvexHull(PersonSpecific):
    name = "opom-convexhull"
    loss = "convex"
    defaults: dict[str, Any] = {**PersonSpecific.defaults, "warmup": 5, "lower": 0.0, "upper": 1.0}
    departures = (*PersonSpecific.departures,
                  "the convex-hull QP is solved with cvxpy's CLARABEL solver on a parametrised problem (the code "
                  "builds a new cvxpy problem per feature and uses cvxpy's default solver)")
