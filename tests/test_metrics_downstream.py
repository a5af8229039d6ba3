"""Downstream task (benchmark/metrics/downstream.py): keys, known answers, the classifiers it names."""

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.metrics import downstream
from metrics_helpers import ground_truth, medium_grid


def test_keys_follow_the_reference_per_size_and_factor():
    grid = medium_grid()
    r = downstream.downstream_task(
        ground_truth(grid), grid, np.random.default_rng(0), num_train=(10, 200), num_test=100, n_jobs=1
    )
    k = grid.num_latents
    want = {
        f"{n}:{s}"
        for n in (10, 200)
        for s in ("mean_train_accuracy", "mean_test_accuracy", "min_train_accuracy", "min_test_accuracy")
    }
    want |= {f"{n}:{t}_accuracy_factor_{j}" for n in (10, 200) for t in ("train", "test") for j in range(k)}
    assert set(r) == want
    assert r["200:mean_test_accuracy"] == pytest.approx(np.mean([r[f"200:test_accuracy_factor_{j}"] for j in range(k)]))


def test_ground_truth_codes_are_predicted_exactly_and_noise_at_chance():
    grid = medium_grid()
    gt = ground_truth(grid)
    r = downstream.downstream_task(gt, grid, np.random.default_rng(0), num_train=(1000,), num_test=500)
    assert r["1000:min_test_accuracy"] == 1.0 and r["1000:min_train_accuracy"] == 1.0
    # codes that ignore the factors, on a grid large enough that train and test rarely share an image
    from benchmark.data.grid import FactorGrid

    grid = FactorGrid.build(["a", "b", "c", "d"], [3, 10, 20, 40], latent=(0, 1, 2, 3))
    noise = np.random.default_rng(1).normal(size=(grid.num_images, 4))
    r = downstream.downstream_task(noise, grid, np.random.default_rng(0), num_train=(1000,), num_test=2000)
    for j, size in enumerate(grid.latent_sizes):  # trees memorise the train sample, test stays at chance
        assert r[f"1000:test_accuracy_factor_{j}"] == pytest.approx(1 / size, abs=0.05)
        assert r[f"1000:train_accuracy_factor_{j}"] > 0.5


@pytest.mark.filterwarnings("ignore")  # scikit-learn's own convergence / future-default notices
def test_logistic_regression_cv_is_scikit_learns_with_the_reference_settings():
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    grid = medium_grid()
    codes = ground_truth(grid) + np.random.default_rng(2).normal(scale=0.7, size=(grid.num_images, 4)).astype(
        np.float32
    )
    samples = downstream.sample(grid, np.random.default_rng(0), num_train=(300,), num_test=200)
    r = downstream.downstream_task(
        codes,
        grid,
        np.random.default_rng(5),
        num_train=(300,),
        num_test=200,
        predictor="logistic_regression_cv",
        samples=samples,
    )
    (y_tr, i_tr), (y_te, i_te) = samples[0]
    for j in range(grid.num_latents):
        m = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5), scoring="accuracy").fit(codes[i_tr], y_tr[:, j])
        assert r[f"300:test_accuracy_factor_{j}"] == np.mean(m.predict(codes[i_te]) == y_te[:, j])
        assert r[f"300:train_accuracy_factor_{j}"] == np.mean(m.predict(codes[i_tr]) == y_tr[:, j])


def test_samples_are_drawn_size_after_size_train_then_test():
    grid = medium_grid()
    s = downstream.sample(grid, np.random.default_rng(0), num_train=(10, 20), num_test=30)
    rng = np.random.default_rng(0)
    from benchmark.metrics.utils import sample_points

    for n, (train, test) in zip((10, 20), s):
        for got, size in ((train, n), (test, 30)):
            want = sample_points(grid, size, rng, 16)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    assert len(downstream.indices(s)) == 10 + 30 + 20 + 30


def test_single_class_training_factor_and_bad_parameters():
    x = np.arange(12.0).reshape(6, 2)
    p_train, p_test = downstream._fit_predict("gbt", x, np.full(6, 3), x[:2], 0)
    assert (p_train == 3).all() and (p_test == 3).all()
    grid = medium_grid()
    gt = ground_truth(grid)
    with pytest.raises(BenchmarkError, match="unknown downstream predictor"):
        downstream.downstream_task(gt, grid, np.random.default_rng(0), predictor="svm")
    with pytest.raises(BenchmarkError, match="distinct positive integers"):
        downstream.downstream_task(gt, grid, np.random.default_rng(0), num_train=(10, 10))
    with pytest.raises(BenchmarkError, match="distinct positive integers"):
        downstream.downstream_task(gt, grid, np.random.default_rng(0), num_train=(0,))
