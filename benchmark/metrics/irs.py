"""Interventional Robustness Score (IRS), as disentanglement_lib computes it.

Suter, Miladinovic, Schoelkopf, Bauer, "Robustly Disentangled Causal Mechanisms: Validating Deep
Representations for Interventional Robustness", ICML 2019 (Definition 5 and its estimator, Algorithm
1). For code dimension d and factor i, the expected maximal deviation of z_d when factor i is held at
a value and every other factor varies,

    EMPD[d, i] = mean over the values v of factor i of  Q_q( |z_d - E[z_d | g_i = v]| over g_i = v ),

is compared with z_d's largest deviation over all samples, max_dev[d] = max |z_d - E[z_d]|:

    IRS[d, i] = 1 - EMPD[d, i] / max_dev[d],   score_d = max_i IRS[d, i],
    IRS = sum_d max_dev[d] score_d / sum_d max_dev[d].

The reference (``evaluation/metrics/irs.py``) uses the q = 0.99 quantile with
linear interpolation instead of the paper's maximum (q = 1), 10,000 fresh points, and groups by the
*factors* after the 20-bin histogram discretiser, so factors with more than 20 classes (dSprites'
orientation and positions) are grouped in merged bins. Code dimensions with zero variance are
dropped; with none left the score is 0. As the reference, everything is computed in the codes' own
dtype (float32 codes in float32): a constant float32 column whose float32 mean rounds off its value
has a variance of rounding size, not 0, so it is kept (float64 arithmetic would drop it and, for
codes that are all such columns, give 0 where the reference gives its rounding-noise score). Deliberate fix, as for the
FactorVAE score: the reference's
``num_active_dims`` is the sum of all entries of the retained codes; here it is the number of
retained dimensions.
"""

from __future__ import annotations

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics.utils import as_codes, histogram_discretize, sample_points

DEFAULTS = dict(num_train=10_000, batch_size=16, diff_quantile=0.99, num_bins=20)


def sample(grid, rng, num_train=10_000, batch_size=16, **_):
    return sample_points(grid, num_train, rng, batch_size)


def indices(samples) -> np.ndarray:
    return samples[1]


def irs_from_codes(
    codes_sample: np.ndarray, factors: np.ndarray, diff_quantile: float = 0.99, num_bins: int = 20
) -> dict:
    """IRS of a fixed labelled sample.

    Parameters
    ----------
    codes_sample : (n, D) float array
    factors : (n, K) int array of factor classes (discretised here into ``num_bins`` bins)
    diff_quantile : float in (0, 1]
        Quantile of the within-group deviations (0.99 as the reference; 1.0 is the paper's maximum).
    num_bins : int

    Returns
    -------
    dict with ``IRS`` and ``num_active_dims``.
    """
    if not 0.0 < float(diff_quantile) <= 1.0:
        raise BenchmarkError(f"irs: diff_quantile must lie in (0, 1], got {diff_quantile}")
    z = np.asarray(codes_sample)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    if z.ndim != 2 or factors.ndim != 2 or z.shape[0] != factors.shape[0]:
        raise BenchmarkError(
            f"irs: codes (n, D) and factors (n, K) must have the same n, got {z.shape} and {factors.shape}"
        )
    groups = histogram_discretize(factors, num_bins)
    z = z[:, z.var(axis=0) > 0]
    if z.shape[1] == 0:
        return {"IRS": 0.0, "num_active_dims": 0}
    max_dev = np.max(np.abs(z - z.mean(axis=0)), axis=0)
    empd = np.zeros((z.shape[1], factors.shape[1]))
    for i in range(factors.shape[1]):
        values = np.unique(groups[:, i])
        for v in values:
            zg = z[groups[:, i] == v]
            empd[:, i] += np.percentile(np.abs(zg - zg.mean(axis=0)), 100.0 * diff_quantile, axis=0)
        empd[:, i] /= len(values)
    per_code = (1.0 - empd / max_dev[:, None]).max(axis=1)
    return {"IRS": float(np.average(per_code, weights=max_dev)), "num_active_dims": int(z.shape[1])}


def irs(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: int = 10_000,
    batch_size: int = 16,
    diff_quantile: float = 0.99,
    num_bins: int = 20,
    samples=None,
) -> dict:
    """Interventional Robustness Score on ``num_train`` fresh points.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train : int
        Points sampled (10,000).
    batch_size : int
        Sampling chunk (16; only changes the interleaving of random draws).
    diff_quantile : float
        Quantile of the within-group deviations (0.99).
    num_bins : int
        Histogram bins for the factors (20).

    Returns
    -------
    dict with ``IRS`` and ``num_active_dims``.
    """
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, num_train, batch_size)
    factors, idx = samples
    return irs_from_codes(codes.get(idx), factors, diff_quantile, num_bins)
