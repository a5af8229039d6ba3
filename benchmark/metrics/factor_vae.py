"""FactorVAE score (Kim & Mnih, "Disentangling by Factorising", ICML 2018, Section 4).

Reference: ``disentanglement_lib/evaluation/metrics/factor_vae.py`` with ``factor_vae_metric.gin``:

1. global variance of every code dimension over 10,000 fresh images (ddof = 1);
2. dimension d is *active* iff sqrt(var_d) >= ``prune_threshold`` (0.05 in the study);
3. one vote: factor k uniform; L = 64 fresh latent rows with column k set to the first row's
   value (nuisance factors fresh per image); d* = argmin over active dims of
   local_var_d / global_var_d (local variance ddof = 1; ties -> first dim); votes[k, d*] += 1;
4. majority-vote classifier c(d) = argmax_k votes[k, d] (ties -> smallest k, empty column -> 0);
   accuracy = sum_d votes[c(d), d] / total votes, on 10,000 train votes and 5,000 new eval votes.

Returns ``train_accuracy``, ``eval_accuracy``, ``num_active_dims``. **Deliberate fix**:
``num_active_dims`` is the number of active dimensions; the reference reports the length of its
boolean mask, which is always D.
"""

from __future__ import annotations

import numpy as np

from benchmark.metrics.utils import as_codes, gather

DEFAULTS = dict(batch_size=64, num_train=10_000, num_eval=5_000, num_variance_estimate=10_000, prune_threshold=0.05)


def _sample_votes(grid, rng, num_points, batch_size):
    idx = np.empty((num_points, batch_size), np.int64)
    labels = np.empty(num_points, np.int64)
    for p in range(num_points):
        k = int(rng.integers(grid.num_latents))
        lat = grid.sample_latents(batch_size, rng)
        lat[:, k] = lat[0, k]
        idx[p] = grid.latents_to_index(lat, rng)
        labels[p] = k
    return idx, labels


def sample(grid, rng, batch_size=64, num_train=10_000, num_eval=5_000, num_variance_estimate=10_000, **_):
    """Variance-estimate indices (one draw of ``num_variance_estimate`` rows), train votes, eval votes."""
    lat = grid.sample_latents(num_variance_estimate, rng)
    var_idx = grid.latents_to_index(lat, rng)
    return var_idx, _sample_votes(grid, rng, num_train, batch_size), _sample_votes(grid, rng, num_eval, batch_size)


def indices(samples) -> np.ndarray:
    var_idx, (ti, _), (ei, _) = samples
    return np.concatenate([var_idx, ti.ravel(), ei.ravel()])


def _votes(codes, idx, labels, global_var, active, num_factors):
    z = gather(codes, idx)  # (n, L, D)
    local_var = np.var(z, axis=1, ddof=1)
    ratio = local_var[:, active] / global_var[active]
    d_star = np.flatnonzero(active)[np.argmin(ratio, axis=1)]  # first minimum on ties, as np.argmin
    votes = np.zeros((num_factors, z.shape[-1]), np.int64)
    np.add.at(votes, (labels, d_star), 1)
    return votes


def factor_vae_score(
    codes,
    grid,
    rng: np.random.Generator,
    batch_size: int = 64,
    num_train: int = 10_000,
    num_eval: int = 5_000,
    num_variance_estimate: int = 10_000,
    prune_threshold: float = 0.05,
    samples=None,
) -> dict:
    """FactorVAE score.

    Parameters
    ----------
    codes : (N, D) array, Codes, or ``get(indices)`` source.
    grid : FactorGrid
    rng : numpy.random.Generator
    batch_size : int
        L, images per vote (64).
    num_train, num_eval : int
        Votes for the majority-vote classifier (10,000) and for its evaluation (5,000).
    num_variance_estimate : int
        Images for the global variance (10,000).
    prune_threshold : float
        Minimum global *standard deviation* of an active dimension (0.05).

    Returns
    -------
    dict with ``train_accuracy``, ``eval_accuracy``, ``num_active_dims``.
    """
    codes = as_codes(codes, grid.num_images)
    if samples is None:
        samples = sample(grid, rng, batch_size, num_train, num_eval, num_variance_estimate)
    var_idx, (ti, ty), (ei, ey) = samples
    global_var = np.var(codes.get(var_idx), axis=0, ddof=1)
    active = np.sqrt(global_var) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    train_votes = _votes(codes, ti, ty, global_var, active, grid.num_latents)
    classifier = np.argmax(train_votes, axis=0)  # ties -> smallest factor index; empty column -> 0
    cols = np.arange(train_votes.shape[1])
    eval_votes = _votes(codes, ei, ey, global_var, active, grid.num_latents)
    return {
        "train_accuracy": float(train_votes[classifier, cols].sum() / train_votes.sum()),
        "eval_accuracy": float(eval_votes[classifier, cols].sum() / eval_votes.sum()),
        "num_active_dims": int(active.sum()),
    }
