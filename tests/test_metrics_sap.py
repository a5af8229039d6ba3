import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.metrics import sap
from metrics_helpers import ground_truth, medium_grid


def test_gap_of_top_two_per_factor():
    s = np.array([[0.9, 0.2], [0.5, 0.3], [0.1, 0.3]])
    assert sap.avg_gap_top_two(s) == pytest.approx(((0.9 - 0.5) + 0.0) / 2)
    with pytest.raises(BenchmarkError, match="at least 2 code"):
        sap.avg_gap_top_two(np.ones((1, 3)))


def test_continuous_variant_is_squared_correlation_and_zero_for_constant_codes():
    rng = np.random.default_rng(0)
    y = rng.integers(5, size=(200, 1))
    x = np.column_stack([2 * y[:, 0] + 1, np.full(200, 3.0), rng.normal(size=200)])
    s = sap.score_matrix(x, y, x, y, continuous_factors=True)
    assert s[0, 0] == pytest.approx(1.0) and s[1, 0] == 0.0
    assert s[2, 0] == pytest.approx(np.corrcoef(x[:, 2], y[:, 0])[0, 1] ** 2)


def test_discrete_variant_separates_ground_truth_from_noise():
    g = medium_grid()
    gt = ground_truth(g)
    rng_codes = np.random.default_rng(1).normal(size=(g.num_images, 4))
    good = sap.sap_score(gt, g, np.random.default_rng(0), num_train=400, num_test=200)["SAP_score"]
    bad = sap.sap_score(rng_codes, g, np.random.default_rng(0), num_train=400, num_test=200)["SAP_score"]
    assert good > 0.15 and bad < 0.05


def test_size_one_factor_as_the_reference_continuous_nan_discrete_constant_predictor():
    from benchmark.data.grid import FactorGrid
    from benchmark.metrics.utils import ReferenceRandomState

    grid = FactorGrid.build(["a", "b", "c"], [1, 4, 5])
    f = grid.latent_classes(np.arange(grid.num_images)).astype(float)
    codes = np.column_stack([f[:, 1], f[:, 2], f[:, 1] + f[:, 2]]).astype(np.float32)
    kw = dict(num_train=300, num_test=150)
    # disentanglement_lib's compute_sap(continuous_factors=True) with RandomState(7) returned nan here
    # (var y = 0 for the size-1 factor: 0/0); with continuous_factors=False its LinearSVC raises
    assert np.isnan(sap.sap_score(codes, grid, ReferenceRandomState(7), continuous_factors=True, **kw)["SAP_score"])
    s = sap.sap_score(codes, grid, ReferenceRandomState(7), continuous_factors=False, **kw)["SAP_score"]
    assert np.isfinite(s)  # the constant predictor scores 1 on every code: gap 0 for that factor
