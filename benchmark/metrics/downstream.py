"""Downstream classification task: how well a small classifier predicts each factor from the codes.

Locatello et al., "Challenging Common Assumptions in the Unsupervised Learning of Disentangled
Representations", ICML 2019, Section 5 (sample efficiency of downstream learning), as
disentanglement_lib computes it (``evaluation/metrics/downstream_task.py``, study configs
``downstream_task_boosted_trees.gin`` and ``downstream_task_logistic_regression.gin``): for each training size n in (10,
100, 1,000, 10,000), a fresh train sample
of n points and a fresh test sample of 5,000 (drawn in that order, size after size); per latent
factor, one classifier fitted on the raw codes (no normalisation); its accuracy on both samples.

Predictors (the ``predictor`` argument):

``"gbt"``
    ``GradientBoostingClassifier()`` with scikit-learn's defaults, run by :mod:`benchmark.metrics.gbt`
    (the same algorithm, several times faster; see :mod:`benchmark.metrics.dci`).
``"logistic_regression_cv"``
    ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`` (no shuffling), scikit-learn's defaults
    otherwise (lbfgs, multinomial in scikit-learn 1.9); model selection by accuracy, the reference's
    default, pinned because scikit-learn 1.11 changes the default to log-loss.

Keys, per size n (as the reference): ``n:mean_train_accuracy``, ``n:mean_test_accuracy``,
``n:min_train_accuracy``, ``n:min_test_accuracy``, ``n:train_accuracy_factor_i``,
``n:test_accuracy_factor_i`` (i = latent factor position). Deviation: a factor that takes a single
value in a (tiny) training sample gets the constant prediction, where the reference's classifiers
raise an error.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics.utils import as_codes, rng_int, sample_points

PREDICTORS = ("gbt", "logistic_regression_cv")
DEFAULTS = dict(num_train=(10, 100, 1_000, 10_000), num_test=5_000, batch_size=16)


def _sizes(num_train) -> tuple[int, ...]:
    sizes = (num_train,) if isinstance(num_train, (int, np.integer)) else tuple(num_train)
    if not sizes or any(int(n) != n or n < 1 for n in sizes) or len(set(sizes)) != len(sizes):
        raise BenchmarkError(f"downstream task: num_train must be distinct positive integers, got {num_train!r}")
    return tuple(int(n) for n in sizes)


def sample(grid, rng, num_train=DEFAULTS["num_train"], num_test=5_000, batch_size=16, **_):
    """For each size: (train factors, train indices), (test factors, test indices), in the reference's order."""
    return [
        (sample_points(grid, n, rng, batch_size), sample_points(grid, num_test, rng, batch_size))
        for n in _sizes(num_train)
    ]


def indices(samples) -> np.ndarray:
    return np.concatenate([np.concatenate([tr[1], te[1]]) for tr, te in samples])


def _fit_predict(predictor: str, x_train, y_train, x_test, seed: int):
    """Predictions of one factor's classifier on the train and the test codes."""
    classes = np.unique(y_train)
    if len(classes) == 1:
        return np.full(len(x_train), classes[0]), np.full(len(x_test), classes[0])
    if predictor == "gbt":
        from benchmark.metrics.gbt import fit_gradient_boosting

        model = fit_gradient_boosting(x_train, y_train, np.random.default_rng(seed))
        return model.predict(), model.predict(x_test)
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    with warnings.catch_warnings():
        # the reference runs sklearn's defaults and reports what it gets; tiny folds miss classes;
        # scikit-learn 1.9 announces default changes (scoring, l1_ratios) that the pinned
        # scoring="accuracy" (the reference's default) keeps out
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        model = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5), scoring="accuracy").fit(x_train, y_train)
    return model.predict(x_train), model.predict(x_test)


def _accuracies(predictor, x_train, y_train, x_test, y_test, seed):
    p_train, p_test = _fit_predict(predictor, x_train, y_train, x_test, seed)
    return float(np.mean(p_train == y_train)), float(np.mean(p_test == y_test))


def downstream_task(
    codes,
    grid,
    rng: np.random.Generator,
    num_train: Sequence[int] = DEFAULTS["num_train"],
    num_test: int = 5_000,
    batch_size: int = 16,
    predictor: str = "gbt",
    n_jobs: int | None = None,
    samples=None,
) -> dict:
    """Per-factor classification accuracy from the codes at several training-set sizes.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    num_train : sequence of int
        Training-set sizes (10, 100, 1,000, 10,000).
    num_test : int
        Fresh test points per size (5,000).
    batch_size : int
        Sampling chunk (16).
    predictor : "gbt" | "logistic_regression_cv"
    n_jobs : int, optional
        Classifiers fitted in parallel (default: all cores).

    Returns
    -------
    dict with the reference's keys (see the module docstring).
    """
    from joblib import Parallel, delayed

    if predictor not in PREDICTORS:
        raise BenchmarkError(f"unknown downstream predictor {predictor!r}; choose one of {', '.join(PREDICTORS)}")
    sizes = _sizes(num_train)
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, sizes, num_test, batch_size)
    jobs = []
    for n, ((y_tr, i_tr), (y_te, i_te)) in zip(sizes, samples):
        x_tr, x_te = codes.get(i_tr), codes.get(i_te)
        for j in range(y_tr.shape[1]):
            jobs.append((n, j, x_tr, y_tr[:, j], x_te, y_te[:, j], rng_int(rng)))
    n_jobs = min(n_jobs or os.cpu_count() or 1, len(jobs))
    # NumPy gbt in processes (its array operations contend for the GIL; see dci.importance_matrix),
    # scikit-learn in threads; the largest fits start first
    backend = "loky" if predictor == "gbt" and n_jobs > 1 else "threading"
    order = sorted(range(len(jobs)), key=lambda k: -jobs[k][0] * len(np.unique(jobs[k][3])))
    results = Parallel(n_jobs=n_jobs, backend=backend)(delayed(_accuracies)(predictor, *jobs[k][2:]) for k in order)
    acc = {(jobs[k][0], jobs[k][1]): r for k, r in zip(order, results)}
    scores: dict = {}
    for n, ((y_tr, _), _) in zip(sizes, samples):
        train = [acc[(n, j)][0] for j in range(y_tr.shape[1])]
        test = [acc[(n, j)][1] for j in range(y_tr.shape[1])]
        scores[f"{n}:mean_train_accuracy"] = float(np.mean(train))
        scores[f"{n}:mean_test_accuracy"] = float(np.mean(test))
        scores[f"{n}:min_train_accuracy"] = float(np.min(train))
        scores[f"{n}:min_test_accuracy"] = float(np.min(test))
        for j in range(len(train)):
            scores[f"{n}:train_accuracy_factor_{j}"] = train[j]
            scores[f"{n}:test_accuracy_factor_{j}"] = test[j]
    return scores
