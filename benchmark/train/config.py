"""``TrainConfig``: everything that defines how one model is trained (a plain, JSON-able dataclass)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Optional

from benchmark.errors import BenchmarkError

OPTIMIZERS = ("adam", "adagrad")
SWITCHES = ("auto", "on", "off")
SEED_MAX = 2**32 - 1
# Upper bounds that refuse a typo before it becomes an allocation of terabytes: a batch of 65,536
# images is 1 GiB of float32 input alone, and no study uses codes wider than a few hundred.
BATCH_MAX = 65_536
LATENT_MAX = 4_096

# Fields that may change when a run is resumed (where/how fast it runs, how long, how often it
# logs); every other field defines the run, and a checkpoint written with other values is refused.
RESUMABLE_CHANGES = (
    "steps",
    "log_every",
    "checkpoint_every",
    "device",
    "amp",
    "compile",
    "channels_last",
    "threads",
    "graph",
)


@dataclass
class TrainConfig:
    """How one model is trained. Defaults are the reference study's.

    Parameters
    ----------
    model : str
        Zoo name (``benchmark.models.MODELS``): ae, vae, beta_vae, annealed_vae, factor_vae,
        beta_tcvae, dip_vae_i, dip_vae_ii.
    params : dict
        The model's hyperparameters, e.g. ``{"beta": 4.0}`` (unknown names are an error).
    dataset : str
        Registry name of the dataset (recorded; the images come from the dataset object passed
        to :func:`benchmark.train.train`).
    architecture, latent_dim, likelihood
        ``conv`` | ``fc``, code size D, ``bernoulli`` | ``gaussian``.
    steps, batch_size : int
        Optimiser steps (paper preset 300,000) and images per step (64). Batches are drawn
        uniformly with replacement over the whole factor grid, as the reference does.
    optimizer, lr, adam_beta1, adam_beta2, adam_eps
        Main optimiser (Adam, lr 1e-4, betas 0.9/0.999, eps 1e-8 in TensorFlow 1's convention, as the
        reference: see ``optim._tf1_adam_epsilon``; or Adagrad for the paper's FC recipe).
    disc_lr, disc_beta1, disc_beta2
        FactorVAE discriminator's Adam (lr 1e-4, betas 0.5/0.9).
    seed : int
        Seeds the initial weights, the data stream (numpy Generator) and the noise (torch Generator).
    log_every, checkpoint_every : int
        Steps between CSV log rows / atomic checkpoints (a checkpoint is also written at the end).
    device : str
        ``auto`` (CUDA, then MPS, then CPU) or an explicit torch device string.
    amp : str
        ``auto`` (bfloat16 autocast on CUDA, off elsewhere), ``on`` or ``off``.
    compile : str
        ``torch.compile`` the loss: ``auto`` (off: not yet measured to pay), ``on`` or ``off``.
    channels_last : str
        NHWC memory format for the conv model: ``auto`` (on for CPU), ``on`` or ``off``.
    graph : str
        CUDA engine: ``auto``/``on`` draw data and noise on the device and replay each step as
        one CUDA graph; ``off`` runs the same device step eagerly. CPU (and datasets with per-image
        numpy nuisance) always run the host engine; ``on`` there is an error.
    threads : int or None
        CPU intra-op threads; None picks the idle cores at start (``benchmark.runtime.set_threads``).
    """

    model: str = "beta_vae"
    params: dict = field(default_factory=dict)
    dataset: str = "dsprites"
    architecture: str = "conv"
    latent_dim: int = 10
    likelihood: str = "bernoulli"
    steps: int = 300_000
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-4
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    disc_lr: float = 1e-4
    disc_beta1: float = 0.5
    disc_beta2: float = 0.9
    seed: int = 0
    log_every: int = 100
    checkpoint_every: int = 5_000
    device: str = "auto"
    amp: str = "auto"
    compile: str = "auto"
    channels_last: str = "auto"
    graph: str = "auto"
    threads: Optional[int] = None

    def __post_init__(self):
        self.params = dict(self.params)
        self.validate()

    def validate(self) -> None:
        def need(cond, msg):
            if not cond:
                raise BenchmarkError(msg)

        need(int(self.steps) >= 0, f"steps must be >= 0, got {self.steps}; pass a non-negative --steps")
        need(
            2 <= int(self.batch_size) <= BATCH_MAX,
            f"batch_size must be between 2 and {BATCH_MAX:,}, got "
            f"{self.batch_size}; pass a --batch-size in that range (the reference trains with 64)",
        )
        need(
            1 <= int(self.latent_dim) <= LATENT_MAX,
            f"latent_dim must be between 1 and {LATENT_MAX:,}, got "
            f"{self.latent_dim}; pass a --latent-dim in that range (the reference uses 10)",
        )
        need(math.isfinite(float(self.lr)) and float(self.lr) > 0, f"lr must be a finite number > 0, got {self.lr}")
        need(
            int(self.log_every) >= 1 and int(self.checkpoint_every) >= 1,
            f"log_every and checkpoint_every must be >= 1, got {self.log_every} and {self.checkpoint_every}",
        )
        need(
            self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
        for name in ("amp", "compile", "channels_last", "graph"):
            need(
                getattr(self, name) in SWITCHES,
                f"{name} must be one of {', '.join(SWITCHES)}, got {getattr(self, name)!r}",
            )
        need(self.threads is None or int(self.threads) >= 1, f"threads must be >= 1, got {self.threads}")
        # numpy's SeedSequence refuses negative seeds and torch's manual_seed ones past 64 bits; 32 bits
        # also fit the metrics' RandomState, which run_all seeds with the model seed
        need(
            0 <= int(self.seed) <= SEED_MAX,
            f"seed must be between 0 and {SEED_MAX}, got {self.seed}; pass such a --seed",
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def identity(self) -> dict:
        """The fields that define the run (a resumed checkpoint must agree on all of them)."""
        return {k: v for k, v in self.to_dict().items() if k not in RESUMABLE_CHANGES}
