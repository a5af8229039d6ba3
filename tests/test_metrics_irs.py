"""IRS (benchmark/metrics/irs.py): hand-checked small samples and known answers on a factor grid."""

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.metrics import irs
from benchmark.metrics.evaluate import evaluate
from metrics_helpers import ground_truth, medium_grid


def test_hand_checked_two_codes_one_factor():
    factors = np.array([[0], [0], [1], [1]])
    # code 0: groups [0, 2] (mean 1, deviations 1) and [10, 14] (mean 12, deviations 2): EMPD 1.5;
    #   global mean 6.5, max deviation 7.5 -> 1 - 1.5 / 7.5 = 0.8
    # code 1: groups [1, 1] (0) and [1, 3] (1): EMPD 0.5; max deviation 1.5 -> 2/3
    # IRS = (7.5 * 0.8 + 1.5 * 2/3) / 9 = 7/9
    codes = np.array([[0.0, 1.0], [2.0, 1.0], [10.0, 1.0], [14.0, 3.0]])
    assert irs.irs_from_codes(codes, factors, diff_quantile=1.0) == {"IRS": pytest.approx(7 / 9), "num_active_dims": 2}
    assert irs.irs_from_codes(codes, factors)["IRS"] == pytest.approx(7 / 9)  # equal deviations: any quantile


def test_quantile_interpolates_linearly():
    # one group of deviations [2, 1, 3] (mean 2): the 0.99 quantile is 2 + 0.98 * (3 - 2) = 2.98,
    # the median 2; a second factor value holds one point (deviation 0)
    codes = np.array([[0.0], [1.0], [5.0], [20.0]])
    factors = np.array([[0], [0], [0], [1]])
    max_dev = np.abs(codes[:, 0] - codes.mean()).max()  # 13.5
    assert irs.irs_from_codes(codes, factors)["IRS"] == pytest.approx(1 - (2.98 + 0) / 2 / max_dev)
    assert irs.irs_from_codes(codes, factors, diff_quantile=0.5)["IRS"] == pytest.approx(1 - (2 + 0) / 2 / max_dev)


def test_factors_are_grouped_after_the_20_bin_histogram():
    # 40 classes fall into 20 bins of two classes each: the code equal to the class varies by 1
    # inside every group (deviations 0.5), so the score is 1 - 0.5 / 19.5, not 1
    factors = np.repeat(np.arange(40), 5)[:, None]
    codes = factors.astype(float)
    assert irs.irs_from_codes(codes, factors)["IRS"] == pytest.approx(1 - 0.5 / 19.5)
    assert irs.irs_from_codes(codes, factors, num_bins=40)["IRS"] == pytest.approx(1.0)


def test_known_answers_on_a_factor_grid():
    grid = medium_grid()
    gt = ground_truth(grid)
    r = irs.irs(gt, grid, np.random.default_rng(0), num_train=3000)
    assert r == {"IRS": pytest.approx(1.0), "num_active_dims": 4}
    # a code that ignores the factors stays far from 1; a dead code is left out
    noise = np.random.default_rng(1).normal(size=(grid.num_images, 3))
    r = irs.irs(np.column_stack([noise, np.zeros(grid.num_images)]), grid, np.random.default_rng(0), num_train=3000)
    assert r["num_active_dims"] == 3 and r["IRS"] < 0.45
    # entangled: every code mixes two factors, so holding one still leaves the other's spread
    mixed = np.column_stack([gt[:, 0] + gt[:, 1], gt[:, 2] + gt[:, 3]])
    assert 0.2 < irs.irs(mixed, grid, np.random.default_rng(0), num_train=3000)["IRS"] < 0.9


def test_constant_codes_score_zero_and_bad_input_is_refused():
    grid = medium_grid()
    assert irs.irs(np.ones((grid.num_images, 3)), grid, np.random.default_rng(0), num_train=500) == {
        "IRS": 0.0,
        "num_active_dims": 0,
    }
    with pytest.raises(BenchmarkError, match="diff_quantile"):
        irs.irs_from_codes(np.ones((4, 1)), np.zeros((4, 1), int), diff_quantile=0.0)
    with pytest.raises(BenchmarkError, match="same n"):
        irs.irs_from_codes(np.ones((4, 1)), np.zeros((3, 1), int))


def test_evaluate_runs_irs_with_its_own_stream():
    from metrics_helpers import dataset

    grid = medium_grid()
    ds = dataset(grid)
    out = evaluate(ground_truth(grid), ds, metrics=["irs"], seed=3, preset="tiny")
    assert out["scores"]["irs.IRS"] == pytest.approx(1.0)
    assert out["metrics"]["irs"]["params"]["diff_quantile"] == 0.99


def _grid_and_noisy_codes():
    from benchmark.data.grid import FactorGrid

    grid = FactorGrid.build(["a", "b", "c"], [3, 4, 5])
    f = grid.latent_classes(np.arange(grid.num_images)).astype(float)
    return grid, f + np.random.RandomState(0).normal(size=(grid.num_images, 3))


def test_float32_codes_are_scored_in_float32_as_the_reference():
    from benchmark.metrics.utils import ReferenceRandomState

    grid, codes = _grid_and_noisy_codes()
    # Known answers: disentanglement_lib's compute_irs(num_train=300, batch_size=16) with RandomState(7)
    # on these codes (computed with the reference, not stored here). Offset codes: float32 rounding
    # moves the score by 3e-6 relative, so float64 arithmetic would miss it.
    r = irs.irs((codes - 100).astype(np.float32), grid, ReferenceRandomState(7), num_train=300)
    assert r["IRS"] == pytest.approx(0.4347832935498357, rel=1e-12)
    # All-constant 0.1 codes: the float32 mean rounds off 0.1, the float32 variance is a rounding
    # residue > 0, so the reference keeps every dimension and scores rounding noise
    r = irs.irs(np.full((grid.num_images, 4), 0.1, np.float32), grid, ReferenceRandomState(7), num_train=300)
    assert r == {"IRS": pytest.approx(-0.16666666666666674, rel=1e-12), "num_active_dims": 4}
