"""Modularity and explicitness (Ridgeway & Mozer, "Learning Deep Disentangled Embeddings with the
F-Statistic Loss", NeurIPS 2018, Section 3).

Reference: ``disentanglement_lib/evaluation/metrics/modularity_explicitness.py``, 10,000 train and 5,000 separate test
points, 20 histogram bins.

* Modularity (paper eq. 4-5): MI matrix m (D x K) between discretised train codes and factors;
  for code i with theta_i = max_j m_ij^2, delta_i = (sum_j m_ij^2 - theta_i) / (theta_i (K - 1)),
  score_i = 1 - delta_i, and score_i = 0 for a dead code (theta_i = 0). ``modularity_score`` is
  the mean over all D codes. With a single factor (K = 1) delta_i = 0/0 for every live code, so the
  score is NaN, as the reference returns (0 if every code is dead).
* Explicitness: codes z-scored with the train mean/std (ddof 0; test reuses them); per factor a
  default ``LogisticRegression`` on all codes; ROC-AUC of its class probabilities against one-hot
  labels, macro-averaged over classes, on train and on test; mean over factors.

Deliberate fixes (where the reference crashes or mislabels): a code whose std is exactly 0 is
z-scored to 0 instead of divided by 0 (NaN); the one-hot labels use the classifier's classes on
both train and test (the reference refits the binariser on the test labels: with a class missing
from the test sample it raises, with a test class unseen in training its columns no longer match
the classifier's and its AUC pairs the wrong classes); a class absent from (or the only class of)
a sample has no ROC-AUC and is left out of the macro average; a factor with a single class in the
training sample scores 1 (the reference's classifier raises). A test sample holding a single class
has no ROC-AUC at all: NaN, as the reference returns for a binary factor (it raises for more
classes).
"""

from __future__ import annotations

import warnings

import numpy as np

from benchmark.metrics.utils import (
    as_codes,
    discrete_mutual_info,
    histogram_discretize,
    normalize_data,
    rng_int,
    sample_points,
)

DEFAULTS = dict(num_train=10_000, num_test=5_000, batch_size=16, num_bins=20, logreg_solver="lbfgs")


def sample(grid, rng, num_train=10_000, num_test=5_000, batch_size=16, **_):
    return sample_points(grid, num_train, rng, batch_size), sample_points(grid, num_test, rng, batch_size)


def indices(samples) -> np.ndarray:
    return np.concatenate([samples[0][1], samples[1][1]])


def modularity(mutual_information: np.ndarray) -> float:
    """Mean over codes of 1 - delta_i, dead codes scoring 0 (Ridgeway & Mozer eq. 4-5)."""
    sq = np.square(np.asarray(mutual_information, dtype=np.float64))
    k = sq.shape[1]
    theta = sq.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # dead codes are set to 0 below; K = 1: NaN
        delta = (sq.sum(axis=1) - theta) / (theta * (k - 1.0))
    score = np.where(theta > 0, 1.0 - delta, 0.0)
    return float(np.mean(score))


def _macro_auc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    aucs = []
    for c, cls in enumerate(classes):
        truth = y == cls
        if truth.all() or not truth.any():
            continue
        aucs.append(roc_auc_score(truth, proba[:, c]))
    return float(np.mean(aucs)) if aucs else float("nan")  # one class only: undefined (reference: NaN)


def explicitness_per_factor(x_train, y_train, x_test, y_test, seed=None, solver: str = "lbfgs"):
    """(train ROC-AUC, test ROC-AUC) of a default logistic regression predicting one factor."""
    from sklearn.exceptions import ConvergenceWarning

    from benchmark.metrics.beta_vae import make_logreg

    if len(np.unique(y_train)) < 2:
        return 1.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = make_logreg(solver, seed).fit(x_train, y_train)
    return (
        _macro_auc(y_train, clf.predict_proba(x_train), clf.classes_),
        _macro_auc(y_test, clf.predict_proba(x_test), clf.classes_),
    )


def modularity_explicitness(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    num_bins: int = 20,
    samples=None,
    logreg_solver: str = "lbfgs",
) -> dict:
    """Modularity and explicitness scores.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train, num_test : int
        Fresh train (10,000) and test (5,000) points.
    batch_size : int
        Sampling chunk (16).
    num_bins : int
        Histogram bins for the MI of the modularity score (20).
    logreg_solver : "lbfgs" | "liblinear"
        Explicitness classifier's solver: today's scikit-learn default or the 2018-19 study's
        (see :func:`benchmark.metrics.beta_vae.check_logreg_solver`).

    Returns
    -------
    dict with ``modularity_score``, ``explicitness_score_train``, ``explicitness_score_test``.
    """
    from benchmark.metrics.beta_vae import check_logreg_solver

    check_logreg_solver(logreg_solver)
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, num_train, num_test, batch_size)
    (y_train, i_train), (y_test, i_test) = samples
    x_train, x_test = codes.get(i_train), codes.get(i_test)
    mi = discrete_mutual_info(histogram_discretize(x_train, num_bins), y_train)
    xn_train, mean, std = normalize_data(x_train)
    xn_test, _, _ = normalize_data(x_test, mean, std)
    seed = rng_int(rng)
    scores = np.array(
        [
            explicitness_per_factor(xn_train, y_train[:, j], xn_test, y_test[:, j], seed, logreg_solver)
            for j in range(y_train.shape[1])
        ]
    )
    return {
        "modularity_score": modularity(mi),
        "explicitness_score_train": float(np.mean(scores[:, 0])),
        "explicitness_score_test": float(np.mean(scores[:, 1])),
    }
