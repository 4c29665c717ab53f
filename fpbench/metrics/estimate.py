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
    with np.errstate(invalid="ignore"):  # an infinite value (PSNR of an unchanged face) makes inf - inf
        lo, hi = bootstrap_interval(v, np.mean, n_boot=n_boot, seed=seed, level=level)
    return Estimate(float(v.mean()), lo, hi, int(v.size))


def rate_ci(successes: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Success rate of a 0/1 (or boolean) array with a percentile-bootstrap CI."""
    s = np.asarray(successes).reshape(-1)
    if s.size and not np.isin(s, (0, 1)).all():
        raise ValueError("successes must be booleans or 0/1 values")
    return mean_ci(s.astype(np.float64), n_boot=n_boot, seed=seed, level=level)


def clustered_rate_ci(
    successes: np.ndarray,
    clusters: np.ndarray,
    strata: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Success rate of 0/1 values whose CI resamples whole clusters (e.g. identities), not single values.

    Values of one cluster are correlated (probes of one person), so a row-level bootstrap would be too
    narrow. With ``strata`` (e.g. targets) the statistic is the mean over strata of each stratum's rate,
    and each resample draws clusters once for every stratum, which keeps their correlation too.
    """
    s = np.asarray(successes).reshape(-1)
    if s.size == 0:
        raise ValueError("cannot estimate a rate from zero samples")
    if not np.isin(s, (0, 1)).all():
        raise ValueError("successes must be booleans or 0/1 values")
    if len(clusters) != s.size or (strata is not None and len(strata) != s.size):
        raise ValueError("need one cluster (and stratum) per value")
    cluster_codes, cluster_index = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    strata_index = np.zeros(s.size, dtype=int) if strata is None else np.unique(np.asarray(strata, dtype=str), return_inverse=True)[1]
    shape = (len(cluster_codes), int(strata_index.max()) + 1)
    hits, counts = np.zeros(shape), np.zeros(shape)
    np.add.at(hits, (cluster_index, strata_index), s.astype(np.float64))
    np.add.at(counts, (cluster_index, strata_index), 1.0)

    def statistic(drawn: np.ndarray, axis: int = -1) -> np.ndarray:
        """Mean over strata of the pooled rate of the drawn clusters (``drawn``: cluster indices)."""
        idx = np.asarray(drawn).astype(int)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = hits[idx].sum(axis=-2) / counts[idx].sum(axis=-2)
        return np.nanmean(rates, axis=-1)

    all_clusters = np.arange(len(cluster_codes))
    lo, hi = bootstrap_interval(all_clusters, statistic, n_boot=n_boot, seed=seed, level=level)
    return Estimate(float(statistic(all_clusters)), lo, hi, int(s.size))
