"""Feature-subspace projections (spec A2.5, A6.6, C7): closed forms, their agreement with the cvxpy QP, and the
ordering d(affine) <= d(convex) <= d(center)."""
from __future__ import annotations

import pytest
import torch

from fpbench.methods.subspace import affine_weights, center_weights, distance, project, qp_weights, subspace_weights


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True)


def problem(seed: int, n: int = 10, d: int = 64, m: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centre = torch.randn(d, generator=g, dtype=torch.float64)
    A = unit(centre + 0.6 * torch.randn(n, d, generator=g, dtype=torch.float64))
    U = unit(centre + 0.8 * torch.randn(m, d, generator=g, dtype=torch.float64))
    return A, U


@pytest.mark.parametrize("seed", range(4))
def test_affine_closed_form_satisfies_the_kkt_conditions(seed):
    A, U = problem(seed)
    w = affine_weights(A, U)
    assert torch.allclose(w.sum(1), torch.ones(len(U), dtype=w.dtype), atol=1e-9)
    residual = w @ A - U  # stationarity: A (A^T w - u) is the same in every coordinate (= -nu/2)
    grad = residual @ A.T
    assert torch.allclose(grad, grad.mean(1, keepdim=True).expand_as(grad), atol=1e-9)


def test_affine_closed_form_handles_more_features_than_dimensions():
    A, U = problem(7, n=12, d=6)  # G = A A^T is singular
    w = affine_weights(A, U)
    assert torch.isfinite(w).all() and distance(A, U, "affine").max() < 1e-8  # 12 points span R^6


def test_center_weights_are_one_over_n():
    A, U = problem(1)
    assert torch.equal(center_weights(A, U), torch.full((5, 10), 0.1, dtype=A.dtype))
    assert torch.allclose(project(A, U, "center"), A.mean(0).expand(5, -1))


@pytest.mark.parametrize("seed", range(4))
def test_distances_are_ordered_affine_convex_center(seed):
    A, U = problem(seed)
    d_aff, d_conv, d_center = (distance(A, U, s) for s in ("affine", "convex", "center"))
    assert (d_aff <= d_conv + 1e-7).all() and (d_conv <= d_center + 1e-7).all()
    assert (d_conv < d_center - 1e-4).any()  # the hull is not the center: the ordering is not vacuous


@pytest.mark.parametrize("seed", range(3))
def test_cvxpy_agrees_with_the_closed_forms(seed):
    A, U = problem(seed)
    for lower, upper, closed in ((None, None, affine_weights), (0.1, 0.1, center_weights)):
        qp, exact = project_with(A, U, qp_weights(A, U, lower, upper)), project_with(A, U, closed(A, U))
        assert (qp - exact).abs().max() < 1e-6


def test_convex_hull_weights_lie_on_the_simplex_and_reduced_hulls_respect_their_bounds():
    A, U = problem(3)
    w = subspace_weights(A, U, "convex")
    assert (w >= -1e-8).all() and torch.allclose(w.sum(1), torch.ones(5, dtype=w.dtype), atol=1e-7)
    reduced = subspace_weights(A, U, "convex", lower=0.05, upper=0.2)
    assert (reduced >= 0.05 - 1e-7).all() and (reduced <= 0.2 + 1e-7).all()
    assert (distance(A, U, "convex", 0.05, 0.2) >= distance(A, U, "convex") - 1e-7).all()


def test_a_point_inside_the_convex_hull_is_at_distance_zero():
    A, _ = problem(5)
    w = torch.softmax(torch.randn(3, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64), 1)
    inside = w @ A
    assert distance(A, inside, "convex").max() < 1e-6 and distance(A, inside, "affine").max() < 1e-8


def test_unknown_subspace_is_refused():
    A, U = problem(0)
    with pytest.raises(ValueError, match="unknown subspace 'ball'"):
        subspace_weights(A, U, "ball")


def project_with(A: torch.Tensor, U: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return w.to(A) @ A
