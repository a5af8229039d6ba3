"""The host engine's training step: batches drawn with numpy on the host, eager PyTorch.

The CPU path (and CUDA with datasets that draw per-image nuisance with numpy). Every step draws
``batch_size`` flat indices uniformly with replacement from a seeded ``numpy.random.Generator`` and
converts only that batch (``dataset.to_float(images[idx], rng)``); a ``torch.Generator`` on the
device draws the reparameterisation noise; ``torch.optim`` optimisers (TF1's Adam epsilon through a
hook, :mod:`benchmark.train.optim`) apply the update. One member runs the plain model (channels_last
on CPU); several run as a :class:`~benchmark.train.stack.MemberStack`. On CPU a resumed run is
bitwise identical to an uninterrupted one.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from benchmark.train.optim import make_optimizers
from benchmark.train.stack import MemberStack, stack_optimizer_state, unstack_optimizer_state


def make_streams(seed: int, device: torch.device):
    """(data rng, noise generator): independent streams derived from ``seed``.

    The numpy Generator draws batch indices and per-image nuisance; the torch Generator on the
    training device draws the reparameterisation noise and FactorVAE's permutations.
    """
    return _streams_from(np.random.SeedSequence(int(seed)), device)


def resumed_streams(seed: int, step: int, device: torch.device):
    """Streams for a checkpoint that holds no host stream state (trained by the device engine):
    derived from the seed and the step, so the continuation is reproducible too."""
    return _streams_from(np.random.SeedSequence([int(seed), int(step)]), device)


def _streams_from(ss: np.random.SeedSequence, device: torch.device):
    data_ss, noise_ss = ss.spawn(2)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(noise_ss.generate_state(1, np.uint64)[0]) & ((1 << 63) - 1))
    return np.random.default_rng(data_ss), gen


class BatchStream:
    """Uniform-with-replacement batches of float images from a uint8 tensor kept on ``device``."""

    def __init__(
        self,
        dataset,
        device: torch.device,
        batch_size: int,
        rng: np.random.Generator,
        channels_last: bool = False,
        images: Optional[torch.Tensor] = None,
    ):
        self.dataset = dataset
        self.device = device
        self.batch_size = int(batch_size)
        self.rng = rng
        self.channels_last = channels_last
        self.images = images if images is not None else dataset.images.to(device)
        self.n = self.images.shape[0]

    def next(self) -> torch.Tensor:
        idx = torch.from_numpy(self.rng.integers(0, self.n, size=self.batch_size))
        if self.device.type != "cpu":
            idx = idx.to(self.device, non_blocking=True)
        x = self.dataset.to_float(self.images.index_select(0, idx), self.rng)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def rng_state(data_rng: np.random.Generator, gen: torch.Generator, device: torch.device) -> dict:
    st = {"numpy": data_rng.bit_generator.state, "noise": gen.get_state(), "torch_cpu": torch.get_rng_state()}
    if device.type == "cuda":
        st["cuda"] = torch.cuda.get_rng_state(device)
    return st


def set_rng_state(st: dict, data_rng: np.random.Generator, gen: torch.Generator, device: torch.device) -> None:
    data_rng.bit_generator.state = st["numpy"]
    gen.set_state(st["noise"])
    torch.set_rng_state(st["torch_cpu"])
    if device.type == "cuda" and "cuda" in st:
        torch.cuda.set_rng_state(st["cuda"], device)


def train_step(forward, model, optimizers: dict, groups: dict, x, noise, step: int, amp_ctx) -> dict:
    """One simultaneous update of every optimiser; returns the detached loss terms."""
    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)
    with amp_ctx:
        terms = forward(x, noise, step, None)
    keys = list(groups)
    if len(keys) == 1:
        terms[keys[0]].backward()
    else:  # each optimiser sees only the gradient of its own loss (FactorVAE: VAE vs discriminator)
        for i, k in enumerate(keys):
            terms[k].backward(inputs=groups[k], retain_graph=i < len(keys) - 1)
    for opt in optimizers.values():
        opt.step()
    return {k: v.detach() for k, v in terms.items()}


class HostSteps:
    """Training steps of ``m`` members with host-drawn batches (see the module docstring).

    ``rngs[i]`` is member i's checkpointed stream state, None for a fresh stream, or the string
    ``"derive"`` for a checkpoint whose stream this engine cannot continue (then streams are derived
    from the seed and the step).
    """

    def __init__(
        self,
        configs,
        models,
        dataset,
        device,
        step: int,
        opt_states,
        rngs,
        amp_ctx,
        channels_last: bool,
        compile_model: bool,
    ):
        self.m, self.batch = len(models), int(configs[0].batch_size)
        self.models, self.device, self.amp_ctx = models, device, amp_ctx
        self.term_keys: list[str] = []
        images = dataset.images.to(device)
        self.streams, self.gens = [], []
        for c, st in zip(configs, rngs):
            rng, gen = resumed_streams(c.seed, step, device) if st == "derive" else make_streams(c.seed, device)
            if isinstance(st, dict):
                set_rng_state(st, rng, gen, device)
            self.streams.append(BatchStream(dataset, device, self.batch, rng, channels_last and self.m == 1, images))
            self.gens.append(gen)
        if self.m == 1:
            model = models[0]
            self.forward = torch.compile(model) if compile_model else model
            self.groups = {k: [p for _, p in v] for k, v in model.param_groups().items()}
            self.optimizers = make_optimizers(model, configs[0])
            self.stack = None
        else:
            self.stack = MemberStack(models)
            self.groups = self.stack.groups
            self.optimizers = make_optimizers(
                models[0], configs[0], params_of=lambda key, named: [self.stack.params[n] for n, _ in named]
            )
        if opt_states:
            for k, opt in self.optimizers.items():
                opt.load_state_dict(
                    opt_states[0][k] if self.m == 1 else stack_optimizer_state([s[k] for s in opt_states])
                )
        self.dtype = next(iter(self.groups.values()))[0].dtype  # float32; float64 when tests compare exactly

    def step(self, step: int) -> torch.Tensor:
        """Run step ``step + 1``; returns its loss terms as a (terms, members) tensor."""
        if self.m == 1:
            x = self.streams[0].next().to(self.dtype)
            noise = self.models[0].sample_noise(self.batch, self.gens[0], self.device)
            terms = train_step(self.forward, self.models[0], self.optimizers, self.groups, x, noise, step, self.amp_ctx)
        else:
            x = torch.stack([s.next() for s in self.streams]).to(self.dtype)
            noise = [mod.sample_noise(self.batch, g, self.device) for mod, g in zip(self.models, self.gens)]
            noise = {k: torch.stack([n[k] for n in noise]) for k in noise[0]}
            for opt in self.optimizers.values():
                opt.zero_grad(set_to_none=True)
            with self.amp_ctx:
                terms = self.stack.forward(x, noise, step)
            keys = list(self.groups)
            for j, k in enumerate(keys):  # members are independent: the gradient of the sum is each member's own
                terms[k].sum().backward(inputs=self.groups[k], retain_graph=j < len(keys) - 1)
            for opt in self.optimizers.values():
                opt.step()
        if not self.term_keys:
            self.term_keys = list(terms)
        return torch.stack([terms[k].detach().float().reshape(self.m) for k in self.term_keys])

    def member_state(self, i: int, step: int) -> tuple[dict, dict]:
        """(model state dict, optimiser state dicts) of member ``i``."""
        opt = {k: o.state_dict() for k, o in self.optimizers.items()}
        if self.m == 1:
            return self.models[0].state_dict(), opt
        return self.stack.member_state_dict(i), {k: unstack_optimizer_state(sd, i) for k, sd in opt.items()}

    def rng_state(self, i: int) -> dict:
        return rng_state(self.streams[i].rng, self.gens[i], self.device)
