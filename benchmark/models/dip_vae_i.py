"""DIP-VAE-I (Kumar et al. 2018, eq. 6).

Loss: L(x) = E_q(z|x)[-log p(x|z)] + KL + lambda_od * sum_{i!=j} Cov[mu]_ij^2
+ lambda_d * sum_i (Cov[mu]_ii - 1)^2, with Cov[mu] the biased batch covariance of the encoder means
and lambda_d = lambda_d_factor * lambda_od (the reference's parameterisation; study factor 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from benchmark.models import losses as L
from benchmark.models.base import GaussianModel, ModelConfig


@dataclass
class DIPVAEIConfig(ModelConfig):
    """lambda_od: off-diagonal weight (study grid 1, 2, 5, 10, 20, 50); lambda_d = lambda_d_factor * lambda_od."""

    model: ClassVar[str] = "dip_vae_i"
    HPARAMS: ClassVar[tuple] = ("lambda_od", "lambda_d_factor")
    lambda_od: float = 10.0
    lambda_d_factor: float = 10.0


class DIPVAEI(GaussianModel):
    def covariance(self, mu, logvar):
        return L.batch_covariance(mu)

    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        cov = self.covariance(mu, logvar)
        dip = L.dip_penalty(cov, hp["lambda_od"], hp["lambda_d_factor"] * hp["lambda_od"])
        return kl + dip, {"dip": dip}


def build(config: DIPVAEIConfig) -> DIPVAEI:
    return DIPVAEI(config)
