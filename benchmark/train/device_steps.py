"""The CUDA engine's training step: device tensors only, captured once as a CUDA graph and replayed.

A step at batch 64 is ~10 us of arithmetic for the conv beta-VAE; launched from Python it takes
milliseconds (the host draws indices, copies them over, runs optimiser hooks and ~150 launches).
Here everything a step needs already lives on the device:

* **data and noise**: for every ``CHUNK_STEPS`` (128) steps each member fills device buffers of
  batch indices (uniform with replacement over the whole factor grid, as the reference samples)
  and reparameterisation noise from a generator seeded by ``(seed, chunk)``; a device counter picks
  the step's row. The stream is a function of the seed and the step, so a resumed run draws
  exactly what an uninterrupted one would, with no generator state to save;
* **the step count** (AnnealedVAE's capacity ramp, Adam's bias correction) is a device tensor;
* **the optimiser** is :class:`benchmark.train.optim.DeviceUpdate` (Adam with TF1's epsilon, or
  Adagrad), a few ``_foreach`` kernels;
* **the loss terms** of each step are copied into a (terms, members) tensor; the host reads them
  once per log row, so nothing inside a logging window synchronises.

The same :meth:`DeviceSteps._step` runs eagerly (``graph=False``; also the CPU test path) or is
captured after three eager warm-up steps on a side stream (cuDNN autotuning, lazy initialisation)
and replayed. Datasets that draw per-image nuisance with numpy (noisy / colour / scream dSprites)
use the host engine instead.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from benchmark.train.optim import DeviceUpdate, make_optimizers
from benchmark.train.stack import MemberStack, stack_optimizer_state

CHUNK_STEPS = 128  # steps of data and noise drawn at once: part of the device stream's definition
WARMUP_STEPS = 3  # eager steps before capture
_STREAM_TAG = 0x64657631  # separates the device stream's seeds from the host stream's


def chunk_generator(seed: int, chunk: int, device) -> torch.Generator:
    """The generator of member ``seed``'s data and noise for steps [chunk * CHUNK_STEPS, ...)."""
    state = np.random.SeedSequence([int(seed), _STREAM_TAG, int(chunk)]).generate_state(1, np.uint64)[0]
    g = torch.Generator(device=device)
    g.manual_seed(int(state) & ((1 << 63) - 1))
    return g


def device_stream_supported(dataset) -> bool:
    """Whether ``dataset`` can be fed by the device stream (no per-image numpy nuisance)."""
    return getattr(dataset, "transform", None) is None


