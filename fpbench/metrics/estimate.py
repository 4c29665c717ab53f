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

    def shifted(self, offset: float) -> "Estimate":
        """The estimate plus a constant (e.g. a bound minus a rate: ``(-rate).shifted(25)``)."""
        return Estimate(self.value + offset, self.lo + offset, self.hi + offset, self.n)

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
    strata = np.zeros(s.size, dtype=int) if strata is None else np.asarray(strata)
    hits, counts, _ = _cluster_sums(s, clusters, strata)

    def statistic(drawn: np.ndarray, axis: int = -1) -> np.ndarray:
        """Mean over strata of the pooled rate of the drawn clusters (``drawn``: cluster indices)."""
        return np.nanmean(_pooled(hits, counts, drawn), axis=-1)

    return _cluster_bootstrap(statistic, len(hits), s.size, n_boot, seed, level)


def contrast_ci(
    values: np.ndarray,
    clusters: np.ndarray,
    strata: np.ndarray,
    weights: dict[str, float],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """A weighted sum of per-stratum means, sum_s w_s * mean(values of s), with a CI that resamples whole
    clusters jointly for every stratum (a paired comparison: e.g. strata = (method, target) cells over the same
    probes, clusters = identities; weights +1/n and -1/n give the difference of two methods' averages)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    strata = np.asarray(strata, dtype=str)
    if v.size == 0:
        raise ValueError("cannot estimate a contrast from zero samples")
    missing = sorted(set(weights) - set(strata))
    if missing:
        raise ValueError(f"no values for strata {missing}")
    sums, counts, codes = _cluster_sums(v, clusters, strata)
    w = np.array([weights.get(code, 0.0) for code in codes])

    def statistic(drawn: np.ndarray, axis: int = -1) -> np.ndarray:
        means = _pooled(sums, counts, drawn)
        return np.nansum(means * w, axis=-1)

    return _cluster_bootstrap(statistic, len(sums), v.size, n_boot, seed, level)


def _cluster_sums(values: np.ndarray, clusters: np.ndarray, strata: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (cluster, stratum): the sum and the count of ``values``; and the strata names in column order."""
    if len(clusters) != values.size or len(strata) != values.size:
        raise ValueError("need one cluster (and stratum) per value")
    cluster_codes, cluster_index = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    strata_codes, strata_index = np.unique(np.asarray(strata, dtype=str), return_inverse=True)
    shape = (len(cluster_codes), len(strata_codes))
    sums, counts = np.zeros(shape), np.zeros(shape)
    np.add.at(sums, (cluster_index, strata_index), values.astype(np.float64))
    np.add.at(counts, (cluster_index, strata_index), 1.0)
    return sums, counts, strata_codes


def _pooled(sums: np.ndarray, counts: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Per stratum, the pooled mean of the drawn clusters (``drawn``: cluster indices, any leading shape)."""
    idx = np.asarray(drawn).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums[idx].sum(axis=-2) / counts[idx].sum(axis=-2)


def _cluster_bootstrap(statistic, n_clusters: int, n: int, n_boot: int, seed: int, level: float) -> Estimate:
    all_clusters = np.arange(n_clusters)
    lo, hi = bootstrap_interval(all_clusters, statistic, n_boot=n_boot, seed=seed, level=level)
    return Estimate(float(statistic(all_clusters)), lo, hi, n)
