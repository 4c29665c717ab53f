"""AdvCloak (Liu et al., arXiv 2312.14407) and its subspace variants: person-specific masks from the stage-II
generator (spec A2.3, A2.6), one method per stage-II loss (Tables 1-2 rows)."""
from __future__ import annotations

from .. import METHODS
from .method import GeneratorMethod


@METHODS.register("advcloak", "AdvCloak: person-specific mask from a two-stage GAN generator (stage II: cosine "
                              "to the clean features; mask L2 4.706)")
class AdvCloak(GeneratorMethod):
    name = "advcloak"
    loss = "cos"


@METHODS.register("advcloak-affinehull", "AdvCloak-AffineHull: stage II pushes features away from the affine hull "
                                         "of the person's clean features")
class AdvCloakAffineHull(GeneratorMethod):
    name = "advcloak-affinehull"
    loss = "affine"


@METHODS.register("advcloak-classcenter", "AdvCloak-ClassCenter: stage II pushes features away from the person's "
                                          "mean clean feature")
class AdvCloakClassCenter(GeneratorMethod):
    name = "advcloak-classcenter"
    loss = "center"


@METHODS.register("advcloak-convexhull", "AdvCloak-ConvexHull: stage II pushes features away from the convex hull "
                                         "of the person's clean features (class-center warm-up; cvxpy QP)")
class AdvCloakConvexHull(GeneratorMethod):
    name = "advcloak-convexhull"
    loss = "convex"
