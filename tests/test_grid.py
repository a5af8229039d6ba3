import numpy as np
import pytest

from benchmark.data import FactorGrid, available, get_spec
from benchmark.errors import BenchmarkError


def small_grid():
    return FactorGrid.build(["color", "a", "b", "c"], [2, 3, 4, 5], latent=(1, 2, 3))


def test_bases_row_major_last_fastest():
    g = small_grid()
    assert g.bases.tolist() == [60, 20, 5, 1]
    assert g.num_images == 120
    # the official dSprites bases
    d = FactorGrid.build(["c", "s", "sc", "o", "x", "y"], [1, 3, 6, 40, 32, 32])
    assert d.bases.tolist() == [737280, 245760, 40960, 1024, 32, 1]


@pytest.mark.parametrize("name", available())
def test_index_round_trip_every_registered_dataset(name):
    spec = get_spec(name)
    g = FactorGrid.build(spec.factor_names, spec.factor_sizes, latent=spec.latent)
    rng = np.random.default_rng(0)
    idx = np.concatenate([[0, g.num_images - 1], rng.integers(g.num_images, size=1000)])
    classes = g.classes(idx)
    assert (classes < np.asarray(g.sizes)).all()
    np.testing.assert_array_equal(g.index(classes), idx)


def test_complete_grid_round_trip_is_a_bijection():
    g = small_grid()
    idx = np.arange(g.num_images)
    classes = g.classes(idx)
    assert len({tuple(r) for r in classes}) == g.num_images
    np.testing.assert_array_equal(g.index(classes), idx)


def test_sampling_latents_uniform_and_nuisance_resampled():
    g = small_grid()
    rng = np.random.default_rng(1)
    lat = g.sample_latents(20000, rng)
    assert lat.shape == (20000, 3)
    for j, size in enumerate(g.latent_sizes):
        counts = np.bincount(lat[:, j], minlength=size) / 20000
        np.testing.assert_allclose(counts, 1 / size, atol=0.02)
    full = g.complete(lat, rng)
    np.testing.assert_array_equal(full[:, [1, 2, 3]], lat)  # latent factors kept exactly
    assert set(np.unique(full[:, 0])) == {0, 1}  # nuisance drawn fresh per row


def test_pairs_sharing_one_factor_keep_exactly_that_factor():
    # the BetaVAE-score construction: batch B copies factor k from batch A, nothing else
    g = small_grid()
    rng = np.random.default_rng(2)
    a, b = g.sample_latents(500, rng), g.sample_latents(500, rng)
    k = 1
    b[:, k] = a[:, k]
    ia, ib = g.latents_to_index(a, rng), g.latents_to_index(b, rng)
    ca, cb = g.latent_classes(ia), g.latent_classes(ib)
    np.testing.assert_array_equal(ca[:, k], cb[:, k])
    for j in (0, 2):
        assert (ca[:, j] != cb[:, j]).mean() > 0.5


def test_bad_shapes_and_ranges_are_refused():
    g = small_grid()
    with pytest.raises(BenchmarkError, match="shape"):
        g.index(np.zeros((3, 2), int))
    with pytest.raises(BenchmarkError, match="out of range"):
        g.index(np.array([[0, 3, 0, 0]]))
    with pytest.raises(BenchmarkError, match=r"\[0, 120\)"):
        g.classes([120])
    with pytest.raises(ValueError):
        FactorGrid.build(["a"], [2], latent=(1,))
