import math

import numpy as np
import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.metrics import generative as gen
from metrics_helpers import LinearVAE, dataset

PIX = 16 * 16


def test_hand_checked_losses():
    x = torch.tensor([[[[0.0, 1.0], [0.5, 0.25]]]])
    zero = torch.zeros_like(x)
    assert gen.bernoulli_nll(zero, x).item() == pytest.approx(4 * math.log(2))  # sigmoid(0) = 1/2 everywhere
    assert gen.squared_error(zero, x).item() == pytest.approx(0.25 + 0.25 + 0.0 + 0.0625)
    mu, lv = torch.zeros(1, 3), torch.zeros(1, 3)
    assert gen.gaussian_kl(mu, lv).sum().item() == 0.0
    kl = gen.gaussian_kl(torch.tensor([[1.0]]), torch.tensor([[math.log(2.0)]])).item()
    assert kl == pytest.approx(0.5 * (1 + 2 - math.log(2) - 1))
    z = torch.tensor([[0.5, -1.0]])
    expected = sum(-0.5 * math.log(2 * math.pi) - 0.5 * v * v for v in (0.5, -1.0))
    assert gen.log_normal(z, torch.zeros(1, 2), torch.zeros(1, 2)).item() == pytest.approx(expected)


def test_iwae_bound_tightens_with_k():
    torch.manual_seed(0)
    model = LinearVAE(PIX, dim=3)
    x = dataset().observe(np.arange(0, 120, 7))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        b1 = torch.stack([gen.iwae_bound(model, x, 1, g) for _ in range(20)]).mean().item()
        b50 = torch.stack([gen.iwae_bound(model, x, 50, g) for _ in range(5)]).mean().item()
    assert b50 > b1


def test_generative_scores_keys_and_consistency():
    ds, model = dataset(), LinearVAE(PIX, dim=3)
    s = gen.generative_scores(model, ds, np.random.default_rng(0), num_points=40, batch_size=16, iwae_k=5)
    assert s["elbo"] == pytest.approx(-(s["reconstruction_nll"] + s["kl"]))
    assert sum(s["kl_per_dim"]) == pytest.approx(s["kl"], rel=1e-5)
    assert 0 <= s["active_units"] <= 3 and 0 <= s["active_units_variance"] <= 3
    assert s["reconstruction_l2"] == pytest.approx(s["reconstruction_mse"] * PIX)
    assert s["iwae_points"] == 40 and math.isfinite(s["iwae_log_likelihood"])
    again = gen.generative_scores(model, ds, np.random.default_rng(0), num_points=40, batch_size=16, iwae_k=5)
    assert again == s


def test_deterministic_encoder_has_only_reconstruction_scores():
    ds, model = dataset(), LinearVAE(PIX, dim=3, logvar=False)
    s = gen.generative_scores(model, ds, np.random.default_rng(0), num_points=20, iwae_k=5)
    assert s["kl"] is None and s["elbo"] is None and s["iwae_log_likelihood"] is None
    assert s["reconstruction_nll_mean"] > 0
    with pytest.raises(BenchmarkError, match="stochastic encoder"):
        gen.iwae_bound(model, ds.observe([0, 1]), 2)
