"""Mutual Information Gap, the reference's histogram estimator (``mig_histogram``).

Chen et al., "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018, eq. (6):
MIG = 1/K sum_k (I(z_{j(k)}; v_k) - I(z_{j'}; v_k)) / H(v_k), the gap between the two codes most
informative about factor k, normalised by the factor's entropy.

This is **not** Chen et al.'s estimator (which integrates q(z|x) over the whole dataset with
sampled z and normalises by log #values). It is disentanglement_lib's
(``evaluation/metrics/mig.py``, ``mig.gin``): 10,000 fresh points, encoder
*means* discretised into 20 equal-width bins per dimension, plug-in MI in nats against the raw
factor classes, normalised by the *empirical* entropy of the sampled factor. Key ``discrete_mig``.

A factor that takes a single value in the sample (a size-1 factor, or too few points) has entropy
0 and gap 0, so its term is 0/0 and MIG is NaN, as the reference returns (``evaluate`` stores it as
null with a warning).
"""

from __future__ import annotations

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics.utils import (
    as_codes,
    discrete_entropy,
    discrete_mutual_info,
    histogram_discretize,
    sample_points,
)

VARIANT = "mig_histogram"
DEFAULTS = dict(num_train=10_000, batch_size=16, num_bins=20)


def sample(grid, rng, num_train=10_000, batch_size=16, **_):
    return sample_points(grid, num_train, rng, batch_size)


def indices(samples) -> np.ndarray:
    return samples[1]


def mig_from_codes(codes_sample: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> dict:
    """MIG of a fixed labelled sample (the reference's ``mig_validation`` / ``_compute_mig``).

    Parameters
    ----------
    codes_sample : (n, D) float array
    factors : (n, K) int array of factor classes
    num_bins : int

    Returns
    -------
    dict with ``discrete_mig``.
    """
    if codes_sample.shape[1] < 2:
        raise BenchmarkError("MIG needs at least 2 code dimensions (it is a gap between the best two)")
    m = discrete_mutual_info(histogram_discretize(codes_sample, num_bins), factors)
    entropy = discrete_entropy(factors)
    top = np.sort(m, axis=0)[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):  # zero entropy: 0/0 = NaN, the reference's value
        return {"discrete_mig": float(np.mean((top[0] - top[1]) / entropy))}


def mig(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: int = 10_000,
    batch_size: int = 16,
    num_bins: int = 20,
    samples=None,
) -> dict:
    """Mutual Information Gap (histogram estimator) on ``num_train`` fresh points.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train : int
        Points sampled (10,000).
    batch_size : int
        Sampling chunk (16; only changes the interleaving of random draws).
    num_bins : int
        Histogram bins per code dimension (20).

    Returns
    -------
    dict with ``discrete_mig``.
    """
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, num_train, batch_size)
    factors, idx = samples
    return mig_from_codes(codes.get(idx), factors, num_bins)
