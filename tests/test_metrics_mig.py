import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.metrics import mig
from metrics_helpers import ground_truth, medium_grid, small_grid


def test_hand_checked_gaps_and_entropy_normalisation():
    y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 5)
    # each code copies one factor: MI = H = ln 2 for its own factor, 0 for the other -> MIG 1
    assert mig.mig_from_codes(y.astype(float), y)["discrete_mig"] == pytest.approx(1.0)
    # two copies of factor 0: the top two tie (gap 0) and factor 1 has no code (gap 0)
    dup = np.column_stack([y[:, 0], y[:, 0]]).astype(float)
    assert mig.mig_from_codes(dup, y)["discrete_mig"] == pytest.approx(0.0)
    # a 4-class factor seen through a code that only separates {0,1} from {2,3}: MI = ln 2, H = ln 4
    f = np.repeat(np.arange(4), 5)[:, None]
    codes = np.column_stack([(f[:, 0] >= 2).astype(float), np.zeros(20)])
    assert mig.mig_from_codes(codes, f)["discrete_mig"] == pytest.approx(np.log(2) / np.log(4))


def test_ground_truth_near_one_and_random_near_zero():
    g = small_grid()
    assert mig.mig(ground_truth(g), g, np.random.default_rng(0), num_train=1000)["discrete_mig"] > 0.95
    g = medium_grid()
    codes = np.random.default_rng(1).normal(size=(g.num_images, 5))
    assert mig.mig(codes, g, np.random.default_rng(0), num_train=2000)["discrete_mig"] < 0.05


def test_error_for_one_code_and_nan_for_a_constant_factor():
    y = np.array([[0, 1], [1, 1], [0, 1]])
    with pytest.raises(BenchmarkError, match="at least 2 code dimensions"):
        mig.mig_from_codes(np.zeros((3, 1)), y)
    # factor 1 takes one value: entropy 0, gap 0, 0/0; disentanglement_lib's compute_mig returns NaN
    assert np.isnan(mig.mig_from_codes(np.random.default_rng(0).normal(size=(3, 2)), y)["discrete_mig"])


def test_size_one_factor_gives_the_references_nan():
    from benchmark.data.grid import FactorGrid
    from benchmark.metrics.utils import ReferenceRandomState

    # a 1 x 4 x 5 grid: disentanglement_lib's compute_mig(num_train=300, batch_size=16) with
    # RandomState(7) on these codes returned nan (computed with the reference, not stored here)
    grid = FactorGrid.build(["a", "b", "c"], [1, 4, 5])
    f = grid.latent_classes(np.arange(grid.num_images)).astype(float)
    codes = np.column_stack([f[:, 1], f[:, 2], f[:, 1] + f[:, 2]]).astype(np.float32)
    assert np.isnan(mig.mig(codes, grid, ReferenceRandomState(7), num_train=300)["discrete_mig"])
