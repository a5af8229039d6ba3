"""Optimisers of the reference recipe, and their graph-safe update for the CUDA engine.

Two ways to apply the same update:

* :func:`make_optimizers` -- ``torch.optim.Adam`` (fused kernel) / ``Adagrad``, with a pre-step hook
  that gives Adam's epsilon TensorFlow 1's meaning. The CPU engine steps these; their state dicts
  are the checkpoint layout of every run, whichever engine trained it.
* :class:`DeviceUpdate` -- the same update written as a handful of ``torch._foreach_*`` kernels
  whose step count is a device tensor, so a whole training step (forward, backward, update) can be
  captured once as a CUDA graph and replayed: nothing in it reads a Python number that changes.
  It keeps its moments in the ``torch.optim`` object's state, so checkpoints keep one layout.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch


def make_optimizers(model, config, params_of: Optional[Callable] = None) -> dict:
    """One optimiser per parameter group of ``model`` (key = the loss term it minimises).

    ``params_of(key, named)`` lets the ensemble substitute its stacked parameters.
    """
    out = {}
    for key, named in model.param_groups().items():
        params = params_of(key, named) if params_of else [p for _, p in named]
        # the fused kernel is the same update (float rounding aside) and on CPU 3x faster than the
        # per-tensor loop (0.83 vs 2.01 ms for the conv VAE, benchmarks/bench_train_variants.py)
        fused = all(p.device.type in ("cpu", "cuda", "mps") and p.dtype.is_floating_point for p in params)
        if key == "disc_loss":
            out[key] = torch.optim.Adam(
                params,
                lr=config.disc_lr,
                betas=(config.disc_beta1, config.disc_beta2),
                eps=config.adam_eps,
                fused=fused,
            )
        elif config.optimizer == "adam":
            out[key] = torch.optim.Adam(
                params, lr=config.lr, betas=(config.adam_beta1, config.adam_beta2), eps=config.adam_eps, fused=fused
            )
        else:
            out[key] = torch.optim.Adagrad(params, lr=config.lr)
        if isinstance(out[key], torch.optim.Adam):
            for group in out[key].param_groups:
                group["tf_eps"] = group["eps"]
            out[key].register_step_pre_hook(_tf1_adam_epsilon)
            if fused:
                out[key].register_step_pre_hook(_state_in_param_layout)
    return out


def _tf1_adam_epsilon(optimizer, args, kwargs) -> None:
    """Give Adam's epsilon TensorFlow 1's meaning, as the reference trains with ``tf.train.AdamOptimizer``.

    TF1 (Kingma & Ba 2015, Algorithm 1 in its "efficient" form) updates
    ``theta -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``: epsilon is added to sqrt(v).
    PyTorch adds it to the bias-corrected sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t). The two are the
    same update when PyTorch's epsilon at step t is ``eps / sqrt(1 - b2^t)`` (3.2e-7 at t = 1 for
    eps 1e-8, b2 0.999; 1e-8 after a few thousand steps), which this hook sets before every step.
    It matters only for gradients of the order of epsilon (early steps, small-gradient weights).
    The step count lives in the param group, so checkpoints carry it.
    """
    for group in optimizer.param_groups:
        group.setdefault("tf_eps", group["eps"])  # a checkpoint of older code restores groups without it
        if "tf_step" not in group:  # counted from the optimiser state (a checkpoint of older code)
            state = optimizer.state.get(group["params"][0], {})
            group["tf_step"] = int(state["step"]) if "step" in state else 0
        group["tf_step"] += 1
        group["eps"] = group["tf_eps"] / math.sqrt(1.0 - group["betas"][1] ** group["tf_step"])


def _state_in_param_layout(optimizer, args, kwargs) -> None:
    """Give every gradient and Adam moment its parameter's strides before a fused step.

    PyTorch's fused CPU Adam assumes they match and silently mixes up elements when they do not
    (e.g. a channels_last weight with a contiguous gradient; CUDA raises instead). Autograd and
    checkpoints can hand over either layout, so align them here: a stride check per tensor, a copy
    only where they differ.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p.grad is not None and p.grad.stride() != p.stride():
                p.grad = torch.empty_like(p).copy_(p.grad)
            state = optimizer.state.get(p, {})
            for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                t = state.get(name)
                if t is not None and t.stride() != p.stride():
                    state[name] = torch.empty_like(p).copy_(t)


