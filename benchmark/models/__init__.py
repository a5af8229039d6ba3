"""The model zoo: one config dataclass and one model per file, and the registry :data:`MODELS`.

``MODELS[name] = (ConfigClass, build)``; ``build(config) -> nn.Module`` exposing
``encode(x) -> (mu, logvar)`` (AE: ``logvar is None``), ``decode(z) -> logits`` and
``loss(x, step, generator) -> dict`` of named scalar terms. Models know only tensors.
"""

from __future__ import annotations

import dataclasses

from benchmark.errors import BenchmarkError
from benchmark.models import ae, annealed_vae, beta_tcvae, beta_vae, dip_vae_i, dip_vae_ii, factor_vae, vae
from benchmark.models.base import GaussianModel, ModelConfig

MODELS = {
    "ae": (ae.AEConfig, ae.build),
    "vae": (vae.VAEConfig, vae.build),
    "beta_vae": (beta_vae.BetaVAEConfig, beta_vae.build),
    "annealed_vae": (annealed_vae.AnnealedVAEConfig, annealed_vae.build),
    "factor_vae": (factor_vae.FactorVAEConfig, factor_vae.build),
    "beta_tcvae": (beta_tcvae.BetaTCVAEConfig, beta_tcvae.build),
    "dip_vae_i": (dip_vae_i.DIPVAEIConfig, dip_vae_i.build),
    "dip_vae_ii": (dip_vae_ii.DIPVAEIIConfig, dip_vae_ii.build),
}


def make_config(name: str, **params) -> ModelConfig:
    """Config of model ``name`` with ``params`` (unknown names raise one clear error)."""
    if name not in MODELS:
        raise BenchmarkError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    cls = MODELS[name][0]
    known = {f.name for f in dataclasses.fields(cls)}
    shared = {f.name for f in dataclasses.fields(ModelConfig)}
    bad = sorted(set(params) - known)
    if bad:
        own = ", ".join(sorted(known - shared))
        raise BenchmarkError(
            f"model {name} has no parameter {', '.join(bad)}; "
            + (f"its parameters are: {own}" if own else "it takes no hyperparameters: drop that flag")
        )
    try:
        return cls(**params)
    except (TypeError, ValueError) as e:
        raise BenchmarkError(f"bad parameters for model {name}: {e}") from None


def config_from_dict(d: dict) -> ModelConfig:
    """Model config from a (checkpoint / config.json) dict holding ``"model"`` and the fields."""
    name = d.get("model")
    if name not in MODELS:
        raise BenchmarkError(f"unknown model {name!r} in config; choose one of: {', '.join(MODELS)}")
    return MODELS[name][0].from_dict(d)


def build_model(config: ModelConfig):
    """The model for ``config``."""
    return MODELS[config.model][1](config)


from benchmark.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402

__all__ = [
    "MODELS",
    "ModelConfig",
    "GaussianModel",
    "make_config",
    "config_from_dict",
    "build_model",
    "load_checkpoint",
    "save_checkpoint",
]
