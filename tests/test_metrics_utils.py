import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from benchmark.errors import BenchmarkError
from benchmark.metrics import utils
from metrics_helpers import ground_truth, small_grid


def test_discretiser_reference_example_and_bin_ids():
    x = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]).T
    assert utils.histogram_discretize(x, 3)[:, 0].tolist() == [1, 1, 2, 2, 3, 3]
    # ids run 1..num_bins, the maximum lands in the last bin, each column binned over its own range
    u = np.concatenate([[0.0], (np.arange(20) + 0.5) / 20, [1.0]])  # range ends + every bin centre
    d = utils.histogram_discretize(np.column_stack([u, -50 + 60 * u]), 20)
    assert d[:, 0].tolist() == [1] + list(range(1, 21)) + [20]
    np.testing.assert_array_equal(d[:, 0], d[:, 1])


def test_discretiser_constant_column_gets_one_id():
    x = np.column_stack([np.full(7, 3.5), np.arange(7.0)])
    d = utils.histogram_discretize(x, 20)
    assert len(np.unique(d[:, 0])) == 1
    assert utils.discrete_mutual_info(d[:, :1], np.arange(7)[:, None] % 3)[0, 0] == 0.0


def test_mutual_information_is_sklearn_plugin_mi_in_nats():
    rng = np.random.default_rng(0)
    codes = rng.integers(1, 21, size=(500, 3))
    factors = np.column_stack([codes[:, 0] // 5, rng.integers(4, size=500)])
    m = utils.discrete_mutual_info(codes, factors)
    for i in range(3):
        for j in range(2):
            assert m[i, j] == pytest.approx(mutual_info_score(factors[:, j], codes[:, i]), abs=1e-12)
    # hand-checked: a balanced 4-class factor has entropy ln 4 nats, and MI with itself equals it
    y = np.repeat(np.arange(4), 5)[:, None]
    assert utils.discrete_entropy(y)[0] == pytest.approx(np.log(4))
    assert utils.discrete_mutual_info(y, y)[0, 0] == pytest.approx(np.log(4))


def test_normalize_population_std_and_constant_column():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    z, mean, std = utils.normalize_data(x)
    assert std.tolist() == [1.0, 0.0]  # ddof 0: std of (1, 3) is 1
    assert z.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    z2, _, _ = utils.normalize_data(np.array([[5.0, 5.0]]), mean, std)  # test data reuse train statistics
    assert z2.tolist() == [[3.0, 0.0]]


def test_normalize_float32_in_float32_as_the_reference():
    # seven float32 0.1s: their float32 mean is 0.10000001, so the std is a rounding residue (7.45e-9)
    # and disentanglement_lib's normalize_data makes the column a constant -1 (checked with it);
    # float64 arithmetic would give std 0 and zeros
    z, mean, std = utils.normalize_data(np.full((7, 1), 0.1, np.float32))
    assert z.dtype == np.float32 and std[0] > 0
    assert z[:, 0].tolist() == [-1.0] * 7


def test_discretiser_refuses_a_range_too_narrow_for_its_bins():
    one = np.float32(1)
    x = np.array([[one], [np.nextafter(one, np.float32(2))]] * 3)  # one float32 ulp apart
    with pytest.raises(BenchmarkError, match="too narrow"):
        utils.histogram_discretize(x, 20)  # numpy (and so the reference) cannot make 20 bins of it


def test_split_train_test_takes_ceil_first_rows():
    tr, te = utils.split_train_test(np.arange(10)[:, None], 0.66)
    assert len(tr) == 7 and te[:, 0].tolist() == [7, 8, 9]


def test_sample_points_follows_reference_chunk_order():
    g = small_grid()
    lat, idx = utils.sample_points(g, 20, np.random.default_rng(3), batch_size=16)
    rng = np.random.default_rng(3)
    expected = []
    for b in (16, 4):  # chunk by chunk: latent draws, then that chunk's nuisance draws
        ln = g.sample_latents(b, rng)
        expected.append((ln, g.latents_to_index(ln, rng)))
    np.testing.assert_array_equal(lat, np.concatenate([e[0] for e in expected]))
    np.testing.assert_array_equal(idx, np.concatenate([e[1] for e in expected]))
    np.testing.assert_array_equal(g.latent_classes(idx), lat)


def test_code_sources_refuse_nan_bad_shapes_and_types():
    g = small_grid()
    codes = ground_truth(g)
    bad = codes.copy()
    bad[7, 1] = np.nan
    with pytest.raises(BenchmarkError, match="NaN or infinite.*row 7, dimension 1"):
        utils.as_codes(bad, g.num_images)
    bad[7, 1] = np.inf
    with pytest.raises(BenchmarkError, match="NaN or infinite"):
        utils.as_codes(bad, g.num_images)
    with pytest.raises(BenchmarkError, match="119 rows but the dataset has 120"):
        utils.as_codes(codes[:-1], g.num_images)
    with pytest.raises(BenchmarkError, match="2-D"):
        utils.as_codes(codes[:, 0], g.num_images)
    with pytest.raises(BenchmarkError, match="cannot read codes"):
        utils.as_codes("codes.npy", g.num_images)

    class Source:  # a foreign get(indices) source is checked on every read
        def get(self, idx):
            return np.full((len(idx), 2), np.nan)

    with pytest.raises(BenchmarkError, match="NaN"):
        utils.gather(utils.as_codes(Source()), np.arange(3))
    src = utils.as_codes(codes, g.num_images)
    assert utils.gather(src, np.arange(6).reshape(2, 3)).shape == (2, 3, 3)