class DeviceSteps:
    """Training steps of ``m`` members (one model, or a :class:`MemberStack`) on device tensors.

    Parameters
    ----------
    configs, models : lists
        The members' TrainConfigs and their models, already on ``device``.
    dataset : GroundTruthDataset
        Its uint8 images are copied to the device once.
    step : int
        Completed steps (0, or the checkpoint's).
    opt_states : list of dict or None
        Each member's optimiser state dicts (checkpoint layout), or None for a fresh run.
    amp : bool
        bfloat16 autocast (CUDA).
    graph : bool
        Capture the step as a CUDA graph after the warm-up steps.
    channels_last : bool
        Feed one member's model NHWC batches (its weights are channels_last).
    stack_layout : str
        How several members run (:class:`~benchmark.train.stack.MemberStack`): ``vmap``, ``wide``
        or ``wide_cl``.
    """

    def __init__(
        self,
        configs,
        models,
        dataset,
        device,
        step: int,
        opt_states,
        amp: bool,
        graph: bool,
        channels_last: bool = False,
        stack_layout: str = "vmap",
    ):
        self.channels_last = channels_last
        self.m, self.batch = len(models), int(configs[0].batch_size)
        self.seeds = [int(c.seed) for c in configs]
        self.models, self.dataset, self.device = models, dataset, device
        self.images = dataset.images.to(device)
        self.n = int(self.images.shape[0])
        if self.m == 1:
            model = models[0]
            groups = {k: [p for _, p in v] for k, v in model.param_groups().items()}
            self.forward = lambda x, noise, step: model(x[0], {k: v[0] for k, v in noise.items()}, step, None)
            self.optimizers = make_optimizers(model, configs[0])
            self.stack = None
        else:
            self.stack = MemberStack(models, stack_layout)
            groups = self.stack.groups
            self.forward = self.stack.forward
            self.optimizers = make_optimizers(
                models[0], configs[0], params_of=lambda key, named: [self.stack.params[n] for n, _ in named]
            )
        self.groups = groups
        self.all_params = [p for ps in groups.values() for p in ps]
        self.dtype = self.all_params[0].dtype  # float32; float64 when the tests compare trainers exactly
        if opt_states:
            for k, opt in self.optimizers.items():
                opt.load_state_dict(
                    opt_states[0][k] if self.m == 1 else stack_optimizer_state([s[k] for s in opt_states])
                )
        self.updates = [DeviceUpdate(o, step) for o in self.optimizers.values()]
        self.amp = amp
        self.graph_enabled = graph
        self.graph = None
        self.eager_steps = 0
        self.term_keys: list[str] = []
        self.static_out = None
        proto = models[0].sample_noise(self.batch, None, "cpu", steps=1)
        self.idx_buf = torch.empty((self.m, CHUNK_STEPS, self.batch), dtype=torch.long, device=device)
        self.noise_buf = {
            k: torch.empty((self.m, CHUNK_STEPS, *v.shape[1:]), dtype=v.dtype, device=device) for k, v in proto.items()
        }
        self.ptr = torch.zeros((), dtype=torch.long, device=device)
        self.step_t = torch.full((), float(step), device=device)
        self.chunk = None

    # -- the stream -------------------------------------------------------------------------------
    def _fill(self, step: int) -> None:
        chunk = step // CHUNK_STEPS
        for i, (seed, model) in enumerate(zip(self.seeds, self.models)):
            g = chunk_generator(seed, chunk, self.device)
            self.idx_buf[i].copy_(torch.randint(0, self.n, (CHUNK_STEPS, self.batch), generator=g, device=self.device))
            for k, v in model.sample_noise(self.batch, g, self.device, steps=CHUNK_STEPS).items():
                self.noise_buf[k][i].copy_(v)
        self.ptr.fill_(step % CHUNK_STEPS)
        self.chunk = chunk

    # -- one step (capturable: no host reads, no Python numbers that change) ----------------------
    def _amp(self):
        if self.amp:
            return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False)
        return contextlib.nullcontext()

    def _step(self) -> torch.Tensor:
        for p in self.all_params:
            p.grad = None
        row = self.ptr.view(1)
        idx = self.idx_buf.index_select(1, row).reshape(-1)
        x = self.dataset.to_float(self.images.index_select(0, idx)).to(self.dtype)
        x = x.view(self.m, self.batch, *x.shape[1:])
        if self.channels_last:
            x = x[0].contiguous(memory_format=torch.channels_last).unsqueeze(0)  # one member only
        noise = {k: v.index_select(1, row).squeeze(1) for k, v in self.noise_buf.items()}
        with self._amp():
            terms = self.forward(x, noise, self.step_t)
        keys = list(self.groups)
        for j, k in enumerate(keys):  # each optimiser sees only the gradient of its own loss
            terms[k].sum().backward(inputs=self.groups[k], retain_graph=j < len(keys) - 1)
        for u in self.updates:
            u.step()
        self.ptr.add_(1)
        self.step_t.add_(1.0)
        if not self.term_keys:
            self.term_keys = list(terms)
        return torch.stack([terms[k].detach().float().reshape(self.m) for k in self.term_keys])

    def step(self, step: int) -> torch.Tensor:
        """Run step ``step + 1`` (``step`` completed so far); returns its loss terms, (terms, members)."""
        if self.chunk != step // CHUNK_STEPS:
            self._fill(step)
        if not self.graph_enabled:
            return self._step()
        if self.graph is None:
            if self.eager_steps < WARMUP_STEPS:
                self.eager_steps += 1
                side = torch.cuda.Stream(self.device)
                side.wait_stream(torch.cuda.current_stream(self.device))
                with torch.cuda.stream(side):
                    out = self._step()
                torch.cuda.current_stream(self.device).wait_stream(side)
                return out
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.static_out = self._step()
        self.graph.replay()
        return self.static_out.clone()

    # -- checkpoints ------------------------------------------------------------------------------
    def member_state(self, i: int, step: int) -> tuple[dict, dict]:
        """(model state dict, optimiser state dicts) of member ``i`` after ``step`` steps."""
        from benchmark.train.stack import unstack_optimizer_state

        for u in self.updates:
            u.sync_state(step)
        opt = {k: o.state_dict() for k, o in self.optimizers.items()}
        if self.m == 1:
            return self.models[0].state_dict(), opt
        return self.stack.member_state_dict(i), {k: unstack_optimizer_state(sd, i) for k, sd in opt.items()}

    def rng_state(self, i: int) -> dict:
        return {"stream": "device", "chunk_steps": CHUNK_STEPS}
