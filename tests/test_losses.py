"""Known-answer tests for the loss terms in benchmark/models/losses.py (direct computations on small tensors)."""

import itertools
import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from benchmark.models import losses as L


def _rng(seed=0):
    return torch.Generator().manual_seed(seed)


def test_bernoulli_reconstruction_is_per_image_sum_batch_mean():
    g = _rng()
    logits = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64) * 3
    x = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64)  # continuous targets, not binarised
    p = torch.sigmoid(logits)
    direct = -(x * p.log() + (1 - x) * (1 - p).log()).sum() / 3
    assert torch.allclose(L.reconstruction_loss(logits, x.float()).double(), direct, rtol=1e-5)


def test_gaussian_reconstruction_is_l2_on_sigmoid():
    g = _rng(1)
    logits = torch.randn(2, 3, 4, 4, generator=g)
    x = torch.rand(2, 3, 4, 4, generator=g)
    direct = ((torch.sigmoid(logits) - x) ** 2).flatten(1).sum(1).mean()
    assert torch.allclose(L.reconstruction_loss(logits, x, "gaussian"), direct, rtol=1e-6)
    with pytest.raises(ValueError):
        L.reconstruction_loss(logits, x, "poisson")


def test_kl_matches_closed_form_of_torch_distributions():
    g = _rng(2)
    mu = torch.randn(5, 4, generator=g, dtype=torch.float64)
    logvar = torch.randn(5, 4, generator=g, dtype=torch.float64)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros_like(mu), torch.ones_like(mu)))
    assert torch.allclose(L.kl_divergence(mu, logvar), ref.sum(1).mean())
    assert torch.allclose(L.kl_per_latent(mu, logvar), ref.mean(0))
    assert float(L.kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3))) == 0.0


def test_reparameterize_uses_std_not_variance():
    mu, logvar, eps = torch.tensor([[1.0]]), torch.tensor([[math.log(4.0)]]), torch.tensor([[1.5]])
    assert float(L.reparameterize(mu, logvar, eps)) == pytest.approx(1.0 + 2.0 * 1.5)


def test_gaussian_log_density_matches_torch():
    g = _rng(3)
    z, mu, lv = (torch.randn(6, generator=g, dtype=torch.float64) for _ in range(3))
    ref = Normal(mu, (0.5 * lv).exp()).log_prob(z)
    assert torch.allclose(L.gaussian_log_density(z, mu, lv), ref)


def test_total_correlation_matches_brute_force_sum():
    g = _rng(4)
    b, d = 5, 3
    mu = torch.randn(b, d, generator=g, dtype=torch.float64)
    lv = torch.randn(b, d, generator=g, dtype=torch.float64) * 0.5
    z = mu + (0.5 * lv).exp() * torch.randn(b, d, generator=g, dtype=torch.float64)
    m, s, zz = mu.numpy(), np.exp(0.5 * lv.numpy()), z.numpy()

    def logn(x, mean, std):
        return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)

    tc = 0.0
    for j in range(b):
        joint = np.log(sum(np.exp(sum(logn(zz[j, ln], m[i, ln], s[i, ln]) for ln in range(d))) for i in range(b)))
        marg = sum(np.log(sum(np.exp(logn(zz[j, ln], m[i, ln], s[i, ln])) for i in range(b))) for ln in range(d))
        tc += (joint - marg) / b
    assert float(L.total_correlation(z, mu, lv)) == pytest.approx(tc, rel=1e-10, abs=1e-10)


def test_total_correlation_is_zero_for_one_sample_and_factorised_posterior():
    # With B = 1, q(z) is the single posterior, which factorises: TC = 0 exactly.
    mu, lv = torch.randn(1, 4, dtype=torch.float64), torch.randn(1, 4, dtype=torch.float64)
    assert abs(float(L.total_correlation(mu + 0.1, mu, lv))) < 1e-12


def test_random_dim_permutation_acts_per_dimension_across_the_batch():
    b, d = 64, 5
    perm = L.random_dim_permutation(b, d, _rng(5))
    z = torch.arange(b * d, dtype=torch.float32).reshape(b, d)
    out = L.permute_dims(z, perm)
    for ln in range(d):
        # each column holds exactly the same values (a permutation of that dimension across the batch) ...
        assert torch.equal(out[:, ln].sort().values, z[:, ln])
        assert torch.equal(out[:, ln], z[perm[:, ln], ln])
    # ... and columns are shuffled independently: rows of the output mix different source rows
    src_rows = perm  # out[i, l] came from row perm[i, l]
    assert (src_rows != src_rows[:, :1]).any(dim=1).float().mean() > 0.9
    assert len({tuple(perm[:, ln].tolist()) for ln in range(d)}) == d


def test_batch_covariance_is_biased_numpy_cov():
    mu = torch.randn(7, 3, generator=_rng(6), dtype=torch.float64)
    assert np.allclose(L.batch_covariance(mu).numpy(), np.cov(mu.numpy(), rowvar=False, bias=True))


def test_dip_penalty_matches_loops():
    m = torch.randn(4, 4, generator=_rng(7), dtype=torch.float64)
    lod, ld = 2.0, 20.0
    direct = sum(lod * float(m[i, j]) ** 2 for i, j in itertools.product(range(4), range(4)) if i != j)
    direct += sum(ld * (float(m[i, i]) - 1) ** 2 for i in range(4))
    assert float(L.dip_penalty(m, lod, ld)) == pytest.approx(direct)
    assert float(L.dip_penalty(torch.eye(3), 5.0, 5.0)) == 0.0


@pytest.mark.parametrize("step,expected", [(0, 0.0), (50_000, 12.5), (100_000, 25.0), (300_000, 25.0)])
def test_annealed_capacity_ramps_linearly_then_holds(step, expected):
    assert float(L.annealed_capacity(step, 25.0, 100_000)) == pytest.approx(expected)