class DeviceUpdate:
    """Graph-safe Adam (TF1 epsilon) or Adagrad step over a ``torch.optim`` object's parameters.

    Same update as :func:`make_optimizers`' optimisers (float rounding aside):

    * Adam: ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
      ``theta <- theta - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`` (TF1's form).
    * Adagrad: ``s <- s + g^2``; ``theta <- theta - lr g / (sqrt(s) + eps)``.

    The step count ``t`` is a device tensor advanced inside :meth:`step`, so replaying a captured
    graph advances it too. :meth:`sync_state` writes the host-known step count back into the
    optimiser's state and param groups before its ``state_dict()`` is saved.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, step: int):
        self.opt = optimizer
        self.adam = isinstance(optimizer, torch.optim.Adam)
        (group,) = optimizer.param_groups  # one group per optimiser (make_optimizers)
        self.params = list(group["params"])
        dev = self.params[0].device
        self.t = torch.full((), float(step), device=dev)
        self.lr = float(group["lr"])
        self.eps = float(group.get("tf_eps", group["eps"]))
        if self.adam:
            self.b1, self.b2 = (float(b) for b in group["betas"])
        names = ("exp_avg", "exp_avg_sq") if self.adam else ("sum",)
        for p in self.params:  # moments restored by load_state_dict, or zeros for a fresh run
            st = optimizer.state[p]
            for n in names:
                t = st.get(n)
                st[n] = torch.zeros_like(p) if t is None else t.to(device=p.device, dtype=p.dtype).clone()
        self.state = [[optimizer.state[p][n] for p in self.params] for n in names]

    @torch.no_grad()
    def step(self) -> None:
        """One update from the parameters' ``.grad`` (no host synchronisation)."""
        grads = [p.grad for p in self.params]
        self.t.add_(1.0)
        if self.adam:
            m, v = self.state
            torch._foreach_lerp_(m, grads, 1.0 - self.b1)
            torch._foreach_mul_(v, self.b2)
            torch._foreach_addcmul_(v, grads, grads, 1.0 - self.b2)
            den = torch._foreach_sqrt(v)
            torch._foreach_add_(den, self.eps)
            upd = torch._foreach_div(m, den)
            neg_step = -self.lr * torch.sqrt(1.0 - torch.pow(self.b2, self.t)) / (1.0 - torch.pow(self.b1, self.t))
        else:
            (s,) = self.state
            torch._foreach_addcmul_(s, grads, grads, 1.0)
            den = torch._foreach_sqrt(s)
            torch._foreach_add_(den, self.eps)
            upd = torch._foreach_div(grads, den)
            neg_step = torch.full_like(self.t, -self.lr)
        torch._foreach_mul_(upd, neg_step)
        torch._foreach_add_(self.params, upd)

    def sync_state(self, step: int) -> None:
        """Record ``step`` completed updates in the optimiser's state dict (checkpoint layout)."""
        for group in self.opt.param_groups:
            if self.adam:
                group["tf_step"] = int(step)
                group["eps"] = self.eps / math.sqrt(1.0 - self.b2**step) if step else self.eps
        for p in self.params:
            st = self.opt.state[p]
            st["step"] = torch.tensor(
                float(step),
                device=st["step"].device
                if isinstance(st.get("step"), torch.Tensor)
                else (
                    "cpu" if not (self.opt.defaults.get("fused") or self.opt.defaults.get("capturable")) else p.device
                ),
            )
