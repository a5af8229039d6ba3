"""Named protocols: how long to train, with which recipe, and how large the metric samples are.

``paper``
    The reference protocol (disentanglement_lib's ``unsupervised_study_v1``): conv encoder/decoder, 10 latents,
    Bernoulli decoder, Adam lr 1e-4, batch 64,
    300,000 steps, every metric at the reference sample sizes. Meant for a GPU (~6 h per model on a
    2-core CPU).
``quick``
    Sized so that ``python run_all.py --betas 1 4 16`` (AE + 3 betas + baselines, training, the
    metric suite and figures) finishes in under 20 minutes on a 2-core laptop CPU. Its
    reconstruction / KL / active-unit numbers show the rate-distortion trade-off, but its
    disentanglement scores are a **smoke test**: the paper's ordering needs far longer training.
``paper_fc``
    The beta-VAE paper's own dSprites recipe (Higgins et al. 2017, appendix Table 1): fully connected
    1200-1200 encoder, 1200x3 tanh decoder, Adagrad lr 1e-2, with the paper's variant of the
    beta-VAE score beside the reference one, trained as long as the quick preset allows.
``tiny``
    A few hundred steps on the 23,040-image ``dsprites_mini`` grid with small metric samples: for
    tests and for checking an installation in about a minute. Its numbers mean nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from benchmark.errors import BenchmarkError
from benchmark.results.columns import smoke_test_note

# The quick preset's metric sizes: the metrics layer's "quick" sizes, halved again for the scores whose
# samples dominate the encoding cost (each beta-VAE point encodes 2 x 64 images) and for DCI's
# boosted trees (the slowest fit). Measured cost per trained model on the 2-core CPU: docs/performance.md.
QUICK_METRIC_PARAMS = {
    "beta_vae": {"num_train": 500, "num_eval": 250},
    "beta_vae_paper": {"num_train": 500, "num_eval": 250},
    "factor_vae": {"num_train": 500, "num_eval": 250},
    "dci": {"num_train": 1_000, "num_test": 500},
}


@dataclass(frozen=True)
class TrainRecipe:
    """How every trained model of a preset is trained (shared by all models of one sweep).

    Parameters
    ----------
    architecture: ``conv`` (reference conv encoder/decoder) or ``fc`` (the paper's dSprites MLP).
    num_latents: code size M.
    steps: optimiser steps.
    batch_size: images per step.
    optimizer: ``adam`` or ``adagrad``.
    lr: learning rate.
    likelihood: decoder likelihood, ``bernoulli`` (logits) for binary and greyscale data.
    log_every / checkpoint_every: steps between CSV log rows / atomic checkpoints.
    """

    architecture: str = "conv"
    num_latents: int = 10
    steps: int = 300_000
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-4
    likelihood: str = "bernoulli"
    log_every: int = 500
    checkpoint_every: int = 5_000


@dataclass(frozen=True)
class EvalRecipe:
    """How every run of a preset is scored (names and sizes of ``benchmark.metrics.evaluate``).

    Parameters
    ----------
    metrics: metrics to compute. ``beta_vae`` is the reference variant (sklearn logistic regression,
        all 5 dSprites factors); ``beta_vae_paper`` the paper's (Adagrad linear softmax, 4 factors).
    metrics_preset: the metrics layer's sample sizes: ``reference`` (disentanglement_lib's), ``quick``, ``tiny``.
    generative: also score reconstruction, ELBO, KL, active units (and the IWAE bound) of trained models.
    figures: save traversal / KL / reconstruction arrays and plots into each trained run folder.
    baseline_num_fit: images the PCA and ICA baselines are fitted on (FastICA's cost grows with it).
    metric_params: per-metric overrides of the metrics preset's sizes, e.g. ``{"dci": {"num_train": 1000}}``.
    """

    metrics: tuple[str, ...] = (
        "beta_vae",
        "beta_vae_paper",
        "factor_vae",
        "mig",
        "dci",
        "sap",
        "modularity_explicitness",
        "unsupervised",
    )
    metrics_preset: str = "reference"
    generative: bool = True
    figures: bool = True
    baseline_num_fit: int = 10_000
    metric_params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    """A named protocol: default dataset, training recipe, evaluation recipe."""

    name: str
    dataset: str
    train: TrainRecipe
    eval: EvalRecipe
    smoke_test: bool
    description: str

    def with_steps(self, steps: int | None) -> "Preset":
        if steps is None:
            return self
        if int(steps) < 0:
            raise BenchmarkError(f"--steps must be >= 0, got {steps}; pass a non-negative step count")
        ckpt = min(self.train.checkpoint_every, max(1, int(steps)))
        return replace(
            self,
            train=replace(
                self.train,
                steps=int(steps),
                checkpoint_every=ckpt,
                log_every=min(self.train.log_every, max(1, int(steps) // 10 or 1)),
            ),
        )

    def note(self) -> str | None:
        """The smoke-test warning printed for short presets, or None for the paper protocol."""
        if not self.smoke_test:
            return None
        return smoke_test_note(self.name, self.train.steps)

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "paper": Preset(
        name="paper",
        dataset="dsprites",
        train=TrainRecipe(),
        eval=EvalRecipe(),
        smoke_test=False,
        description="reference protocol: conv, Adam 1e-4, batch 64, 300k steps, reference metric sizes (GPU)",
    ),
    "quick": Preset(
        name="quick",
        dataset="dsprites",
        train=TrainRecipe(steps=2_000, batch_size=64, lr=5e-4, log_every=100, checkpoint_every=500),
        eval=EvalRecipe(metrics_preset="quick", baseline_num_fit=2_000, metric_params=QUICK_METRIC_PARAMS),
        smoke_test=True,
        description="laptop CPU: conv, Adam 5e-4, batch 64, 2k steps, reduced metric sizes (< 20 min for AE + 3 betas)",
    ),
    "paper_fc": Preset(
        name="paper_fc",
        dataset="dsprites",
        train=TrainRecipe(
            architecture="fc",
            steps=2_000,
            batch_size=64,
            optimizer="adagrad",
            lr=1e-2,
            log_every=100,
            checkpoint_every=500,
        ),
        eval=EvalRecipe(metrics_preset="quick", baseline_num_fit=2_000, metric_params=QUICK_METRIC_PARAMS),
        smoke_test=True,
        description="the beta-VAE paper's dSprites recipe (FC 1200-1200 / 1200x3 tanh, Adagrad 1e-2), CPU-sized",
    ),
    "tiny": Preset(
        name="tiny",
        dataset="dsprites_mini",
        train=TrainRecipe(steps=200, batch_size=32, lr=1e-3, log_every=20, checkpoint_every=50),
        eval=EvalRecipe(metrics=("beta_vae", "mig"), metrics_preset="tiny", baseline_num_fit=1_000),
        smoke_test=True,
        description="tests / install check: 200 steps on dsprites_mini, tiny metric samples (~1 min)",
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (one clear error for an unknown name)."""
    if name not in PRESETS:
        raise BenchmarkError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]
