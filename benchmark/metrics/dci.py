"""DCI: disentanglement, completeness, informativeness (Eastwood & Williams, "A Framework for the
Quantitative Evaluation of Disentangled Representations", ICLR 2018, Section 3).

Reference: ``disentanglement_lib/evaluation/metrics/dci.py`` with ``dci.gin``. Unlike the paper (Lasso / random-forest
*regressors*), the reference fits one
gradient-boosted *classifier* per factor on the codes of 10,000 fresh points and reads the
importance matrix R (D x K) from its impurity-based ``feature_importances_``:

* disentanglement (paper eq. 2): for code i, P_i = R[i, :] + 1e-11 renormalised,
  D_i = 1 - H_K(P_i) (entropy with log base K); weighted by rho_i = R[i, :].sum() / R.sum()
  (uniform weights if R is all zero);
* completeness (paper eq. 3): for factor j, C_j = 1 - H_D(R[:, j] + 1e-11 renormalised), weighted by
  the column sums;
* informativeness: mean classification *accuracy* over factors on the train sample and on a
  separate fresh test sample of 5,000 points (higher is better, despite the name).

With a single factor (K = 1) the entropy of base 1 is 0/0, so disentanglement is NaN; with a single
code (D = 1) completeness is NaN: the reference's values (scipy's ``entropy(..., base=1)``).

Variants (the ``variant`` argument; both name themselves in results):

``"gbt"`` (default, the reference's classifier)
    ``GradientBoostingClassifier()``'s algorithm with scikit-learn's defaults (100 stages, depth 3,
    learning rate 0.1, log-loss, subsample 1), run by :mod:`benchmark.metrics.gbt`: the same
    trees, leaf values, importances and predictions as scikit-learn to float64 rounding, several
    times faster (each feature sorted once; the K trees of a stage grown together). Splits on
    different features that score bit-identically are chosen at random, as scikit-learn does (it
    visits features in a random order per node); the choice is seeded from the metric rng, so
    repeated runs are bit-identical (the reference passes no seed, so its own runs differ).
    Known limitation: splits that tie only in exact arithmetic (two features cutting off the same
    samples, often mirror images) are decided by float rounding, and our sums round differently
    from scikit-learn's, so the two credit such ties to different features in a systematic way:
    disentanglement and completeness come out up to ~0.005 *lower* than with scikit-learn's
    classifier, about the reference's own seed-to-seed spread; informativeness is unaffected
    (measurements: docs/performance.md). For scores to compare with reference DCI numbers to better
    than that, use ``"gbt_sklearn"`` (the metric ``dci_sklearn``), which is slower.
    Factors are fitted in parallel (``n_jobs`` processes).
``"gbt_sklearn"`` (the reference's classifier itself)
    ``sklearn.ensemble.GradientBoostingClassifier(random_state=seed)``, factors in parallel
    threads: the reference's exact procedure and score distribution (the reference leaves the
    seed unset).
``"hist_gbt"`` (fast, declared)
    ``sklearn.ensemble.HistGradientBoostingClassifier`` with the same boosting hyper-parameters
    (100 iterations, learning rate 0.1, max depth 3, min 1 sample per leaf, no early stopping),
    features binned into 255 quantile bins; one OpenMP thread per fit and factors in parallel.
    It has no ``feature_importances_``: R[:, j] is the total split gain of each feature over all
    trees (the gradient-boosting analogue of the impurity decrease), normalised to sum 1.
    Much faster per fit (docs/performance.md); scores are close to but not identical with ``gbt``.
"""

from __future__ import annotations

import os

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics.utils import as_codes, rng_int, sample_points

DEFAULTS = dict(num_train=10_000, num_test=5_000, batch_size=16)
VARIANTS = ("gbt", "gbt_sklearn", "hist_gbt")


def sample(grid, rng, num_train=10_000, num_test=5_000, batch_size=16, **_):
    """Train points, then a separate fresh test sample (two ``generate_batch_factor_code`` calls)."""
    return sample_points(grid, num_train, rng, batch_size), sample_points(grid, num_test, rng, batch_size)


def indices(samples) -> np.ndarray:
    return np.concatenate([samples[0][1], samples[1][1]])


# --------------------------------------------------------------------------------------------------
# Scores of an importance matrix
# --------------------------------------------------------------------------------------------------
def _one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """1 - H_base of each column of the non-negative matrix ``p`` after +1e-11 and renormalising."""
    p = p + 1e-11
    p = p / p.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # base 1 (one code or factor): 0/0 = NaN, as the reference
        return 1.0 - (-(p * np.log(p)).sum(axis=0) / np.log(base))


def disentanglement(importance: np.ndarray) -> float:
    """Importance-weighted mean over codes of 1 - H_K(P_i) (Eastwood & Williams eq. 2)."""
    importance = np.asarray(importance, dtype=np.float64)
    per_code = _one_minus_entropy(importance.T, importance.shape[1])
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    weights = importance.sum(axis=1) / importance.sum()
    return float(np.sum(per_code * weights))


