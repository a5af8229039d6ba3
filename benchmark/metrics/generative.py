"""Generative-model scores: reconstruction error, ELBO and KL, per-dimension KL and active units, and
the importance-weighted log-likelihood bound. Functions of tensors and of a model that follows the
protocol below (this module imports nothing from ``benchmark.models``).

Model protocol
--------------
* ``model.encode(x) -> (mu, logvar)``: ``x`` float32 ``(n, C, 64, 64)`` in [0, 1]; ``mu`` and
  ``logvar`` ``(n, D)`` (diagonal Gaussian q(z|x) = N(mu, exp(logvar))). A deterministic encoder
  (plain autoencoder) returns ``logvar = None``; then only the reconstruction scores and the
  variance-based active units are defined.
* ``model.decode(z) -> logits``: ``(n, C, 64, 64)`` Bernoulli logits (no sigmoid), the reference's
  decoder output.

Definitions (per image, then averaged over the sample; nats):

* ``reconstruction_nll``: Bernoulli negative log-likelihood summed over all pixels and channels,
  sum BCEWithLogits(logits, x) with the *continuous* targets, as the reference's ``bernoulli_loss``
  (Higgins et al. 2017), decoding one sample z ~ q(z|x) (the ELBO's term);
  ``reconstruction_nll_mean`` decodes the mean instead (deterministic).
* ``reconstruction_mse``: mean over pixels of (sigmoid(logits) - x)^2, decoding the mean;
  ``reconstruction_l2`` is the per-image *sum* (the reference's ``l2_loss``).
* ``kl``: KL(q(z|x) || N(0, I)) = 1/2 sum_d (mu_d^2 + exp(lv_d) - lv_d - 1) (Kingma & Welling 2014,
  appendix B); ``kl_per_dim``: the same per dimension, averaged over images.
* ``elbo`` = -(reconstruction_nll + kl), one-sample estimate (Kingma & Welling 2014 eq. 3), as the
  reference logs it.
* ``active_units`` (KL criterion): number of dimensions whose average KL exceeds
  ``active_threshold`` = 0.01 nats. ``active_units_variance`` (Burda, Grosse & Salakhutdinov,
  "Importance Weighted Autoencoders", ICLR 2016, Section 5.2): number of dimensions u with
  Cov_x(E_q[z_u | x]) > ``active_threshold`` = 0.01, i.e. the variance over images of the encoder
  mean.
* ``iwae_log_likelihood``: the importance-weighted bound (Burda et al. 2016, eq. 8)
  log p(x) >= E[log 1/k sum_i p(x|z_i) p(z_i) / q(z_i|x)], z_i ~ q(z|x), with ``iwae_k`` samples;
  k = 1 is the ELBO and the bound tightens as k grows. With continuous (non-binary) targets the
  Bernoulli "likelihood" is not a normalised density, so the bound is only a log-likelihood for
  binary data such as dSprites.

"Held-out sample": the reference trains on images drawn uniformly *with replacement* from the whole
grid (no split), so these scores are computed on ``num_points`` images drawn with the metric's rng
(or on explicit ``indices``, e.g. a split the trainer kept out).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics.encode import encoder_output
from benchmark.metrics.utils import rng_int

DEFAULTS = dict(num_points=1_000, batch_size=64, iwae_k=100, iwae_points=None, active_threshold=0.01)
LOG_2PI = math.log(2 * math.pi)


def bernoulli_nll(logits, x):
    """Per-image sum over pixels of sigmoid cross-entropy with continuous targets ``x`` -> ``(n,)``."""
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def squared_error(logits, x):
    """Per-image sum of (sigmoid(logits) - x)^2 -> ``(n,)``."""
    import torch

    return (torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1)


def gaussian_kl(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) per image and dimension -> ``(n, D)``."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def log_normal(z, mu, logvar):
    """log N(z; mu, exp(logvar)) summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * (-logvar).exp()).sum(-1)


def iwae_bound(model, x, k: int, generator=None, chunk: int = 1024):
    """Importance-weighted bound on log p(x) per image (Burda et al. 2016, eq. 8) -> ``(n,)``.

    Parameters
    ----------
    model : encode/decode protocol (module docstring)
    x : float tensor (n, C, H, W) in [0, 1]
    k : int
        Importance samples per image (k = 1 gives the one-sample ELBO).
    generator : torch.Generator, optional
        Source of the Gaussian noise (reproducibility).
    chunk : int
        Decoded images per forward pass.
    """
    import torch

    if k < 1:
        raise BenchmarkError(f"iwae_k must be >= 1, got {k}")
    mu, logvar = _encode(model, x)
    if logvar is None:
        raise BenchmarkError("the IWAE bound needs a stochastic encoder (encode(x) must return a log-variance)")
    n, d = mu.shape
    eps = torch.randn((k, n, d), generator=generator, device="cpu").to(mu.device)
    z = mu.unsqueeze(0) + (0.5 * logvar).exp().unsqueeze(0) * eps  # (k, n, d)
    log_q = log_normal(z, mu.unsqueeze(0), logvar.unsqueeze(0))
    log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)
    flat_z = z.reshape(k * n, d)
    xr = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
    log_px = torch.cat(
        [-bernoulli_nll(model.decode(flat_z[s : s + chunk]), xr[s : s + chunk]) for s in range(0, k * n, chunk)]
    ).reshape(k, n)
    return torch.logsumexp(log_px + log_prior - log_q, dim=0) - math.log(k)


