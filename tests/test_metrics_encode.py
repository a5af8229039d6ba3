import numpy as np
import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.metrics.encode import Codes, OnTheFlyCodes, cache_path, choose_indices, encode_dataset
from metrics_helpers import LinearEncoder, dataset

PIX = 16 * 16


def direct(enc, ds, idx, rng=None):
    with torch.no_grad():
        mu, lv = enc.encode(ds.observe(idx, "cpu", rng))
    return mu.numpy(), lv.numpy()


def test_whole_grid_matches_direct_encoding_in_any_batch_size():
    ds, enc = dataset(), LinearEncoder(PIX)
    mu, lv = direct(enc, ds, np.arange(len(ds)))
    for bs in (7, 64, 1000):
        c = encode_dataset(enc, ds, batch_size=bs, device="cpu", progress=False)
        assert c.indices is None and c.mean.dtype == np.float32 and c.mean.shape == (120, 4)
        np.testing.assert_allclose(c.mean, mu, atol=1e-5)
        np.testing.assert_allclose(c.logvar, lv, atol=1e-5)
    assert c.info["selection"] == "all" and c.info["num_encoded"] == 120 and not c.info["cache_hit"]


def test_subset_lookup_and_missing_index_error():
    ds, enc = dataset(), LinearEncoder(PIX)
    c = encode_dataset(enc, ds, indices=[5, 3, 3, 99], device="cpu", progress=False)
    assert c.indices.tolist() == [3, 5, 99]
    np.testing.assert_allclose(c.get(np.array([99, 3, 3])), direct(enc, ds, [99, 3, 3])[0], atol=1e-5)
    with pytest.raises(BenchmarkError, match=r"images \[4\] were not encoded"):
        c.get(np.array([4]))


def test_choose_all_or_unique_whichever_is_cheaper():
    assert choose_indices(np.arange(1000) % 100, 100) is None
    assert choose_indices([9, 1, 9], 100).tolist() == [1, 9]


def test_cache_is_reused_and_keyed(tmp_path):
    ds, enc = dataset(), LinearEncoder(PIX)
    a = encode_dataset(enc, ds, device="cpu", cache_dir=tmp_path, key="abc", progress=False)
    calls = enc.calls
    b = encode_dataset(enc, ds, indices=[1, 2], device="cpu", cache_dir=tmp_path, key="abc", progress=False)
    assert enc.calls == calls and b.info["cache_hit"] and b.indices is None  # the whole-grid file serves subsets
    np.testing.assert_array_equal(a.mean, b.mean)
    other = encode_dataset(LinearEncoder(PIX, seed=1), ds, device="cpu", cache_dir=tmp_path, key="def", progress=False)
    assert not other.info["cache_hit"] and not np.allclose(other.mean, a.mean)
    assert cache_path(tmp_path, "abc", ds, None).exists()
    with pytest.raises(BenchmarkError, match="needs a key"):
        encode_dataset(enc, ds, device="cpu", cache_dir=tmp_path, progress=False)


def test_stochastic_dataset_fixed_draw_per_image_reproducible():
    ds, enc = dataset(stochastic=True), LinearEncoder(PIX)
    a = encode_dataset(enc, ds, batch_size=32, device="cpu", noise_seed=3, progress=False)
    b = encode_dataset(enc, ds, batch_size=32, device="cpu", noise_seed=3, progress=False)
    c = encode_dataset(enc, ds, batch_size=32, device="cpu", noise_seed=4, progress=False)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert not np.allclose(a.mean, c.mean)
    assert a.info["noise_seed"] == 3


def test_encoders_without_logvar_nan_outputs_and_non_encoders():
    ds = dataset()
    c = encode_dataset(LinearEncoder(PIX, logvar=False), ds, device="cpu", progress=False)
    assert c.logvar is None

    class Broken(torch.nn.Module):
        def encode(self, x):
            return torch.full((len(x), 2), float("nan"))

    with pytest.raises(BenchmarkError, match="NaN"):
        encode_dataset(Broken(), ds, device="cpu", progress=False)
    with pytest.raises(BenchmarkError, match="no encode"):
        encode_dataset(object(), ds, device="cpu", progress=False)


def test_training_mode_restored_and_on_the_fly_matches():
    ds, enc = dataset(), LinearEncoder(PIX)
    enc.train()
    c = encode_dataset(enc, ds, device="cpu", progress=False)
    assert enc.training
    fly = OnTheFlyCodes(enc, ds, batch_size=16, device="cpu")
    idx = np.array([0, 50, 119, 50])
    np.testing.assert_allclose(fly.get(idx), c.get(idx), atol=1e-5)
    assert fly.num_encoded == 4


def test_codes_validate_their_shape():
    with pytest.raises(BenchmarkError, match="rows"):
        Codes(np.zeros((3, 2), np.float32), None, None, 4)
