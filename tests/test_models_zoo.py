"""Every zoo model: interface, and each loss term against a direct computation from encode/decode."""

import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.models import MODELS, build_model, config_from_dict, losses as L, make_config

torch.set_num_threads(1)


def _x(n=6, c=1, seed=0):
    return torch.rand(n, c, 64, 64, generator=torch.Generator().manual_seed(seed))


def _same_noise(model, n, seed=1):
    return model.sample_noise(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", list(MODELS))
def test_interface(name):
    torch.manual_seed(0)
    cfg = make_config(name, channels=3, latent_dim=4)
    d = cfg.to_dict()
    assert d["model"] == name and d["recon_reduction"] == L.RECON_REDUCTION and d["kl_reduction"] == L.KL_REDUCTION
    assert config_from_dict({**d, "dataset": "x", "seed": 3}) == cfg
    m = build_model(cfg)
    mu, lv = m.encode(_x(c=3))
    assert mu.shape == (6, 4) and (lv is None) == (name == "ae")
    assert m.decode(mu).shape == (6, 3, 64, 64)
    terms = m.loss(_x(c=3), step=3, generator=torch.Generator().manual_seed(0))
    assert {"loss", "recon"} <= set(terms)
    assert all(t.dim() == 0 and torch.isfinite(t) for t in terms.values())
    groups = m.param_groups()
    ids = [id(p) for ps in groups.values() for _, p in ps]
    assert sorted(ids) == sorted(id(p) for p in m.parameters())  # disjoint and complete
    assert set(groups) <= set(terms)


def _direct(model, x, noise):
    mu, lv = model.encode(x)
    z = mu + torch.exp(lv / 2) * noise["eps"]
    logits = model.decode(z)
    p = torch.sigmoid(logits)
    recon = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum() / x.shape[0]
    kl = (0.5 * (mu**2 + lv.exp() - lv - 1)).sum(1).mean()
    return mu, lv, z, recon, kl


def test_ae_is_reconstruction_of_the_mean():
    m = build_model(make_config("ae"))
    x = _x()
    mu, lv = m.encode(x)
    p = torch.sigmoid(m.decode(mu))
    recon = -(x * p.log() + (1 - x) * (1 - p).log()).sum() / 6
    t = m.loss(x)
    assert lv is None and set(t) == {"loss", "recon"}
    assert torch.allclose(t["loss"], recon, rtol=1e-4)


@pytest.mark.parametrize("beta", [1.0, 4.0, 16.0])
def test_beta_vae_is_recon_plus_beta_kl(beta):
    m = build_model(make_config("beta_vae", beta=beta))
    x = _x()
    noise = _same_noise(m, 6)
    _, _, _, recon, kl = _direct(m, x, noise)
    t = m(x, noise)
    assert torch.allclose(t["recon"], recon, rtol=1e-4) and torch.allclose(t["kl"], kl, rtol=1e-4)
    assert torch.allclose(t["loss"], recon + beta * kl, rtol=1e-4)
    assert torch.allclose(t["elbo"], -(recon + kl), rtol=1e-4)


def test_vae_equals_beta_vae_with_beta_one():
    torch.manual_seed(0)
    a = build_model(make_config("vae"))
    torch.manual_seed(0)
    b = build_model(make_config("beta_vae", beta=1.0))
    x = _x()
    assert torch.equal(a(x, _same_noise(a, 6))["loss"], b(x, _same_noise(b, 6))["loss"])


def test_loss_uses_the_generator():
    m = build_model(make_config("vae"))
    x = _x()
    a = m.loss(x, generator=torch.Generator().manual_seed(5))["loss"]
    b = m.loss(x, generator=torch.Generator().manual_seed(5))["loss"]
    c = m.loss(x, generator=torch.Generator().manual_seed(6))["loss"]
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("step", [0, 40_000, 200_000])
def test_annealed_vae(step):
    m = build_model(make_config("annealed_vae", c_max=10.0, gamma=1000.0, iteration_threshold=100_000))
    x = _x()
    noise = _same_noise(m, 6)
    _, _, _, recon, kl = _direct(m, x, noise)
    c = min(10.0, 10.0 * step / 100_000)
    t = m(x, noise, step)
    assert float(t["capacity"]) == pytest.approx(c)
    assert torch.allclose(t["loss"], recon + 1000.0 * (kl - c).abs(), rtol=1e-4)


def test_beta_tcvae_is_kl_plus_beta_minus_one_tc():
    m = build_model(make_config("beta_tcvae", beta=6.0))
    x = _x()
    noise = _same_noise(m, 6)
    mu, lv, z, recon, kl = _direct(m, x, noise)
    tc = L.total_correlation(z, mu, lv)
    t = m(x, noise)
    assert torch.allclose(t["tc"], tc, rtol=1e-4, atol=1e-4)
    assert torch.allclose(t["loss"], recon + kl + 5.0 * tc, rtol=1e-4)


@pytest.mark.parametrize("name,factor", [("dip_vae_i", 10.0), ("dip_vae_ii", 1.0)])
def test_dip_vae(name, factor):
    m = build_model(make_config(name, lambda_od=3.0))
    assert m.config.lambda_d_factor == factor
    x = _x(n=9)
    noise = _same_noise(m, 9)
    mu, lv, _, recon, kl = _direct(m, x, noise)
    centred = mu - mu.mean(0)
    cov = centred.T @ centred / 9  # biased
    if name == "dip_vae_ii":
        cov = cov + torch.diag(lv.exp().mean(0))
    off = cov - torch.diag(torch.diag(cov))
    pen = 3.0 * (off**2).sum() + factor * 3.0 * ((torch.diag(cov) - 1) ** 2).sum()
    t = m(x, noise)
    assert torch.allclose(t["dip"], pen, rtol=1e-4, atol=1e-6)
    assert torch.allclose(t["loss"], recon + kl + pen, rtol=1e-4)


def test_factor_vae_terms_and_permutation():
    m = build_model(make_config("factor_vae", gamma=40.0, latent_dim=5))
    x = _x(n=8)
    noise = _same_noise(m, 8)
    assert noise["perm"].shape == (8, 5)
    mu, lv, z, recon, kl = _direct(m, x, noise)
    lz = m.discriminator(z)
    zp = torch.stack([z[noise["perm"][:, ln], ln] for ln in range(5)], 1)
    lp = m.discriminator(zp)
    tc = (lz[:, 0] - lz[:, 1]).mean()
    disc = -(
        0.5 * torch.softmax(lz, 1)[:, 0].clamp(1e-6, 1 - 1e-6).log().mean()
        + 0.5 * torch.softmax(lp, 1)[:, 1].clamp(1e-6, 1 - 1e-6).log().mean()
    )
    t = m(x, noise)
    assert torch.allclose(t["tc"], tc, rtol=1e-4, atol=1e-5)
    assert torch.allclose(t["loss"], recon + kl + 40.0 * tc, rtol=1e-4)
    assert torch.allclose(t["disc_loss"], disc, rtol=1e-5)
    names = {k: [n for n, _ in v] for k, v in m.param_groups().items()}
    assert all(n.startswith("discriminator.") for n in names["disc_loss"])
    assert not any(n.startswith("discriminator.") for n in names["loss"])


def test_factor_vae_gradients_reach_encoder_through_tc():
    m = build_model(make_config("factor_vae", gamma=100.0))
    x = _x()
    noise = _same_noise(m, 6)
    t = m(x, noise)
    tc_grad = torch.autograd.grad(t["tc"], m.encoder.mean.weight, retain_graph=True)[0]
    assert tc_grad.abs().sum() > 0
    disc_grad = torch.autograd.grad(t["disc_loss"], list(m.discriminator.parameters()))[0]
    assert disc_grad.abs().sum() > 0


def test_bad_configs_are_one_line_errors():
    with pytest.raises(BenchmarkError, match="unknown model"):
        make_config("wae")
    with pytest.raises(BenchmarkError, match="no parameter gamma"):
        make_config("beta_vae", gamma=3)
    with pytest.raises(BenchmarkError, match="architecture"):
        make_config("vae", architecture="resnet")
    with pytest.raises(BenchmarkError, match="beta"):
        make_config("beta_vae", beta=-1)


@pytest.mark.parametrize(
    "model,param,value",
    [
        ("annealed_vae", "c_max", -1.0),
        ("factor_vae", "gamma", float("inf")),
        ("dip_vae_i", "lambda_od", float("nan")),
        ("beta_tcvae", "beta", float("nan")),
        ("dip_vae_ii", "lambda_d_factor", -2.0),
        ("annealed_vae", "gamma", "x"),
    ],
)
def test_non_finite_or_negative_hyperparameters_are_refused(model, param, value):
    # they used to train silently (negative capacity) or stop at step 1 blaming the learning rate
    with pytest.raises(BenchmarkError, match=f"{param} must be a finite number >= 0"):
        make_config(model, **{param: value})


def test_flag_for_a_model_without_hyperparameters_says_so():
    with pytest.raises(BenchmarkError, match="vae has no parameter beta; it takes no hyperparameters"):
        make_config("vae", beta=4.0)
