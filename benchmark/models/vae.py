"""Variational autoencoder (Kingma & Welling 2014, eq. 10).

Loss: L(x) = E_q(z|x)[-log p(x|z)] + KL(q(z|x) || N(0, I)), one reparameterised sample
z = mu + exp(logvar/2) * eps; reconstruction summed over pixels, KL summed over latents, both
averaged over the batch (the negative ELBO).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from benchmark.models.base import GaussianModel, ModelConfig


@dataclass
class VAEConfig(ModelConfig):
    """VAE: beta = 1 fixed."""

    model: ClassVar[str] = "vae"


class VAE(GaussianModel):
    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        return kl, {}


def build(config: VAEConfig) -> VAE:
    return VAE(config)
