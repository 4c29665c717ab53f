"""Feature-subspace models of one identity (AdvCloak eq. 5-7, OPOM; spec A2.5) and projections onto them.

Given the unit features ``A`` (N x d) of a person's clean photos and a unit feature ``u``, the projection onto
a subspace S spanned by A is ``A^T w*`` with

    w* = argmin_w ||A^T w - u||^2   s.t.  1^T w = 1,  lower <= w <= upper

* affine hull (no bounds): the KKT system [[2G, 1], [1^T, 0]] [w; nu] = [2b; 1] with G = A A^T, b = A u,
  solved by least squares (G is singular when N exceeds the rank of A);
* class center (lower = upper = 1/N): w = 1/N;
* convex hull (lower = 0, upper = 1, or a reduced hull 0 <= lower < 1/N < upper <= 1): a QP, solved with
  cvxpy as the paper does (``cp.Problem(...).solve()`` per feature), with one parametrised problem per shape.

The weights are constants of the attack's loss (they are computed from detached features).
"""
from __future__ import annotations

from functools import lru_cache

import cvxpy as cp
import numpy as np
import torch

SUBSPACES = ("affine", "center", "convex")


def affine_weights(A: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    """Weights (M, N) of the projections of the rows of ``U`` (M, d) onto the affine hull of the rows of
    ``A`` (N, d), from the KKT system (closed form)."""
    A64, U64 = A.detach().double(), U.detach().double()
    n = A64.shape[0]
    kkt = torch.zeros(n + 1, n + 1, dtype=torch.float64)
    kkt[:n, :n] = 2 * A64 @ A64.T
    kkt[:n, n] = kkt[n, :n] = 1
    rhs = torch.cat([2 * A64 @ U64.T, torch.ones(1, U64.shape[0], dtype=torch.float64)])
    w = torch.linalg.lstsq(kkt, rhs, driver="gelsd").solution[:n].T
    return w.to(A.dtype)


def center_weights(A: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    """Weights (M, N) of the class center: 1/N each."""
    return torch.full((U.shape[0], A.shape[0]), 1.0 / A.shape[0], dtype=A.dtype)


def qp_weights(A: torch.Tensor, U: torch.Tensor, lower: float | None = 0.0, upper: float | None = 1.0,
               ) -> torch.Tensor:
    """Weights (M, N) of the bounded QP solved with cvxpy, one solve per row of ``U``; ``None`` bounds are
    absent (lower = upper = None is the affine hull, lower = upper = 1/N the class center)."""
    a = A.detach().double().numpy()
    problem, w, a_param, u_param = _problem(a.shape[0], a.shape[1], lower, upper)
    a_param.value = a.T
    out = []
    for u in U.detach().double().numpy():
        u_param.value = u
        problem.solve(solver=cp.CLARABEL)
        if w.value is None:
            raise RuntimeError(f"the subspace QP did not solve ({problem.status})")
        out.append(np.asarray(w.value))
    return torch.tensor(np.stack(out), dtype=A.dtype)


@lru_cache(maxsize=16)
def _problem(n: int, d: int, lower: float | None, upper: float | None):
    """One parametrised (DPP) problem per shape and bounds, so that re-solving only swaps the data."""
    w = cp.Variable(n)
    a_t, u = cp.Parameter((d, n)), cp.Parameter(d)
    constraints = [cp.sum(w) == 1]
    if lower is not None:
        constraints.append(w >= lower)
    if upper is not None:
        constraints.append(w <= upper)
    return cp.Problem(cp.Minimize(cp.sum_squares(a_t @ w - u)), constraints), w, a_t, u


def subspace_weights(A: torch.Tensor, U: torch.Tensor, subspace: str, lower: float = 0.0,
                     upper: float = 1.0) -> torch.Tensor:
    """Weights (M, N) of the projections of ``U`` onto ``subspace`` ("affine", "center", "convex") of ``A``;
    ``lower``/``upper`` bound the convex hull's weights (a reduced hull when tighter than [0, 1])."""
    if subspace == "affine":
        return affine_weights(A, U)
    if subspace == "center":
        return center_weights(A, U)
    if subspace == "convex":
        return qp_weights(A, U, lower, upper)
    raise ValueError(f"unknown subspace {subspace!r}; known: {', '.join(SUBSPACES)}")


def project(A: torch.Tensor, U: torch.Tensor, subspace: str, lower: float = 0.0, upper: float = 1.0) -> torch.Tensor:
    """The projections (M, d) of the rows of ``U`` onto the subspace of the rows of ``A`` (a constant)."""
    return subspace_weights(A, U, subspace, lower, upper).to(A) @ A.detach()


def distance(A: torch.Tensor, U: torch.Tensor, subspace: str, lower: float = 0.0, upper: float = 1.0) -> torch.Tensor:
    """Euclidean distances (M,) of the rows of ``U`` to the subspace of the rows of ``A``."""
    return (project(A, U, subspace, lower, upper) - U).norm(dim=1)


__all__ = ["SUBSPACES", "affine_weights", "center_weights", "distance", "project", "qp_weights", "subspace_weights"]
