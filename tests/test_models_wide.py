"""The wide network of K conv members equals the K zoo models (float64), and stacks in every layout agree."""

import pytest
import torch

from benchmark.models import build_model, make_config
from benchmark.models.wide import from_wide, to_wide, wide_decode, wide_encode
from benchmark.train import TrainConfig
from benchmark.train.loop import init_model
from benchmark.train.stack import MemberStack


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("channels_last", [False, True])
def test_wide_network_equals_each_member(float64, channels_last):
    torch.manual_seed(0)
    k, b = 3, 5
    models = [build_model(make_config("beta_vae", channels=3)) for _ in range(k)]
    for m in models:  # not the zero-bias init: every weight matters
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.1)
    params = {n: torch.stack([dict(m.named_parameters())[n] for m in models]) for n, _ in models[0].named_parameters()}
    x = torch.rand(k, b, 3, 64, 64)
    z = torch.randn(k, b, 10)
    mu, logvar = wide_encode(params, to_wide(x, channels_last), k)
    logits = from_wide(wide_decode(params, z, channels_last), k)
    for i, m in enumerate(models):
        mu_i, logvar_i = m.encode(x[i])
        torch.testing.assert_close(mu[i], mu_i, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(logvar[i], logvar_i, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(logits[i], m.decode(z[i]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "rows",
    [
        (("vae", {}), ("beta_vae", {"beta": 4.0})),
        (("ae", {}), ("ae", {})),
        (("factor_vae", {"gamma": 10.0}), ("factor_vae", {"gamma": 30.0})),
        (("annealed_vae", {"c_max": 5.0}), ("annealed_vae", {"c_max": 10.0})),
    ],
)
def test_stack_layouts_compute_the_same_loss_and_gradients(float64, rows):
    cs = [TrainConfig(model=m, params=p, seed=s) for s, (m, p) in enumerate(rows)]
    x = (torch.rand(2, 6, 1, 64, 64) > 0.8).double()
    noise = init_model(cs[0], 1).sample_noise(6, torch.Generator().manual_seed(0), "cpu", steps=2)
    out = {}
    for layout in ("vmap", "wide", "wide_cl"):
        stack = MemberStack([init_model(c, 1) for c in cs], layout)
        terms = stack.forward(x, noise, torch.tensor(3.0))
        terms["loss"].sum().backward()
        out[layout] = terms, {n: p.grad for n, p in stack.params.items() if p.grad is not None}
    for layout in ("wide", "wide_cl"):
        for k, v in out["vmap"][0].items():
            torch.testing.assert_close(out[layout][0][k], v, rtol=1e-12, atol=1e-10)
        assert out[layout][1].keys() == out["vmap"][1].keys()
        for n, g in out["vmap"][1].items():
            torch.testing.assert_close(out[layout][1][n], g, rtol=1e-10, atol=1e-12)
