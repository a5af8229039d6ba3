"""beta-VAE (Higgins et al. 2017, eq. 4).

Loss: L(x) = E_q(z|x)[-log p(x|z)] + beta * KL(q(z|x) || N(0, I)). With the pinned reductions
(reconstruction summed over pixels, KL summed over latents, both batch-mean) beta is the paper's
beta; beta = 1 is the VAE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from benchmark.errors import BenchmarkError
from benchmark.models.base import GaussianModel, ModelConfig


@dataclass
class BetaVAEConfig(ModelConfig):
    """beta: weight of the KL term (study grid 1, 2, 4, 6, 8, 16)."""

    model: ClassVar[str] = "beta_vae"
    HPARAMS: ClassVar[tuple] = ("beta",)
    beta: float = 4.0

    def validate(self):
        super().validate()
        if not float(self.beta) >= 0:
            raise BenchmarkError(f"beta must be >= 0, got {self.beta}")


class BetaVAE(GaussianModel):
    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        return hp["beta"] * kl, {}


def build(config: BetaVAEConfig) -> BetaVAE:
    return BetaVAE(config)
