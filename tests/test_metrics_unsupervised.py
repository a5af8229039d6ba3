import numpy as np
import pytest

from benchmark.metrics import unsupervised as u
from metrics_helpers import ground_truth, small_grid


def test_gaussian_scores_on_known_covariances():
    assert u.gaussian_total_correlation(np.diag([1.0, 4.0])) == pytest.approx(0.0)
    rho = 0.6
    c = np.array([[1.0, rho], [rho, 1.0]])
    assert u.gaussian_total_correlation(c) == pytest.approx(-0.5 * np.log(1 - rho**2))
    # diag(C) C = C here; tr sqrtm(C) = sqrt(1 + rho) + sqrt(1 - rho)
    assert u.gaussian_wasserstein_correlation(c) == pytest.approx(4 - 2 * (np.sqrt(1 + rho) + np.sqrt(1 - rho)))
    assert u.gaussian_wasserstein_correlation(np.diag([2.0, 3.0])) == pytest.approx(0.0, abs=1e-12)


def test_constant_dimensions_give_the_references_nan_and_singular_is_infinite():
    # values of disentanglement_lib's gaussian_total_correlation / gaussian_wasserstein_correlation on
    # these matrices (computed with the reference): nan, nan, inf; 0.20526680779794493, 0.0
    c = np.array([[1.0, 0.6, 0], [0.6, 1.0, 0], [0, 0, 0.0]])
    assert np.isnan(u.gaussian_total_correlation(c))
    assert np.isnan(u.gaussian_total_correlation(np.zeros((3, 3))))
    assert u.gaussian_total_correlation(np.ones((2, 2))) == float("inf")
    assert u.gaussian_wasserstein_correlation(c) == pytest.approx(0.20526680779794493, rel=1e-12)
    assert u.gaussian_wasserstein_correlation(np.zeros((3, 3))) == 0.0
    # all codes constant: the normalised Wasserstein score is 0/0 in the reference
    s = u.unsupervised_scores(np.ones((30, 3)))
    assert np.isnan(s["gaussian_total_correlation"]) and np.isnan(s["gaussian_wasserstein_correlation_norm"])
    assert s["gaussian_wasserstein_correlation"] == 0.0 and s["mutual_info_score"] == 0.0


def test_total_correlation_uses_the_log_magnitude_of_a_negative_determinant_as_the_reference():
    # an almost-duplicated code whose covariance determinant rounds below zero: the reference takes
    # slogdet's log|det| whatever the sign, giving a large finite TC (not inf)
    c = np.array([[1.0, 1.0 + 1e-9], [1.0 + 1e-9, 1.0]])
    sign, logabs = np.linalg.slogdet(c)
    assert sign < 0
    tc = u.gaussian_total_correlation(c)
    assert np.isfinite(tc) and tc == pytest.approx(-0.5 * logabs) and tc > 9


def test_mutual_info_score_is_mean_off_diagonal():
    x = np.repeat(np.arange(4.0), 5)
    codes = np.column_stack([x, x, np.zeros(20)])  # MI(0,1) = ln 4; everything with the constant is 0
    s = u.unsupervised_scores(codes)
    assert s["mutual_info_score"] == pytest.approx(2 * np.log(4) / 6)
    assert s["gaussian_wasserstein_correlation_norm"] == pytest.approx(
        s["gaussian_wasserstein_correlation"] / np.trace(np.cov(codes, rowvar=False))
    )


def test_independent_factors_have_small_correlation():
    g = small_grid()
    s = u.unsupervised(ground_truth(g), g, np.random.default_rng(0), num_train=2000)
    assert s["gaussian_total_correlation"] < 0.01 and s["mutual_info_score"] < 0.02


def test_one_code_scores_zero_and_one_point_is_refused():
    from benchmark.errors import BenchmarkError

    # the reference fails on both (np.cov of one code is 0-d; one point has no covariance)
    x = np.random.default_rng(0).normal(size=(50, 1))
    assert u.unsupervised_scores(x) == {
        "gaussian_total_correlation": 0.0,
        "gaussian_wasserstein_correlation": 0.0,
        "gaussian_wasserstein_correlation_norm": 0.0,
        "mutual_info_score": 0.0,
    }
    with pytest.raises(BenchmarkError, match="at least 2 points"):
        u.unsupervised_scores(np.ones((1, 3)))
