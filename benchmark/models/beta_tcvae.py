"""beta-TCVAE (Chen et al. 2018, eq. 4, minibatch-weighted sampling as in the reference).

Loss: L(x) = E_q(z|x)[-log p(x|z)] + KL(q(z|x) || N(0, I)) + (beta - 1) * TC(z), i.e. the reference's
``KL + (beta - 1) TC`` form (beta = 1 is the VAE), where TC is the minibatch-weighted-sampling
estimate on the current batch of sampled codes (:func:`benchmark.models.losses.total_correlation`;
the constant -log(B N) normalisers are omitted, so the logged ``tc`` is offset by a constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from benchmark.models import losses as L
from benchmark.models.base import GaussianModel, ModelConfig


@dataclass
class BetaTCVAEConfig(ModelConfig):
    """beta: total-correlation weight (study grid 1, 2, 4, 6, 8, 10)."""

    model: ClassVar[str] = "beta_tcvae"
    HPARAMS: ClassVar[tuple] = ("beta",)
    beta: float = 6.0


class BetaTCVAE(GaussianModel):
    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        tc = L.total_correlation(z, mu, logvar)
        return kl + (hp["beta"] - 1.0) * tc, {"tc": tc}


def build(config: BetaTCVAEConfig) -> BetaTCVAE:
    return BetaTCVAE(config)
