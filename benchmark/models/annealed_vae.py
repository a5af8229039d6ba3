"""AnnealedVAE / capacity-controlled beta-VAE (Burgess et al. 2018, eq. 8).

Loss: L(x) = E_q(z|x)[-log p(x|z)] + gamma * |KL(q(z|x) || N(0, I)) - C(t)| with
C(t) = min(c_max, c_max * t / iteration_threshold), t the global step (0 at the first update) and
KL the batch-mean value, as in the reference. Study: gamma = 1000, iteration_threshold = 100,000,
c_max in {5, 10, 25, 50, 75, 100}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from benchmark.errors import BenchmarkError
from benchmark.models import losses as L
from benchmark.models.base import GaussianModel, ModelConfig


@dataclass
class AnnealedVAEConfig(ModelConfig):
    """c_max: final capacity (nats); gamma: weight; iteration_threshold: steps of the linear ramp."""

    model: ClassVar[str] = "annealed_vae"
    HPARAMS: ClassVar[tuple] = ("c_max", "gamma")
    c_max: float = 25.0
    gamma: float = 1000.0
    iteration_threshold: int = 100_000

    def validate(self):
        super().validate()
        if int(self.iteration_threshold) < 1:
            raise BenchmarkError(f"iteration_threshold must be >= 1, got {self.iteration_threshold}")


class AnnealedVAE(GaussianModel):
    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        c = L.annealed_capacity(step, hp["c_max"], self.config.iteration_threshold)
        return hp["gamma"] * (kl - c).abs(), {"capacity": c}


def build(config: AnnealedVAEConfig) -> AnnealedVAE:
    return AnnealedVAE(config)
