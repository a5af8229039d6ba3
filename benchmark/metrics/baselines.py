"""Baseline representations for the beta-VAE paper's comparison table (Higgins et al. 2017, Table 1
/ Fig. 6 left): raw pixels, PCA and ICA with 10 components, an untrained network, ground truth.

Each is an *encoder* (``encode(x) -> mean``, torch in, torch out) so it goes through
:func:`~benchmark.metrics.encode.encode_dataset` / :func:`~benchmark.metrics.evaluate.evaluate`
like a trained model, except the ground truth, which is a code array by flat index.

* ``pixels``: the flattened image, D = C * 64 * 64 (fine for the beta-VAE/FactorVAE scores; the
  GBT of DCI over 4,096 features is very slow).
* ``pca``: ``sklearn.decomposition.PCA(n_components=10)`` fitted on ``num_fit`` images drawn
  uniformly from the grid (with their nuisance); codes = projections onto the components.
* ``ica``: ``sklearn.decomposition.FastICA(n_components=10, whiten="unit-variance")`` fitted the same
  way; codes = the unmixed sources (``transform``). FastICA's whitening *is* the projection on the
  top principal components, so we whiten with the (randomised) PCA above and run FastICA on those 10
  projections: the same estimator, ~50x faster than letting FastICA SVD the 10,000 x 4,096 matrix
  (3 min on 2 cores). The two linear maps are folded into one.
* ``untrained``: any encoder you pass, unchanged (e.g. a freshly initialised model of the zoo; the
  paper used the untrained VAE encoder). This module never builds models itself.
* ``ground_truth``: the latent factor classes of each image, float32 ``(N, K)``.
"""

from __future__ import annotations

import numpy as np

from benchmark.errors import BenchmarkError

BASELINES = ("pixels", "pca", "ica", "untrained", "ground_truth")


class PixelEncoder:
    """Raw pixels as the representation."""

    def encode(self, x):
        return x.flatten(1)


class LinearEncoder:
    """codes = (x.flatten() - mean) @ components.T, in torch (PCA / FastICA ``transform``)."""

    def __init__(self, mean: np.ndarray, components: np.ndarray, name: str, info: dict):
        import torch

        self.mean = torch.as_tensor(np.asarray(mean, dtype=np.float32))
        self.components = torch.as_tensor(np.asarray(components, dtype=np.float32))
        self.name, self.info = name, info

    def encode(self, x):
        flat = x.flatten(1)
        return (flat - self.mean.to(flat.device)) @ self.components.to(flat.device).T


def _fit_sample(dataset, rng, num_fit):
    idx = dataset.grid.sample_index(num_fit, rng)
    return dataset.observe(idx, "cpu", rng).flatten(1).numpy().astype(np.float64)


def pca_encoder(dataset, rng: np.random.Generator, n_components: int = 10, num_fit: int = 10_000) -> LinearEncoder:
    """PCA fitted with scikit-learn on ``num_fit`` random images."""
    from sklearn.decomposition import PCA

    x = _fit_sample(dataset, rng, num_fit)
    pca = PCA(n_components=n_components, random_state=int(rng.integers(2**31 - 1))).fit(x)
    info = {
        "baseline": "pca",
        "n_components": n_components,
        "num_fit": num_fit,
        "explained_variance_ratio": float(pca.explained_variance_ratio_.sum()),
    }
    return LinearEncoder(pca.mean_, pca.components_, "pca", info)


def ica_encoder(
    dataset, rng: np.random.Generator, n_components: int = 10, num_fit: int = 10_000, max_iter: int = 400
) -> LinearEncoder:
    """FastICA fitted with scikit-learn on ``num_fit`` random images."""
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    from sklearn.decomposition import PCA

    x = _fit_sample(dataset, rng, num_fit)
    pca = PCA(n_components=n_components, random_state=int(rng.integers(2**31 - 1))).fit(x)
    ica = FastICA(
        n_components=n_components, whiten="unit-variance", max_iter=max_iter, random_state=int(rng.integers(2**31 - 1))
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ica.fit(pca.transform(x))
    # ((x - m_p) P^T - m_i) C^T = (x - m_p - m_i P) (C P)^T because P's rows are orthonormal.
    mean = pca.mean_ + ica.mean_ @ pca.components_
    components = ica.components_ @ pca.components_
    info = {
        "baseline": "ica",
        "n_components": n_components,
        "num_fit": num_fit,
        "n_iter": int(ica.n_iter_),
        "whitening": "pca",
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
    }
    return LinearEncoder(mean, components, "ica", info)


def ground_truth_codes(grid) -> np.ndarray:
    """Latent factor classes of every image, float32 ``(N, K)`` in flat index order."""
    return grid.latent_classes(np.arange(grid.num_images)).astype(np.float32)


def baseline(name: str, dataset, rng: np.random.Generator, encoder=None, **kwargs):
    """The baseline ``name``: an encoder, or (ground truth) a code array."""
    if name == "pixels":
        return PixelEncoder()
    if name == "pca":
        return pca_encoder(dataset, rng, **kwargs)
    if name == "ica":
        return ica_encoder(dataset, rng, **kwargs)
    if name == "untrained":
        if encoder is None or not hasattr(encoder, "encode"):
            raise BenchmarkError("the 'untrained' baseline needs an encoder: pass a freshly initialised model")
        return encoder
    if name == "ground_truth":
        return ground_truth_codes(dataset.grid)
    raise BenchmarkError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")
