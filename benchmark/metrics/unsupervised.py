"""Unsupervised scores of a representation (no factor labels used).

Reference: ``disentanglement_lib/evaluation/metrics/unsupervised_metrics.py`` with
``unsupervised.gin``, on the codes of 10,000 fresh points, C = their sample
covariance (ddof 1):

* ``gaussian_total_correlation`` = KL(N(0, C) || N(0, diag C)) = 1/2 (sum_i log C_ii - log det C)
  (Watanabe 1960's total correlation of a Gaussian);
* ``gaussian_wasserstein_correlation`` = W_2^2(N(0, C), N(0, diag C))
  = 2 tr(C) - 2 tr(sqrtm(diag(C) C)) (Xiao et al. 2019 / Givens & Shortt 1984), real part of sqrtm;
* ``gaussian_wasserstein_correlation_norm`` = the previous / tr(C);
* ``mutual_info_score`` = mean off-diagonal plug-in MI (nats) between the 20-bin discretised codes.

Degenerate codes, as the reference: a dimension with zero sample variance makes the Gaussian total
correlation NaN (log 0 - log 0; the Gaussian has no density, so its total correlation is
undefined) and, if every dimension is constant, the normalised Wasserstein score NaN (0 / 0);
``evaluate`` stores NaN as null with a warning. (Codes of a collapsed latent of a trained model vary
a little and are scored normally; exact constants come from hand-made or raw-pixel codes.) The
Wasserstein score is computed over the dimensions with positive variance: a constant dimension
adds a zero row and column to diag(C) C, so the value is the reference's. If the covariance is
singular otherwise (e.g. two identical dimensions) the total correlation is genuinely infinite and
is returned as ``inf``. Deliberate, where the reference fails: a single code dimension (its 0-d
covariance) has no pairs, so all four scores are 0; fewer than 2 points have no sample covariance:
an error (the reference fails in ``sqrtm``).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from benchmark.errors import BenchmarkError
from benchmark.metrics.utils import as_codes, discrete_mutual_info, histogram_discretize, sample_points

DEFAULTS = dict(num_train=10_000, batch_size=16, num_bins=20)


def sample(grid, rng, num_train=10_000, batch_size=16, **_):
    return sample_points(grid, num_train, rng, batch_size)


def indices(samples) -> np.ndarray:
    return samples[1]


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """1/2 (sum log C_ii - log det C), exactly as the reference computes it.

    ``log det C`` is ``slogdet``'s log-magnitude whatever its sign: a nearly singular C whose
    determinant rounds to a negative number still gives a (large) finite value, an exactly singular
    one +inf, and a zero variance NaN (-inf - -inf).
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0: the reference's NaN, without numpy's warning
        _, logdet = np.linalg.slogdet(cov)
        return float(0.5 * (np.sum(np.log(np.diag(cov))) - logdet))


def gaussian_wasserstein_correlation(cov: np.ndarray) -> float:
    """2 tr(C) - 2 tr(sqrtm(diag(C) C)) over the dimensions with positive variance."""
    keep = np.diag(cov) > 0
    if not keep.any():
        return 0.0
    c = cov[np.ix_(keep, keep)]
    with warnings.catch_warnings():  # a singular C (duplicated dims) is legitimate; sqrtm still converges
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(c * np.diag(c)[:, None])
    return float(2 * np.trace(c) - 2 * np.trace(np.real(root)))


def unsupervised_scores(codes_sample: np.ndarray, num_bins: int = 20) -> dict:
    """The four scores of a fixed code sample ``(n, D)``."""
    n, d = codes_sample.shape
    if n < 2:
        raise BenchmarkError(f"unsupervised scores need at least 2 points for a sample covariance, got {n} (num_train)")
    cov = np.atleast_2d(np.cov(codes_sample, rowvar=False, ddof=1))
    trace = float(np.trace(cov))
    w = gaussian_wasserstein_correlation(cov)
    m = discrete_mutual_info(histogram_discretize(codes_sample, num_bins), histogram_discretize(codes_sample, num_bins))
    np.fill_diagonal(m, 0)
    return {
        "gaussian_total_correlation": gaussian_total_correlation(cov),
        "gaussian_wasserstein_correlation": w,
        "gaussian_wasserstein_correlation_norm": w / trace if trace > 0 else float("nan"),  # 0/0, as the reference
        "mutual_info_score": float(m.sum() / (d * d - d)) if d > 1 else 0.0,
    }


def unsupervised(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: int = 10_000,
    batch_size: int = 16,
    num_bins: int = 20,
    samples=None,
) -> dict:
    """Unsupervised scores of the codes of ``num_train`` fresh points.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train : int
        Points sampled (10,000).
    batch_size : int
        Sampling chunk (16).
    num_bins : int
        Histogram bins for the MI score (20).

    Returns
    -------
    dict with ``gaussian_total_correlation``, ``gaussian_wasserstein_correlation``,
    ``gaussian_wasserstein_correlation_norm``, ``mutual_info_score``.
    """
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, num_train, batch_size)
    return unsupervised_scores(codes.get(samples[1]), num_bins)
