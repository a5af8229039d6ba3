"""Shared pieces of every model: the config base class and the Gaussian-encoder model.

A model is an ``nn.Module`` with

* ``encode(x) -> (mu, logvar)`` (``logvar`` is ``None`` for the deterministic AE),
* ``decode(z) -> logits`` (B, C, 64, 64),
* ``loss(x, step=0, generator=None) -> dict`` of named scalar terms; ``"loss"`` is what the main
  (encoder + decoder) optimiser minimises. FactorVAE adds ``"disc_loss"`` for its discriminator.

Randomness (the reparameterisation noise, FactorVAE's permutations) is drawn by
:meth:`GaussianModel.sample_noise` and passed to :meth:`GaussianModel.forward` explicitly, and the
numeric hyperparameters are passed as ``hp``, so the same ``forward`` runs one model or a vmapped
ensemble of them (``benchmark.train.ensemble``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import ClassVar, Optional

import torch
from torch import nn

from benchmark.errors import BenchmarkError
from benchmark.models import losses as L
from benchmark.models.architectures import ARCHITECTURES, build_decoder, build_encoder


@dataclass
class ModelConfig:
    """Architecture and loss conventions shared by every model.

    Parameters
    ----------
    latent_dim : int
        Code size D (reference: 10).
    channels : int
        Image channels C (1 for dSprites, 3 for colour datasets).
    architecture : str
        ``conv`` (reference conv encoder / deconv decoder) or ``fc`` (the paper's dSprites MLP).
    likelihood : str
        ``bernoulli`` (sigmoid cross-entropy on logits, the reference) or ``gaussian`` (L2 on
        ``sigmoid(logits)``).
    recon_reduction, kl_reduction : str
        The pinned reduction conventions, recorded so every result says what beta meant.
    """

    model: ClassVar[str] = ""
    HPARAMS: ClassVar[tuple[str, ...]] = ()  # numeric hyperparameters the loss uses

    latent_dim: int = 10
    channels: int = 1
    architecture: str = "conv"
    likelihood: str = "bernoulli"
    recon_reduction: str = L.RECON_REDUCTION
    kl_reduction: str = L.KL_REDUCTION

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise BenchmarkError(
                f"unknown architecture {self.architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
            )
        if self.likelihood not in L.LIKELIHOODS:
            raise BenchmarkError(f"unknown likelihood {self.likelihood!r}; choose one of {', '.join(L.LIKELIHOODS)}")
        if int(self.latent_dim) < 1 or int(self.channels) < 1:
            raise BenchmarkError(f"latent_dim and channels must be >= 1, got {self.latent_dim} and {self.channels}")
        if self.recon_reduction != L.RECON_REDUCTION or self.kl_reduction != L.KL_REDUCTION:
            raise BenchmarkError(f"only the pinned reductions {L.RECON_REDUCTION} / {L.KL_REDUCTION} are implemented")
        for k in self.HPARAMS:  # loss weights and capacities: NaN/inf/negative values train garbage silently
            v = getattr(self, k)
            if not _non_negative(v):
                raise BenchmarkError(
                    f"{k} must be a finite number >= 0, got {v!r}; pass such a --{k.replace('_', '-')}"
                )

    def to_dict(self) -> dict:
        """Plain dict (primitives only) including the model name."""
        return {"model": self.model, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Build from a dict, ignoring keys that are not fields (e.g. training settings)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def hparams(self) -> dict[str, float]:
        """The numeric hyperparameters used by the loss, as floats."""
        return {k: float(getattr(self, k)) for k in self.HPARAMS}


def _non_negative(v) -> bool:
    try:
        return math.isfinite(float(v)) and float(v) >= 0
    except (TypeError, ValueError):
        return False


class GaussianModel(nn.Module):
    """Gaussian encoder q(z|x) = N(mu, diag exp(logvar)) and a decoder returning logits."""

    STOCHASTIC: ClassVar[bool] = True  # False: no log-variance head, z = mu (the AE)

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config.architecture, config.channels, config.latent_dim, self.STOCHASTIC)
        self.decoder = build_decoder(config.architecture, config.channels, config.latent_dim)

    # --- the interface the metrics and the trainer rely on -------------------------------------
    def encode(self, x: torch.Tensor):
        """(mu, logvar), each (B, D)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Logits (B, C, 64, 64); ``torch.sigmoid`` gives the Bernoulli means."""
        return self.decoder(z)

    def sample_noise(
        self, batch: int, generator: Optional[torch.Generator] = None, device="cpu", steps: Optional[int] = None
    ) -> dict:
        """The random draws of one step (drawn outside ``forward`` so ensembles can stack them).

        ``steps=S`` draws S steps at once, each tensor with a leading dimension S (the CUDA
        engine's device-side stream fills its buffers this way).
        """
        lead = (batch,) if steps is None else (int(steps), batch)
        return {"eps": torch.randn(*lead, self.config.latent_dim, generator=generator, device=device)}

    def loss(self, x: torch.Tensor, step: int = 0, generator: Optional[torch.Generator] = None) -> dict:
        """Named scalar loss terms of one batch; ``"loss"`` is minimised."""
        return self(x, self.sample_noise(x.shape[0], generator, x.device), step, None)

    def forward(
        self, x: torch.Tensor, noise: dict, step: int = 0, hp: Optional[dict] = None, coded: Optional[tuple] = None
    ) -> dict:
        """Loss terms given explicit noise and hyperparameters (``hp=None``: the config's).

        ``coded = (mu, logvar, logits)``: the encoder's and decoder's outputs for ``x`` computed
        elsewhere (the wide ensemble network, :mod:`benchmark.models.wide`); only the losses run here.
        """
        hp = self.config.hparams() if hp is None else hp
        if coded is None:
            mu, logvar = self.encode(x)
            z = L.reparameterize(mu, logvar, noise["eps"])
            logits = self.decode(z)
        else:
            mu, logvar, logits = coded
            z = L.reparameterize(mu, logvar, noise["eps"])  # the same elementwise z the decoder was given
        recon = L.reconstruction_loss(logits, x, self.config.likelihood)
        f = L.full_precision
        kl = L.kl_divergence(f(mu), f(logvar))
        reg, extra = self.regularizer(kl, z=f(z), mu=f(mu), logvar=f(logvar), noise=noise, step=step, hp=hp)
        return {"loss": recon + reg, "recon": recon, "kl": kl, "elbo": -(recon + kl), "regularizer": reg, **extra}

    def regularizer(self, kl, *, z, mu, logvar, noise, step, hp):
        """The model's regulariser and any extra logged terms; overridden by each model."""
        raise NotImplementedError

    # --- optimisation ---------------------------------------------------------------------------
    def param_groups(self) -> dict[str, list[tuple[str, nn.Parameter]]]:
        """Named parameter lists per optimiser; the key is the loss term it minimises."""
        return {"loss": list(self.named_parameters())}
