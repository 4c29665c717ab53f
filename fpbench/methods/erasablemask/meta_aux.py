"""Meta-auxiliary attack (Algorithm 1, eq. 9-11): each surrogate in turn is the primary task; one inner
step on it gives theta'_E, and the other surrogates judge the images generated with theta'_E."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

from ...zoo.model import FaceModel
from .losses import impersonation_loss

Params = Mapping[str, torch.Tensor]


class AdaptiveWeights:
    """Self-adaptive surrogate weights of eq. 11 from per-epoch mean losses.

    ``rate_i(t) = mean L_i{t-1} / mean L_i{t-2}`` and ``w_i(t) = exp(softmax(rate(t))_i)``, with the history
    initialised to L{0} = L{1} = 1 (Algorithm 1, line 1).
    """

    def __init__(self, k: int) -> None:
        self.history: list[list[float]] = [[1.0] * k, [1.0] * k]
        self._sum = [0.0] * k
        self._count = 0

    def weights(self) -> torch.Tensor:
        rate = torch.tensor(self.history[-1], dtype=torch.float64) / torch.tensor(self.history[-2], dtype=torch.float64)
        return torch.exp(torch.softmax(rate, dim=0)).float()

    def record(self, losses: Sequence[float]) -> None:
        """Add one step's per-surrogate losses to the running epoch mean."""
        self._sum = [s + float(v) for s, v in zip(self._sum, losses)]
        self._count += 1

    def end_epoch(self) -> None:
        """Close epoch t: its mean losses become L{t} (no-op if nothing was recorded)."""
        if self._count:
            self.history.append([s / self._count for s in self._sum])
        self._sum = [0.0] * len(self._sum)
        self._count = 0

    def state_dict(self) -> dict:
        return {"history": [list(h) for h in self.history], "sum": list(self._sum), "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        self.history = [list(h) for h in state["history"]]
        self._sum = list(state["sum"])
        self._count = int(state["count"])


def meta_auxiliary_losses(
    x_seen: torch.Tensor,
    regenerate: Callable[[Params], torch.Tensor],
    params: Params,
    surrogates: Sequence[FaceModel],
    target_embs: Sequence[torch.Tensor],
    weights: torch.Tensor,
    inner_lr: float,
    second_order: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-surrogate primary losses (eq. 9) and auxiliary losses (eq. 10), each of shape (K,).

    ``x_seen`` is the protected batch as the surrogates see it (canonical [0, 1], after the noise pool),
    generated with ``params`` (theta_E); ``regenerate(theta'_E)`` produces it again with other weights.
    With ``second_order`` the inner step keeps its graph, so the auxiliary loss differentiates through
    theta'_E = theta_E - lr * grad L_pri (a double gradient); otherwise the inner gradient is detached.
    """
    k = len(surrogates)
    pri = torch.stack([impersonation_loss(fr(x_seen), t) for fr, t in zip(surrogates, target_embs)])
    if k == 1:  # no auxiliary task
        return pri, torch.zeros_like(pri)
    names = list(params)
    aux = []
    for p in range(k):
        grads = torch.autograd.grad(pri[p], [params[n] for n in names], create_graph=second_order, retain_graph=True)
        inner = {n: params[n] - inner_lr * (g if second_order else g.detach()) for n, g in zip(names, grads)}
        x_prime = regenerate(inner)
        terms = [
            weights[i] * impersonation_loss(surrogates[i](x_prime), target_embs[i]) for i in range(k) if i != p
        ]
        aux.append(torch.stack(terms).sum() / (k - 1))
    return pri, torch.stack(aux)
