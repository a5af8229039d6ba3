"""Loss terms shared by the model zoo, with the conventions pinned.

Conventions (the reference's; recorded in every model config):

* reconstruction: summed over all ``C*64*64`` pixels of an image, averaged over the batch;
* KL: summed over latent dimensions, averaged over the batch;

so ``beta`` means what it means in the papers (Higgins et al. 2017, eq. 4). Every function is
vmap-friendly (no ``.item()``, no data-dependent branches) so the ensemble trainer can use it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "gaussian")
RECON_REDUCTION = "sum_over_pixels_mean_over_batch"
KL_REDUCTION = "sum_over_latents_mean_over_batch"
LOG_2PI = math.log(2.0 * math.pi)


def full_precision(t: torch.Tensor) -> torch.Tensor:
    """``t`` in at least float32: bfloat16 / float16 activations (autocast) are upcast for the losses;
    float32 and float64 pass unchanged (float64 runs check the trainers against each other exactly)."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, likelihood: str = "bernoulli") -> torch.Tensor:
    """Negative log-likelihood of ``x`` under the decoder, per image summed, batch-mean.

    ``bernoulli``: sigmoid cross-entropy between logits and the *continuous* targets in [0, 1]
    (reference ``bernoulli_loss``; targets are not binarised). ``gaussian``: the reference
    ``l2_loss``, sum of squared differences between ``x`` and ``sigmoid(logits)``.
    """
    logits = full_precision(logits)
    b = x.shape[0]
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / b
    if likelihood == "gaussian":
        return (torch.sigmoid(logits) - x).square().sum() / b
    raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}")


def kl_per_latent(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per latent, averaged over the batch: shape (D,).

    Closed form (Kingma & Welling 2014, appendix B): 1/2 (mu^2 + exp(lv) - lv - 1).
    """
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1.0).mean(0)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL summed over latents, batch-mean (a scalar)."""
    return 0.5 * (mu.square() + logvar.exp() - logvar - 1.0).sum() / mu.shape[0]


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps with externally drawn eps ~ N(0, I)."""
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z; mu, exp(logvar)), including the log(2 pi) term."""
    return -0.5 * ((z - mu).square() * torch.exp(-logvar) + logvar + LOG_2PI)


def total_correlation(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Minibatch-weighted-sampling estimate of TC(z) on one batch (Chen et al. 2018, eq. S5).

    With ``log q(z_j | x_i)`` for every pair (j, i) and dimension l,
    ``log q(z_j) ~ logsumexp_i sum_l log q(z_jl | x_i)`` and
    ``log prod_l q(z_jl) ~ sum_l logsumexp_i log q(z_jl | x_i)``;
    TC = mean_j [log q(z_j) - log prod_l q(z_jl)]. As in the reference the ``-log(B N)``
    normalisers are omitted: they shift the logged value by a constant ``(D-1) log(B N)`` and do not
    change the gradient.
    """
    log_q = gaussian_log_density(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))  # (B_j, B_i, D)
    log_qz = torch.logsumexp(log_q.sum(2), dim=1)
    log_prod_qz = torch.logsumexp(log_q, dim=1).sum(1)
    return (log_qz - log_prod_qz).mean()


def permute_dims(z: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Shuffle each latent column independently across the batch (Kim & Mnih 2018, Alg. 1).

    ``perm`` is (B, D) of batch indices, column l a permutation of 0..B-1: out[i, l] = z[perm[i, l], l].
    """
    return torch.gather(z, 0, perm)


def random_dim_permutation(batch: int, dims: int, generator=None, device="cpu", steps=None) -> torch.Tensor:
    """(B, D) tensor whose every column is an independent uniform permutation of range(B).

    ``steps=S``: (S, B, D), S independent such tensors.
    """
    lead = (batch,) if steps is None else (int(steps), batch)
    return torch.rand(*lead, dims, generator=generator, device=device).argsort(dim=-2)


def batch_covariance(mu: torch.Tensor) -> torch.Tensor:
    """Biased batch covariance E[mu mu^T] - E[mu] E[mu]^T (divides by B, as the reference)."""
    m = mu.mean(0)
    return (mu.unsqueeze(2) * mu.unsqueeze(1)).mean(0) - m.unsqueeze(1) * m.unsqueeze(0)


def dip_penalty(cov: torch.Tensor, lambda_od, lambda_d) -> torch.Tensor:
    """DIP-VAE penalty (Kumar et al. 2018, eq. 6-7): lambda_od sum_{i!=j} M_ij^2 + lambda_d sum_i (M_ii - 1)^2."""
    diag = torch.diagonal(cov)
    off = cov - torch.diag_embed(diag)
    return lambda_od * off.square().sum() + lambda_d * (diag - 1.0).square().sum()


def annealed_capacity(step, c_max, iteration_threshold):
    """C(t) = min(c_max, c_max * t / iteration_threshold) (Burgess et al. 2018, sec. 4)."""
    c_max = torch.as_tensor(c_max, dtype=torch.float32)
    if isinstance(step, torch.Tensor):  # the CUDA engine's step counter lives on the device (graph capture)
        return torch.minimum(c_max, c_max * step.to(torch.float32) / float(iteration_threshold))
    return torch.minimum(c_max, c_max * float(step) / float(iteration_threshold))