def completeness(importance: np.ndarray) -> float:
    """Importance-weighted mean over factors of 1 - H_D(R[:, j]) (Eastwood & Williams eq. 3)."""
    importance = np.asarray(importance, dtype=np.float64)
    per_factor = _one_minus_entropy(importance, importance.shape[0])
    if importance.sum() == 0.0:
        importance = np.ones_like(importance)
    weights = importance.sum(axis=0) / importance.sum()
    return float(np.sum(per_factor * weights))


# --------------------------------------------------------------------------------------------------
# Importance matrix
# --------------------------------------------------------------------------------------------------
def _fit_gbt(x_train, y_train, x_test, y_test, seed):
    from benchmark.metrics.gbt import fit_gradient_boosting

    model = fit_gradient_boosting(x_train, y_train, np.random.default_rng(seed))
    return (
        np.abs(model.feature_importances),
        float(np.mean(model.predict() == y_train)),
        float(np.mean(model.predict(x_test) == y_test)),
    )


def _fit_gbt_sklearn(x_train, y_train, x_test, y_test, seed):
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(random_state=seed).fit(x_train, y_train)
    return (
        np.abs(model.feature_importances_),
        float(np.mean(model.predict(x_train) == y_train)),
        float(np.mean(model.predict(x_test) == y_test)),
    )


def _hist_gain_importance(model, num_features: int) -> np.ndarray:
    predictors = getattr(model, "_predictors", None)
    if predictors is None:  # pragma: no cover - guards a private sklearn attribute
        raise BenchmarkError("this scikit-learn version exposes no HistGradientBoosting trees; use DCI variant 'gbt'")
    gain = np.zeros(num_features)
    for stage in predictors:
        for tree in stage:
            nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool)]
            np.add.at(gain, nodes["feature_idx"].astype(np.int64), np.maximum(nodes["gain"], 0.0))
    total = gain.sum()
    return gain / total if total > 0 else gain


def _fit_hist_gbt(x_train, y_train, x_test, y_test, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):  # parallelism comes from fitting factors side by side
        model = HistGradientBoostingClassifier(
            max_iter=100,
            learning_rate=0.1,
            max_depth=3,
            max_leaf_nodes=None,
            min_samples_leaf=1,
            early_stopping=False,
            random_state=seed,
        ).fit(x_train, y_train)
        return (
            _hist_gain_importance(model, x_train.shape[1]),
            float(np.mean(model.predict(x_train) == y_train)),
            float(np.mean(model.predict(x_test) == y_test)),
        )


def importance_matrix(x_train, y_train, x_test, y_test, rng, variant="gbt", n_jobs=None):
    """Fit one classifier per factor; returns ``(R (D, K), train accuracies (K,), test accuracies (K,))``."""
    from joblib import Parallel, delayed

    if variant not in VARIANTS:
        raise BenchmarkError(f"unknown DCI variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    fit = {"gbt": _fit_gbt, "gbt_sklearn": _fit_gbt_sklearn, "hist_gbt": _fit_hist_gbt}[variant]
    k = y_train.shape[1]
    seeds = [rng_int(rng) for _ in range(k)]
    # Most classes first: a factor's fit time grows with its number of classes (one tree per class per
    # stage), so the longest fits start first and the threads finish together.
    order = sorted(range(k), key=lambda j: -len(np.unique(y_train[:, j])))
    n_jobs = n_jobs or os.cpu_count() or 1
    # NumPy gbt: processes, since its many array operations contend for the GIL (docs/performance.md).
    # scikit-learn releases the GIL in its tree builder, so threads suffice there.
    backend = "loky" if variant == "gbt" and min(n_jobs, k) > 1 else "threading"
    results = Parallel(n_jobs=min(n_jobs, k), backend=backend)(
        delayed(fit)(x_train, y_train[:, j], x_test, y_test[:, j], seeds[j]) for j in order
    )
    r = np.zeros((x_train.shape[1], k))
    train_acc, test_acc = np.zeros(k), np.zeros(k)
    for j, (imp, a_tr, a_te) in zip(order, results):
        r[:, j], train_acc[j], test_acc[j] = imp, a_tr, a_te
    return r, train_acc, test_acc


def dci(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: int = 10_000,
    num_test: int = 5_000,
    batch_size: int = 16,
    variant: str = "gbt",
    n_jobs: int | None = None,
    samples=None,
) -> dict:
    """DCI disentanglement, completeness and informativeness.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train, num_test : int
        Fresh points for fitting (10,000) and for test accuracy (5,000).
    batch_size : int
        Sampling chunk (16).
    variant : "gbt" | "gbt_sklearn" | "hist_gbt"
    n_jobs : int, optional
        Factors fitted in parallel (default: all cores).

    Returns
    -------
    dict with ``disentanglement``, ``completeness``, ``informativeness_train``,
    ``informativeness_test``, and ``importance_matrix`` (D x K nested list, for inspection).
    """
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, num_train, num_test, batch_size)
    (y_train, i_train), (y_test, i_test) = samples
    x_train, x_test = codes.get(i_train), codes.get(i_test)
    r, train_acc, test_acc = importance_matrix(x_train, y_train, x_test, y_test, rng, variant, n_jobs)
    return {
        "disentanglement": disentanglement(r),
        "completeness": completeness(r),
        "informativeness_train": float(np.mean(train_acc)),
        "informativeness_test": float(np.mean(test_acc)),
        "importance_matrix": r.tolist(),
    }