def _encode(model, x):
    mu, logvar = encoder_output(model, x)
    return mu.float(), (None if logvar is None else logvar.float())


def generative_scores(
    model,
    dataset,
    rng: np.random.Generator,
    num_points: int = 1_000,
    batch_size: int = 64,
    iwae_k: int = 100,
    iwae_points: Optional[int] = None,
    active_threshold: float = 0.01,
    indices=None,
    device=None,
) -> dict:
    """Reconstruction, KL, ELBO, active units and IWAE bound on a sample of images.

    Parameters
    ----------
    model : encode/decode protocol (module docstring), already on ``device``.
    dataset : GroundTruthDataset
    rng : numpy.random.Generator
        Draws the images (uniform over the grid), their nuisance, and the torch noise seed.
    num_points : int
        Images scored (1,000).
    batch_size : int
        Images per forward pass.
    iwae_k : int
        Importance samples of the IWAE bound (100; 0 skips it).
    iwae_points : int, optional
        Score the IWAE bound on only the first ``iwae_points`` images (it costs k decodes per image).
    active_threshold : float
        Threshold (nats for KL, squared code units for the variance criterion) of an active unit.
    indices : int array, optional
        Score these flat indices instead of a random sample.

    Returns
    -------
    dict (see module docstring for every key); KL-based keys are None for deterministic encoders.
    """
    import torch

    if device is None:
        try:
            device = next(model.parameters()).device
        except (AttributeError, StopIteration):
            device = torch.device("cpu")
    idx = np.asarray(indices, dtype=np.int64) if indices is not None else dataset.grid.sample_index(num_points, rng)
    if len(idx) < 2:
        raise BenchmarkError("generative scores need at least 2 images")
    gen = torch.Generator().manual_seed(rng_int(rng))
    iwae_n = len(idx) if iwae_points is None else min(int(iwae_points), len(idx))
    was_training = getattr(model, "training", None)
    if was_training:
        model.eval()
    sums = dict(nll=0.0, nll_mean=0.0, l2=0.0, kl=0.0, iwae=0.0)
    kl_dim, mus = None, []
    deterministic = False
    pixels = None
    try:
        with torch.inference_mode():
            for s in range(0, len(idx), batch_size):
                x = dataset.observe(idx[s : s + batch_size], device, rng)
                pixels = x[0].numel()
                mu, logvar = _encode(model, x)
                mus.append(mu.cpu().numpy())
                logits_mean = model.decode(mu)
                sums["nll_mean"] += float(bernoulli_nll(logits_mean, x).sum())
                sums["l2"] += float(squared_error(logits_mean, x).sum())
                if logvar is None:
                    deterministic = True
                    continue
                eps = torch.randn(mu.shape, generator=gen).to(mu.device)
                z = mu + (0.5 * logvar).exp() * eps
                sums["nll"] += float(bernoulli_nll(model.decode(z), x).sum())
                kl = gaussian_kl(mu, logvar)
                sums["kl"] += float(kl.sum())
                kl_dim = kl.sum(0) if kl_dim is None else kl_dim + kl.sum(0)
                if iwae_k and s < iwae_n:
                    xi = x[: max(0, min(len(x), iwae_n - s))]
                    sums["iwae"] += float(iwae_bound(model, xi, iwae_k, gen).sum())
    finally:
        if was_training:
            model.train()
    n = len(idx)
    mu_all = np.concatenate(mus)
    out = {
        "num_points": n,
        "reconstruction_nll_mean": sums["nll_mean"] / n,
        "reconstruction_mse": sums["l2"] / (n * pixels),
        "reconstruction_l2": sums["l2"] / n,
        "active_units_variance": int(np.sum(np.var(mu_all, axis=0) > active_threshold)),
        "reconstruction_nll": None,
        "kl": None,
        "elbo": None,
        "kl_per_dim": None,
        "active_units": None,
        "iwae_log_likelihood": None,
        "iwae_k": iwae_k or None,
        "iwae_points": None,
    }
    if not deterministic:
        per_dim = (kl_dim / n).cpu().numpy()
        out.update(
            reconstruction_nll=sums["nll"] / n,
            kl=sums["kl"] / n,
            elbo=-(sums["nll"] + sums["kl"]) / n,
            kl_per_dim=per_dim.tolist(),
            active_units=int(np.sum(per_dim > active_threshold)),
        )
        if iwae_k:
            out.update(iwae_log_likelihood=sums["iwae"] / iwae_n, iwae_points=iwae_n)
    return out
