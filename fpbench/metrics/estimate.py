"""Point estimates with seeded percentile-bootstrap confidence intervals."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Estimate:
    """A statistic over ``n`` samples with its confidence interval [lo, hi]."""

    value: float
    lo: float
    hi: float
    n: int

    def scaled(self, factor: float) -> "Estimate":
        """The same estimate in other units (e.g. ``scaled(100)`` for percent)."""
        return Estimate(self.value * factor, self.lo * factor, self.hi * factor, self.n)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.lo:.4g}, {self.hi:.4g}] (n={self.n})"


def bootstrap_interval(
    values: np.ndarray,
    statistic: Callable[..., np.ndarray],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(values, axis=-1)`` (vectorised), seeded.

    A single sample has no spread: the interval collapses to the statistic itself.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must lie in (0, 1), got {level}")
    if len(values) < 2:
        point = float(statistic(values, axis=-1))
        return point, point
    res = stats.bootstrap(
        (values,), statistic, n_resamples=n_boot, confidence_level=level, method="percentile",
        vectorized=True, rng=np.random.default_rng(seed), batch=max(1, 10_000_000 // len(values)),
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean of ``values`` with a percentile-bootstrap CI."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("cannot estimate a mean from zero samples")
    lo, hi = bootstrap_interval(v, np.mean, n_boot=n_boot, seed=seed, level=level)
    return Estimate(float(v.mean()), lo, hi, int(v.size))


def rate_ci(successes: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Success rate of a 0/1 (or boolean) array with a percentile-bootstrap CI."""
    s = np.asarray(successes).reshape(-1)
    if s.size and not np.isin(s, (0, 1)).all():
        raise ValueError("successes must be booleans or 0/1 values")
    return mean_ci(s.astype(np.float64), n_boot=n_boot, seed=seed, level=level)
