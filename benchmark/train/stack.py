"""K same-architecture models as one network: stacked parameters and a vmapped loss.

``torch.func.stack_module_state`` gives every parameter a leading member dimension, and
``vmap(functional_call(...))`` runs all members' forward passes as one set of kernels (convolutions
become grouped convolutions, linear layers batched matmuls). Each member keeps its own numeric
hyperparameters (passed to the loss as vmapped tensors). Adam and Adagrad are elementwise, so one
optimiser over the stacked tensors is K independent ones.

Members whose losses coincide can share a stack across model names: a VAE is a beta-VAE with
beta = 1 (``1.0 * kl`` is ``kl`` exactly), so :data:`STACK_AS` trains it in a beta-VAE stack while its
folder, config and checkpoint stay the VAE's.
"""

from __future__ import annotations

import copy

import torch
from torch.func import functional_call, vmap

from benchmark.models import build_model, make_config
from benchmark.models import losses as L
from benchmark.models.wide import from_wide, to_wide, wide_decode, wide_encode

# model -> (the model whose loss it is a special case of, the hyperparameters that make it so)
STACK_AS = {"vae": ("beta_vae", {"beta": 1.0})}
# how the members' networks run: vmap over the zoo model, or the wide network (conv architecture)
LAYOUTS = ("vmap", "wide", "wide_cl")


def stack_identity(model: str, params: dict) -> tuple[str, tuple]:
    """(loss model, hyperparameter names) under which a member can share a stack."""
    base, fixed = STACK_AS.get(model, (model, {}))
    return base, tuple(sorted({**fixed, **params}))


class MemberStack:
    """Stacked parameters of ``models`` (same architecture) and their loss.

    ``forward(x, noise, step)`` takes ``x`` (K, B, C, H, W) and noise tensors (K, B, ...) and returns
    each loss term as a (K,) tensor. ``layout``: ``vmap`` runs the zoo model under ``torch.func.vmap``;
    ``wide`` / ``wide_cl`` (conv architecture) run the encoders and decoders as one wide network of
    grouped convolutions (:mod:`benchmark.models.wide`, NCHW / channels_last) and only the loss terms
    under vmap. All three compute the same function (tested in float64).
    """

    def __init__(self, models: list, layout: str = "vmap"):
        if layout not in LAYOUTS:
            raise ValueError(f"unknown stack layout {layout!r}; choose one of {LAYOUTS}")
        self.models = models
        self.layout = layout if models[0].config.architecture == "conv" else "vmap"
        self.stochastic = bool(getattr(models[0], "STOCHASTIC", True))
        name, _ = stack_identity(models[0].config.model, {})
        cfg = models[0].config
        hps = [_hparams(m) for m in models]
        if name != cfg.model:  # e.g. VAEs in a beta-VAE stack: the loss of the model they are a case of
            base = build_model(
                make_config(
                    name,
                    latent_dim=cfg.latent_dim,
                    channels=cfg.channels,
                    architecture=cfg.architecture,
                    likelihood=cfg.likelihood,
                    **hps[0],
                )
            )
        else:
            base = copy.deepcopy(models[0])
        self.base = base.to("meta")
        # torch.func.stack_module_state, without its same-class rule (VAEs stack with beta-VAEs)
        named = [dict(m.named_parameters()) for m in models]
        self.params = {
            n: torch.stack([d[n].detach() for d in named]).requires_grad_(p.requires_grad) for n, p in named[0].items()
        }
        bufs = [dict(m.named_buffers()) for m in models]
        self.buffers = {n: torch.stack([d[n] for d in bufs]) for n in bufs[0]}
        device = next(iter(self.params.values())).device
        self.hp = {k: torch.tensor([h[k] for h in hps], device=device) for k in hps[0]}
        self.named_groups = models[0].param_groups()
        self.groups = {k: [self.params[n] for n, _ in v] for k, v in self.named_groups.items()}

        def member_loss(p, b, x, noise, h, step, coded):
            return functional_call(self.base, (p, b), (x, noise, step, h, coded))

        self._batched = vmap(member_loss, in_dims=(0, 0, 0, 0, 0, None, None))
        coded_dims = (0, 0 if self.stochastic else None, 0)
        self._batched_loss = vmap(member_loss, in_dims=(0, 0, 0, 0, 0, None, coded_dims))

    def forward(self, x, noise: dict, step) -> dict:
        if self.layout == "vmap":
            return self._batched(self.params, self.buffers, x, noise, self.hp, step, None)
        k, cl = x.shape[0], self.layout == "wide_cl"
        mu, logvar = wide_encode(self.params, to_wide(x, cl), k, self.stochastic)
        z = L.reparameterize(mu, logvar, noise["eps"]) if self.stochastic else mu
        logits = from_wide(wide_decode(self.params, z, cl), k)
        return self._batched_loss(self.params, self.buffers, x, noise, self.hp, step, (mu, logvar, logits))

    def member_state_dict(self, i: int) -> dict:
        """Member ``i``'s parameters and buffers as a single-model state dict (detached views)."""
        return {n: t[i].detach() for n, t in self.params.items()} | {n: t[i] for n, t in self.buffers.items()}

    def write_back(self) -> None:
        """Copy every member's current weights into its own module (for saving)."""
        for i, m in enumerate(self.models):
            m.load_state_dict(self.member_state_dict(i))


def _hparams(model) -> dict:
    name = model.config.model
    base, fixed = STACK_AS.get(name, (name, {}))
    return {**fixed, **model.config.hparams()}


def stack_optimizer_state(states: list[dict]) -> dict:
    """Stack per-member optimiser state dicts (same layout) into the stack's."""
    out = copy.deepcopy(states[0])
    for pid, st in out["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.dim() > 0:
                st[k] = torch.stack([s["state"][pid][k] for s in states])
    return out


def unstack_optimizer_state(state: dict, i: int) -> dict:
    """Member ``i``'s optimiser state dict, in the single-model layout."""
    out = {"param_groups": copy.deepcopy(state["param_groups"]), "state": {}}
    for pid, st in state["state"].items():
        out["state"][pid] = {
            k: (
                v[i].clone()
                if isinstance(v, torch.Tensor) and v.dim() > 0
                else (v.clone() if isinstance(v, torch.Tensor) else v)
            )
            for k, v in st.items()
        }
    return out
