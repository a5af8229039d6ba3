"""The training engine: one model, one process, resumable to the bit.

Data path: the dataset's images stay one uint8 tensor on the training device; every step draws
``batch_size`` flat indices uniformly with replacement (the reference's sampling over the complete
factor grid) from a seeded ``numpy.random.Generator`` and converts only that batch
(``dataset.to_float(images[idx], rng)``). No DataLoader, no worker processes, no per-image Python.

Result folder (``out_dir``)::

    config.json         the run's flat config (model + hyperparameters + training settings + dataset info)
    checkpoint.pt       model, optimisers, step, every RNG state; atomic, every checkpoint_every steps and at the end
    train_log.csv       step, wall_s, images_per_s and the mean of every loss term since the previous row
    train_result.json   written when the run completes: final loss terms, speed, device, threads

A killed run restarted with the same arguments continues from ``checkpoint.pt``; on CPU its final
weights are bitwise identical to an uninterrupted run (tested). A non-finite loss stops the run with
:class:`TrainingDiverged` naming the step and the last good checkpoint; nothing already written is
touched.
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from benchmark import runtime
from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json, atomic_write_text, make_dir
from benchmark.models import build_model, make_config
from benchmark.models.checkpoint import load_state, read_checkpoint, save_checkpoint
from benchmark.train.config import TrainConfig
from benchmark.train.device import resolve_switch, select_device

CHECKPOINT_FILE = "checkpoint.pt"
CONFIG_FILE = "config.json"
LOG_FILE = "train_log.csv"
RESULT_FILE = "train_result.json"


class TrainingDiverged(BenchmarkError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class TrainResult:
    """What :func:`train` returns (also written, as JSON, to ``train_result.json``)."""

    out_dir: str
    checkpoint: str
    config: dict
    steps: int  # completed optimisation steps
    resumed_from: Optional[int]  # checkpoint step this invocation started from (None: fresh)
    final: dict = field(default_factory=dict)  # mean loss terms of the last logged window
    wall_s: float = 0.0  # this invocation's training time
    images_per_s: float = 0.0  # this invocation's training speed
    device: str = "cpu"
    threads: Optional[int] = None

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------------
# building blocks shared with the ensemble trainer


def model_config_for(config: TrainConfig, channels: int):
    """The model config of a training config (hyperparameters from ``config.params``)."""
    return make_config(config.model, latent_dim=int(config.latent_dim), channels=int(channels),
                       architecture=config.architecture, likelihood=config.likelihood, **config.params)


def init_model(config: TrainConfig, channels: int):
    """The freshly initialised model of ``config`` (weights depend only on ``config.seed``)."""
    mc = model_config_for(config, channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.seed))
        return build_model(mc)


def run_config_dict(config: TrainConfig, model, dataset) -> dict:
    """The flat config stored in config.json and every checkpoint."""
    d = {**config.to_dict(), **model.config.to_dict(), "channels": int(dataset.channels), "dataset": config.dataset,
         "dataset_info": dataset.info()}
    return d


def make_streams(seed: int, device: torch.device):
    """(data rng, noise generator): independent streams derived from ``seed``.

    The numpy Generator draws batch indices and per-image nuisance; the torch Generator on the
    training device draws the reparameterisation noise and FactorVAE's permutations.
    """
    data_ss, noise_ss = np.random.SeedSequence(int(seed)).spawn(2)
    gen = torch.Generator(device=device)
    gen.manual_seed(int(noise_ss.generate_state(1, np.uint64)[0]) & ((1 << 63) - 1))
    return np.random.default_rng(data_ss), gen


def make_optimizers(model, config: TrainConfig, params_of: Optional[Callable] = None) -> dict:
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
            out[key] = torch.optim.Adam(params, lr=config.disc_lr, betas=(config.disc_beta1, config.disc_beta2),
                                        eps=config.adam_eps, fused=fused)
        elif config.optimizer == "adam":
            out[key] = torch.optim.Adam(params, lr=config.lr, betas=(config.adam_beta1, config.adam_beta2),
                                        eps=config.adam_eps, fused=fused)
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


class BatchStream:
    """Uniform-with-replacement batches of float images from a uint8 tensor kept on ``device``."""

    def __init__(self, dataset, device: torch.device, batch_size: int, rng: np.random.Generator,
                 channels_last: bool = False, images: Optional[torch.Tensor] = None):
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


def check_identity(stored: dict, current: dict, path) -> None:
    """Refuse to resume a checkpoint written for a different run."""
    a = TrainConfig.from_dict(stored).identity()
    b = TrainConfig.from_dict(current).identity()
    a["channels"], b["channels"] = stored.get("channels"), current.get("channels")
    diff = [f"{k} {a.get(k)!r} vs {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if diff:
        raise BenchmarkError(f"{path} belongs to a different run ({'; '.join(diff[:4])}); "
                             f"use another --out folder or delete that one to start over")


def find_nonfinite(window: list, first_step: int) -> Optional[tuple[int, str]]:
    """(step, term) of the first non-finite loss term in ``window`` (step of window[i] = first_step + i + 1)."""
    if not window:
        return None
    keys = list(window[0])
    vals = torch.stack([torch.stack([w[k].float() for k in keys]) for w in window]).cpu()
    ok = torch.isfinite(vals)
    if bool(ok.all()):
        return None
    i, j = (~ok).nonzero()[0].tolist()
    return first_step + i + 1, f"{keys[j]}={vals[i, j].item()}"


class CsvLog:
    """Append-only CSV of loss terms; on resume, rows past the checkpoint (and a torn last line) are dropped."""

    def __init__(self, path: Path, keep_through: int):
        self.path = Path(path)
        self.header: Optional[list[str]] = None
        if self.path.exists():
            text = self.path.read_text()
            lines = text.splitlines(keepends=True)
            if lines and not lines[-1].endswith("\n"):
                lines = lines[:-1]  # torn by a kill mid-write
            rows = list(csv.reader(lines))
            if rows:
                self.header = rows[0]
                kept = [r for r in rows[1:] if len(r) == len(self.header) and _int(r[0]) is not None
                        and _int(r[0]) <= keep_through]
                buf = io.StringIO()
                csv.writer(buf, lineterminator="\n").writerows([self.header, *kept])
                if buf.getvalue() != text:
                    atomic_write_text(self.path, buf.getvalue())

    def last_row(self) -> dict:
        if not self.path.exists():
            return {}
        rows = list(csv.DictReader(io.StringIO(self.path.read_text())))
        return {k: float(v) for k, v in rows[-1].items()} if rows else {}

    def write(self, row: dict) -> None:
        if self.header is None:
            self.header = list(row)
            with open(self.path, "w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerow(self.header)
        with open(self.path, "a", newline="") as f:
            csv.writer(f, lineterminator="\n").writerow([_fmt(row.get(k, "")) for k in self.header])


def _int(s):
    try:
        return int(s)
    except ValueError:
        return None


def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else v


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


def _amp_context(device: torch.device, config: TrainConfig):
    if device.type == "cuda" and resolve_switch(config.amp, True):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if resolve_switch(config.amp, False) and device.type != "cuda":
        raise BenchmarkError("--amp on needs a CUDA device; use --amp auto or off on CPU/MPS")
    return contextlib.nullcontext()


def prepare_device(config: TrainConfig) -> tuple[torch.device, Optional[int]]:
    """Pick the device and apply the process settings (threads, denormal flushing, cuDNN autotune)."""
    device = select_device(config.device)
    threads = runtime.set_threads(config.threads) if device.type == "cpu" else None
    runtime.flush_denormals()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device, threads


# ------------------------------------------------------------------------------------------------


def train(config: TrainConfig, dataset, out_dir, *, resume: bool = True, progress: bool = True,
          on_step: Optional[Callable[[int], None]] = None) -> TrainResult:
    """Train one model; resume from ``out_dir/checkpoint.pt`` if it exists.

    Parameters
    ----------
    config : TrainConfig
        Model, hyperparameters and training settings.
    dataset : GroundTruthDataset
        The data (its ``channels`` set the model's input channels).
    out_dir : path-like
        Result folder (created): config.json, checkpoint.pt, train_log.csv, train_result.json.
    resume : bool
        Continue from an existing checkpoint (default). False refuses to touch a folder that holds one.
    progress : bool
        Show a tqdm bar (loss, KL, images/s).
    on_step : callable, optional
        Called with the completed step count after every step (progress hooks, tests).

    Returns
    -------
    TrainResult
    """
    out = make_dir(out_dir, "result folder")
    device, threads = prepare_device(config)
    model = init_model(config, dataset.channels)
    cfg_dict = run_config_dict(config, model, dataset)
    channels_last = config.architecture == "conv" and resolve_switch(config.channels_last, True)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizers = make_optimizers(model, config)
    data_rng, gen = make_streams(config.seed, device)
    ckpt_path = out / CHECKPOINT_FILE

    step, resumed_from, wall_before = 0, None, 0.0
    if ckpt_path.exists():
        if not resume:
            raise BenchmarkError(f"{out} already holds a checkpoint; resume it, or use another --out folder")
        obj = read_checkpoint(ckpt_path)
        check_identity(obj["config"], cfg_dict, ckpt_path)
        load_state(model, obj["model"], ckpt_path)
        try:
            for k, opt in optimizers.items():
                opt.load_state_dict(obj["optimizers"][k])
            set_rng_state(obj["rng"], data_rng, gen, device)
        except (KeyError, ValueError, RuntimeError, TypeError) as e:
            raise BenchmarkError(f"{ckpt_path} lacks a complete training state ({type(e).__name__}: {str(e)[:80]}); "
                                 f"delete it to start over") from None
        step = resumed_from = int(obj["step"])
        wall_before = float(obj.get("extra", {}).get("wall_s", 0.0))
    atomic_write_json(out / CONFIG_FILE, cfg_dict)
    log = CsvLog(out / LOG_FILE, keep_through=step)

    stream = BatchStream(dataset, device, config.batch_size, data_rng, channels_last)
    amp_ctx = _amp_context(device, config)
    forward = torch.compile(model) if resolve_switch(config.compile, False) else model
    groups = {k: [p for _, p in v] for k, v in model.param_groups().items()}
    last_good = (ckpt_path, step) if resumed_from is not None else None

    def save(at_step: int, wall: float) -> None:
        nonlocal last_good
        save_checkpoint(ckpt_path, model, cfg_dict, step=at_step,
                        optimizers={k: o.state_dict() for k, o in optimizers.items()},
                        rng=rng_state(data_rng, gen, device), extra={"wall_s": wall})
        last_good = (ckpt_path, at_step)

    bar = _progress(progress, config.steps, step, f"{config.model} {fmt_params(config.params)}".strip())
    window: list = []
    window_start, row_t = step, time.perf_counter()
    t0 = time.perf_counter()
    start_step = step
    final: dict = log.last_row() if step >= config.steps else {}
    oom_what = f"batch size {config.batch_size}"  # named in the out-of-memory error
    try:
        while step < config.steps:
            with out_of_memory_as_error(device, oom_what, step + 1):
                x = stream.next()
                noise = model.sample_noise(config.batch_size, gen, device)
                window.append(train_step(forward, model, optimizers, groups, x, noise, step, amp_ctx))
            step += 1
            bar.update(1)
            if on_step is not None:
                on_step(step)
            is_log = step % config.log_every == 0 or step == config.steps
            is_ckpt = step % config.checkpoint_every == 0 or step == config.steps
            if not (is_log or is_ckpt):
                continue
            bad = find_nonfinite(window, window_start)
            if bad is not None:
                where = (f"the last good checkpoint is {last_good[0]} (step {last_good[1]})" if last_good
                         else "no checkpoint was written yet")
                raise TrainingDiverged(f"non-finite loss at step {bad[0]} ({bad[1]}) in {out}; {where}; "
                                       f"lower --lr or change --seed, then rerun")
            now = time.perf_counter()
            if is_log:
                means = {k: float(torch.stack([w[k] for w in window]).float().mean()) for k in window[0]}
                n_img = (step - window_start) * config.batch_size
                row = {"step": step, "wall_s": round(wall_before + now - t0, 3),
                       "images_per_s": round(n_img / max(now - row_t, 1e-9), 1), **means}
                log.write(row)
                final = means
                bar.set_postfix({k: f"{means[k]:.4g}" for k in ("loss", "kl") if k in means} | {"img/s": f"{row['images_per_s']:.0f}"})
                window, window_start, row_t = [], step, now
            if is_ckpt:
                save(step, wall_before + now - t0)
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    result = TrainResult(out_dir=str(out), checkpoint=str(ckpt_path), config=cfg_dict, steps=step,
                         resumed_from=resumed_from, final=final, wall_s=round(wall, 3),
                         images_per_s=round((step - start_step) * config.batch_size / wall, 1) if step > start_step else 0.0,
                         device=str(device), threads=threads)
    atomic_write_json(out / RESULT_FILE, result.to_dict())
    return result


_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)  # torch.OutOfMemoryError: 2.5+


@contextlib.contextmanager
def out_of_memory_as_error(device, what: str, step: int):
    """Turn running out of memory (CUDA's OutOfMemoryError, MemoryError, torch's CPU allocator failing)
    into one error line naming the device, the batch and the fix, instead of the allocator's traceback."""
    try:
        yield
    except (_OUT_OF_MEMORY, MemoryError, RuntimeError) as e:
        if not (isinstance(e, (_OUT_OF_MEMORY, MemoryError)) or "can't allocate memory" in str(e)):
            raise
        raise BenchmarkError(f"out of memory on {device} at {what} (step {step}); lower --batch-size") from None


def fmt_params(params: dict) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in params.items())


def _progress(enabled: bool, total: int, initial: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc=desc, unit="step", dynamic_ncols=True,
                mininterval=1.0)
