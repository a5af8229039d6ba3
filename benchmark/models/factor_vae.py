"""FactorVAE (Kim & Mnih 2018, eq. 2 and Algorithm 2), as the reference implements it.

VAE loss: E_q(z|x)[-log p(x|z)] + KL(q(z|x) || N(0, I)) + gamma * TC, with the density-ratio
estimate TC ~ mean_batch[D_0(z) - D_1(z)] from the discriminator's two logits on the *sampled* codes
(gradients reach the encoder through z, not the discriminator: each optimiser updates only its own
parameters).

Discriminator loss: -[1/2 mean log p_0(z) + 1/2 mean log p_1(perm(z))], with class 0 = "sample of
q(z)", class 1 = "dimension-wise permuted", probabilities from the softmax clipped to
[1e-6, 1 - 1e-6]; perm shuffles every latent column independently across the batch
(:func:`benchmark.models.losses.permute_dims`). As in the reference -- unlike Kim & Mnih, who
permute a second batch -- the permuted codes come from the same batch, and both updates are
computed from one forward pass and applied simultaneously; the discriminator has its own Adam
(lr 1e-4, betas 0.5, 0.9).

Step-count quirk of the reference: both optimiser updates increment its global step and training
stops on the global step, so a nominal 300,000-step reference FactorVAE makes about 150,000 updates
of each network. Here one step is one simultaneous update of both; to match the reference's number
of updates train ``steps / 2``. The reference's choice is recorded in docs/performance.md (Training).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from benchmark.models import losses as L
from benchmark.models.architectures import Discriminator
from benchmark.models.base import GaussianModel, ModelConfig

PROB_CLIP = 1e-6


@dataclass
class FactorVAEConfig(ModelConfig):
    """gamma: TC weight (study grid 10, 20, 30, 40, 50, 100); discriminator 6 x 1000 LeakyReLU(0.2)."""

    model: ClassVar[str] = "factor_vae"
    HPARAMS: ClassVar[tuple] = ("gamma",)
    gamma: float = 10.0
    disc_hidden: int = 1000
    disc_layers: int = 6


def discriminator_loss(logits_z: torch.Tensor, logits_perm: torch.Tensor) -> torch.Tensor:
    """-(1/2 mean log p_0(z) + 1/2 mean log p_1(perm z)) with clipped softmax probabilities."""
    p_z = torch.softmax(logits_z, dim=1).clamp(PROB_CLIP, 1 - PROB_CLIP)
    p_perm = torch.softmax(logits_perm, dim=1).clamp(PROB_CLIP, 1 - PROB_CLIP)
    return -(0.5 * p_z[:, 0].log().mean() + 0.5 * p_perm[:, 1].log().mean())


class FactorVAE(GaussianModel):
    def __init__(self, config: FactorVAEConfig):
        super().__init__(config)
        self.discriminator = Discriminator(config.latent_dim, config.disc_hidden, config.disc_layers)

    def sample_noise(self, batch, generator=None, device="cpu", steps=None) -> dict:
        noise = super().sample_noise(batch, generator, device, steps)
        noise["perm"] = L.random_dim_permutation(batch, self.config.latent_dim, generator, device, steps)
        return noise

    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        logits_z = L.full_precision(self.discriminator(z))
        tc = (logits_z[:, 0] - logits_z[:, 1]).mean()
        logits_perm = L.full_precision(self.discriminator(L.permute_dims(z.detach(), noise["perm"])))
        return kl + hp["gamma"] * tc, {"tc": tc, "disc_loss": discriminator_loss(logits_z, logits_perm)}

    def param_groups(self):
        vae = [(n, p) for n, p in self.named_parameters() if not n.startswith("discriminator.")]
        return {"loss": vae, "disc_loss": list(self.discriminator.named_parameters(prefix="discriminator"))}


def build(config: FactorVAEConfig) -> FactorVAE:
    return FactorVAE(config)
