"""DIP-VAE-II (Kumar et al. 2018, eq. 7).

Loss: as DIP-VAE-I but on Cov_q(z) = Cov[mu] + E_x[diag(exp(logvar))], the covariance of the
aggregate posterior; lambda_d = lambda_d_factor * lambda_od (study factor 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from benchmark.models import losses as L
from benchmark.models.dip_vae_i import DIPVAEI, DIPVAEIConfig


@dataclass
class DIPVAEIIConfig(DIPVAEIConfig):
    """lambda_od (study grid 1, 2, 5, 10, 20, 50); lambda_d_factor 1."""

    model: ClassVar[str] = "dip_vae_ii"
    lambda_od: float = 1.0
    lambda_d_factor: float = 1.0


class DIPVAEII(DIPVAEI):
    def covariance(self, mu, logvar):
        return L.batch_covariance(mu) + torch.diag_embed(logvar.exp().mean(0))


def build(config: DIPVAEIIConfig) -> DIPVAEII:
    return DIPVAEII(config)
