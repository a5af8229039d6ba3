"""Our loss terms against disentanglement_lib's own, on fixed tensors.

``tests/data/reference_golden_losses.npz`` was written once by
``scripts/make_reference_golden_losses.py``, which runs disentanglement_lib's loss code itself
(``methods/shared/losses.py`` and ``methods/unsupervised/vae.py`` @ 86a644d4, unmodified, TensorFlow
2.18's compat.v1 graph mode) on fixed random images, logits, means, log-variances and samples, and
stores the tensors with the values it returned. No reference code is stored. Here every term is
recomputed with our functions and models (float32, as the reference) and must agree to float32
rounding: the Bernoulli and L2 reconstruction (summed over pixels, batch mean), the KL, the
minibatch-weighted-sampling total correlation, and the regularisers of beta-VAE, beta-TCVAE, DIP-VAE
I and II and AnnealedVAE (its capacity at several global steps); and the optimiser: five steps of
TF1's ``AdamOptimizer`` with the reference's settings against the engine's Adam (7e-9 / 1.2e-7 apart,
float32 rounding; PyTorch's own epsilon convention lands ~4e-4 away on the epsilon-sized gradients).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.models import build_model, make_config
from benchmark.models import losses as L

GOLDEN = Path(__file__).parent / "data" / "reference_golden_losses.npz"
RTOL = 1e-6  # float32 in both libraries; measured: at most 1.7e-7 apart


@pytest.fixture(scope="module")
def golden():
    d = np.load(GOLDEN, allow_pickle=False)
    t = {k: torch.from_numpy(d[k]) for k in ("x_binary", "x_cont", "logits", "mu", "logvar", "z")}
    for k in ("x_binary", "x_cont", "logits"):  # NHWC (TensorFlow) -> NCHW
        t[k] = t[k].permute(0, 3, 1, 2).contiguous()
    return t, [int(s) for s in d["steps"]], json.loads(str(d["reference_json"]))


def test_reconstruction_terms(golden):
    t, _, ref = golden
    assert L.reconstruction_loss(t["logits"], t["x_binary"], "bernoulli").item() == pytest.approx(
        ref["bernoulli_binary"], rel=RTOL
    )
    assert L.reconstruction_loss(t["logits"], t["x_cont"], "bernoulli").item() == pytest.approx(
        ref["bernoulli_continuous"], rel=RTOL
    )
    assert L.reconstruction_loss(t["logits"], t["x_cont"], "gaussian").item() == pytest.approx(
        ref["l2_continuous"], rel=RTOL
    )


def test_kl_and_total_correlation(golden):
    t, _, ref = golden
    assert L.kl_divergence(t["mu"], t["logvar"]).item() == pytest.approx(ref["kl"], rel=RTOL)
    assert L.total_correlation(t["z"], t["mu"], t["logvar"]).item() == pytest.approx(ref["total_correlation"], rel=RTOL)


def _regularizer(name, t, step=0, **params):
    model = build_model(make_config(name, **params))
    kl = L.kl_divergence(t["mu"], t["logvar"])
    reg, _ = model.regularizer(
        kl, z=t["z"], mu=t["mu"], logvar=t["logvar"], noise=None, step=step, hp=model.config.hparams()
    )
    return float(reg)


@pytest.mark.parametrize(
    "name, params, key",
    [
        ("beta_vae", {"beta": 4.0}, "beta_vae_beta4"),
        ("beta_tcvae", {"beta": 6.0}, "beta_tcvae_beta6"),
        ("dip_vae_i", {"lambda_od": 10.0}, "dip_vae_i_od10"),  # lambda_d = 10 x lambda_od, the default
        ("dip_vae_ii", {"lambda_od": 5.0}, "dip_vae_ii_od5"),  # lambda_d = lambda_od, the default
    ],
)
def test_regularizers(golden, name, params, key):
    t, _, ref = golden
    assert _regularizer(name, t, **params) == pytest.approx(ref[key], rel=RTOL, abs=1e-4)


def test_annealed_capacity_over_the_global_step(golden):
    t, steps, ref = golden
    for s in steps:  # gamma 1000 and iteration_threshold 100,000 are the defaults
        assert _regularizer("annealed_vae", t, step=s, c_max=25.0) == pytest.approx(
            ref[f"annealed_vae_c25_step{s}"], rel=RTOL
        ), s


@pytest.mark.parametrize(
    "model_name, key, golden_key", [("beta_vae", "loss", "adam_vae"), ("factor_vae", "disc_loss", "adam_discriminator")]
)
def test_adam_matches_tensorflow1s_adam_optimizer(model_name, key, golden_key):
    """Five steps of TF1's AdamOptimizer (reference settings) on gradients from 1e-8 to 1: the engine's
    optimiser (make_optimizers, fused Adam + the epsilon hook) lands on the same weights."""
    from benchmark.train import TrainConfig
    from benchmark.train.optim import make_optimizers

    d = np.load(GOLDEN, allow_pickle=False)
    model = build_model(make_config(model_name))
    opt = make_optimizers(model, TrainConfig(model=model_name))[key]
    params = opt.param_groups[0]["params"]
    p = next(q for q in params if q.numel() >= 256)
    with torch.no_grad():
        p.view(-1)[:256] = torch.from_numpy(d["adam_w0"])
    for grad in d["adam_grads"]:
        for q in params:
            q.grad = torch.zeros_like(q)
        p.grad.view(-1)[:256] = torch.from_numpy(grad)
        opt.step()
    want = d[golden_key]
    moved = np.abs(want - d["adam_w0"])
    got = p.detach().reshape(-1)[:256].numpy()
    # float32 in both; the epsilon-sized gradients move ~2e-5 here and ~4e-4 under PyTorch's own convention
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-3 * moved.max())
