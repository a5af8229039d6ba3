"""SAP score, Separated Attribute Predictability (Kumar, Sattigeri & Balakrishnan, "Variational
Inference of Disentangled Latent Concepts from Unlabeled Observations", ICLR 2018, Section 3).

Reference: ``disentanglement_lib/evaluation/metrics/sap_score.py`` with ``sap_score.gin``. Score matrix S (D x K), then
SAP = mean over factors of the gap between
the largest and second-largest S_ij over codes. Key ``SAP_score``.

* discrete factors (the study setting, default): S_ij = test accuracy of
  ``LinearSVC(C=0.01, class_weight="balanced")`` fitted on the single feature z_i of 10,000 train
  points to predict factor j, scored on 5,000 fresh test points. Note: scikit-learn 1.3 changed
  LinearSVC's ``dual`` default from True to ``"auto"`` (here: the primal solver, since there are far
  more samples than the one feature); both solve the same convex problem, so S moves only within
  the solver tolerance. We keep the current default and record the sklearn version.
* continuous: S_ij = cov(z_i, y_j)^2 / (var z_i var y_j) (ddof 1), 0 where var z_i <= 1e-12.

A factor with a single value in the training sample (a size-1 factor, or too few points):
continuously its S_ij = 0/0 = NaN, so SAP is NaN, as the reference returns; discretely the
reference's LinearSVC raises (one class), where we score the constant predictor of that value
(test accuracy; deliberate, so that the other factors still get a score).
"""

from __future__ import annotations

import warnings

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics.utils import as_codes, sample_points

DEFAULTS = dict(num_train=10_000, num_test=5_000, batch_size=16, continuous_factors=False)


def sample(grid, rng, num_train=10_000, num_test=5_000, batch_size=16, **_):
    return sample_points(grid, num_train, rng, batch_size), sample_points(grid, num_test, rng, batch_size)


def indices(samples) -> np.ndarray:
    return np.concatenate([samples[0][1], samples[1][1]])


def score_matrix(x_train, y_train, x_test, y_test, continuous_factors: bool = False) -> np.ndarray:
    """S (D x K) as described in the module docstring."""
    d, k = x_train.shape[1], y_train.shape[1]
    s = np.zeros((d, k))
    if continuous_factors:
        for i in range(d):
            for j in range(k):
                cov = np.cov(x_train[:, i], y_train[:, j], ddof=1)
                var_z, var_y = cov[0, 0], cov[1, 1]
                with np.errstate(divide="ignore", invalid="ignore"):  # var_y = 0: NaN, as the reference
                    s[i, j] = cov[0, 1] ** 2 / (var_z * var_y) if var_z > 1e-12 else 0.0
        return s
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    for i in range(d):
        for j in range(k):
            if len(np.unique(y_train[:, j])) < 2:
                s[i, j] = float(np.mean(y_test[:, j] == y_train[0, j]))  # one class: the constant predictor
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf = LinearSVC(C=0.01, class_weight="balanced").fit(x_train[:, i : i + 1], y_train[:, j])
            s[i, j] = float(np.mean(clf.predict(x_test[:, i : i + 1]) == y_test[:, j]))
    return s


def avg_gap_top_two(matrix: np.ndarray) -> float:
    """Mean over columns of (largest - second largest) entry."""
    if matrix.shape[0] < 2:
        raise BenchmarkError("SAP needs at least 2 code dimensions (it is a gap between the best two)")
    top = np.sort(matrix, axis=0)
    return float(np.mean(top[-1] - top[-2]))


def sap_score(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    continuous_factors: bool = False,
    samples=None,
) -> dict:
    """SAP score.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train, num_test : int
        Fresh train (10,000) and test (5,000) points.
    batch_size : int
        Sampling chunk (16).
    continuous_factors : bool
        Use the R^2 variant instead of per-dimension classifiers (False in the study).

    Returns
    -------
    dict with ``SAP_score``.
    """
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, num_train, num_test, batch_size)
    (y_train, i_train), (y_test, i_test) = samples
    s = score_matrix(codes.get(i_train), y_train, codes.get(i_test), y_test, continuous_factors)
    return {"SAP_score": avg_gap_top_two(s)}
