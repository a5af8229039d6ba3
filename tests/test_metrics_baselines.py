import numpy as np
import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.metrics import baselines
from metrics_helpers import dataset


def test_pca_and_ica_encoders_reproduce_sklearn_transform():
    from sklearn.decomposition import PCA

    ds = dataset()
    x = ds.observe(np.arange(len(ds)))
    pca = baselines.pca_encoder(ds, np.random.default_rng(0), n_components=3, num_fit=300)
    fit = baselines._fit_sample(ds, np.random.default_rng(0), 300)
    ref = PCA(n_components=3, random_state=pca_seed()).fit(fit)
    np.testing.assert_allclose(np.abs(pca.encode(x).numpy()), np.abs(ref.transform(x.flatten(1).numpy())), atol=1e-3)
    ica = baselines.ica_encoder(ds, np.random.default_rng(0), n_components=3, num_fit=300)
    codes = ica.encode(x).numpy()
    assert codes.shape == (120, 3) and np.isfinite(codes).all()
    assert set(ica.info) >= {"n_components", "num_fit", "converged"}


def pca_seed():
    rng = np.random.default_rng(0)
    baselines._fit_sample(dataset(), rng, 300)
    return int(rng.integers(2**31 - 1))


def test_pixels_ground_truth_untrained_and_unknown():
    ds = dataset()
    rng = np.random.default_rng(0)
    assert baselines.baseline("pixels", ds, rng).encode(torch.zeros(2, 1, 16, 16)).shape == (2, 256)
    gt = baselines.baseline("ground_truth", ds, rng)
    assert gt.shape == (120, 3) and gt.dtype == np.float32 and gt[-1].tolist() == [2, 3, 4]
    enc = baselines.PixelEncoder()
    assert baselines.baseline("untrained", ds, rng, encoder=enc) is enc
    with pytest.raises(BenchmarkError, match="needs an encoder"):
        baselines.baseline("untrained", ds, rng)
    with pytest.raises(BenchmarkError, match="unknown baseline"):
        baselines.baseline("vae", ds, rng)


def test_ica_folds_pca_whitening_and_unmixing_into_one_map():
    from sklearn.decomposition import PCA, FastICA

    ds = dataset()
    ica = baselines.ica_encoder(ds, np.random.default_rng(1), n_components=3, num_fit=300)
    rng = np.random.default_rng(1)
    x = baselines._fit_sample(ds, rng, 300)
    pca = PCA(n_components=3, random_state=int(rng.integers(2**31 - 1))).fit(x)
    ref = FastICA(n_components=3, whiten="unit-variance", max_iter=400, random_state=int(rng.integers(2**31 - 1)))
    ref.fit(pca.transform(x))
    np.testing.assert_allclose(
        ica.encode(torch.as_tensor(x, dtype=torch.float32)).numpy(), ref.transform(pca.transform(x)), atol=1e-3
    )
