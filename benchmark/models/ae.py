"""Deterministic autoencoder (Rumelhart, Hinton & Williams 1986).

Loss: L(x) = -log p(x | d(e(x))), the reconstruction term only (Bernoulli on logits by default),
summed over pixels and averaged over the batch. ``encode`` returns ``(mu, None)``: the code is the
encoder's mean head; there is no log-variance head and no sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

import torch

from benchmark.models import losses as L
from benchmark.models.base import GaussianModel, ModelConfig


@dataclass
class AEConfig(ModelConfig):
    """Autoencoder: no hyperparameters beyond the shared ones."""

    model: ClassVar[str] = "ae"


class AE(GaussianModel):
    STOCHASTIC = False

    def sample_noise(self, batch, generator=None, device="cpu", steps=None) -> dict:
        return {}

    def forward(
        self, x: torch.Tensor, noise: dict, step: int = 0, hp: Optional[dict] = None, coded: Optional[tuple] = None
    ) -> dict:
        logits = self.decode(self.encode(x)[0]) if coded is None else coded[2]
        recon = L.reconstruction_loss(logits, x, self.config.likelihood)
        return {"loss": recon, "recon": recon}


def build(config: AEConfig) -> AE:
    return AE(config)
