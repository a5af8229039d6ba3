import numpy as np
import pytest

from benchmark.metrics import dci
from metrics_helpers import ground_truth, medium_grid, small_grid


def test_importance_matrix_anchors():
    eye = np.eye(5)
    assert dci.disentanglement(eye) == pytest.approx(1.0) and dci.completeness(eye) == pytest.approx(1.0)
    # every factor captured by two identical codes: K = 5 factors, D = 10 codes
    dup = np.repeat(np.eye(5), 2, axis=0)
    assert dci.disentanglement(dup) == pytest.approx(1.0)
    assert dci.completeness(dup) == pytest.approx(1 - np.log(2) / np.log(10))
    zero = np.zeros((10, 5))
    assert dci.disentanglement(zero) == pytest.approx(0.0) and dci.completeness(zero) == pytest.approx(0.0)
    # one code used equally by two of K = 4 factors: 1 - log_4(2) = 0.5, weighted by its share
    r = np.array([[0.5, 0.5, 0, 0], [0, 0, 1, 0]])
    assert dci.disentanglement(r) == pytest.approx((1 / 2) * 0.5 + (1 / 2) * 1.0, abs=1e-8)


@pytest.mark.parametrize("variant", dci.VARIANTS)
def test_ground_truth_is_disentangled_and_informative(variant):
    g = small_grid()
    s = dci.dci(ground_truth(g), g, np.random.default_rng(0), num_train=300, num_test=150, variant=variant)
    assert s["disentanglement"] > 0.99 and s["completeness"] > 0.99
    assert s["informativeness_train"] == 1.0 and s["informativeness_test"] == 1.0  # accuracies
    r = np.array(s["importance_matrix"])
    assert r.shape == (3, 3) and np.allclose(r.sum(0), 1.0)


def test_deterministic_and_parallel_equals_sequential():
    g = medium_grid()
    codes = ground_truth(g) + np.random.default_rng(0).normal(scale=0.7, size=(g.num_images, 4))
    a = dci.dci(codes, g, np.random.default_rng(3), num_train=200, num_test=100, n_jobs=2)
    b = dci.dci(codes, g, np.random.default_rng(3), num_train=200, num_test=100, n_jobs=1)
    assert a == b


def test_random_codes_are_not_disentangled():
    g = medium_grid()
    codes = np.random.default_rng(4).normal(size=(g.num_images, 4))
    s = dci.dci(codes, g, np.random.default_rng(0), num_train=300, num_test=150, variant="hist_gbt")
    assert s["disentanglement"] < 0.3


def test_one_factor_or_one_code_gives_the_references_nan():
    # disentanglement_lib's dci.disentanglement / completeness on these matrices (entropy of base 1 is
    # 0/0 in scipy): nan where K = 1 (disentanglement) or D = 1 (completeness), the other as computed
    one_factor = np.array([[0.7], [0.3]])
    assert np.isnan(dci.disentanglement(one_factor))
    assert dci.completeness(one_factor) == pytest.approx(0.11870910076441776, abs=1e-12)
    one_code = np.array([[0.2, 0.8]])
    assert dci.disentanglement(one_code) == pytest.approx(0.2780719051006376, abs=1e-12)
    assert np.isnan(dci.completeness(one_code))
