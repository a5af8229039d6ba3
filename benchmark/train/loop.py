"""The training loop: one loop for 1..m members, whichever engine runs their steps.

A member is one run: its own config (hyperparameters, seed), data and noise streams, result
folder, CSV log and checkpoint in the single-model layout. Members of one call share the
architecture and the training recipe, and train in lock step (:func:`check_compatible`). The
solo trainer (:func:`benchmark.train.train`) is the case m = 1.

Two engines run the steps (``TrainConfig.graph``):

* :class:`~benchmark.train.device_steps.DeviceSteps` on CUDA: data and noise drawn on the device,
  the whole step captured as one CUDA graph (``graph`` auto/on) or run eagerly (off);
* :class:`~benchmark.train.host_steps.HostSteps` on CPU (and CUDA for datasets with per-image
  numpy nuisance): batches drawn with numpy, eager PyTorch, bitwise resumable.

Result folder of each member::

    config.json         the run's flat config (model + hyperparameters + training settings + dataset info)
    checkpoint.pt       model, optimisers, step, stream state; atomic, every checkpoint_every steps and at the end
    train_log.csv       step, wall_s, images_per_s and the mean of every loss term since the previous row
    train_result.json   written when the run completes: final loss terms, speed, device, threads, engine

A killed call restarted with the same arguments continues from the checkpoints (members checkpointed
at different steps are first brought level). A non-finite loss stops the call with
:class:`TrainingDiverged` naming the member, the step and the last good checkpoint; every
checkpoint stays the last good one.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import torch

from benchmark import runtime
from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json, folder_lock, make_dir
from benchmark.models import build_model, make_config
from benchmark.models.checkpoint import load_state, read_checkpoint, save_checkpoint
from benchmark.progress import progress as progress_bar
from benchmark.train.config import TrainConfig
from benchmark.train.csvlog import CsvLog
from benchmark.train.device import resolve_switch, select_device
from benchmark.train.device_steps import DeviceSteps, device_stream_supported
from benchmark.train.host_steps import HostSteps
from benchmark.train.stack import stack_identity

CHECKPOINT_FILE = "checkpoint.pt"
CONFIG_FILE = "config.json"
LOG_FILE = "train_log.csv"
RESULT_FILE = "train_result.json"
# fields that may differ between members of one call
PER_MEMBER = ("model", "params", "seed")
# how the device engine runs several members of the conv architecture (benchmark.train.stack.LAYOUTS):
# the wide network in channels_last, the fastest layout measured on a GPU (docs/performance.md)
DEVICE_STACK_LAYOUT = "wide_cl"
TRAIN_BUSY = "{folder} is being trained by another process (pid {pid}); wait for it or use another --out"


class TrainingDiverged(BenchmarkError):
    """The loss became NaN or infinite; the message names the member, the step and the last good checkpoint."""


@dataclass
class TrainResult:
    """What training returns per member (also written, as JSON, to ``train_result.json``)."""

    out_dir: str
    checkpoint: str
    config: dict
    steps: int  # completed optimisation steps
    resumed_from: Optional[int]  # checkpoint step this invocation started from (None: fresh)
    final: dict = field(default_factory=dict)  # mean loss terms of the last logged window
    wall_s: float = 0.0  # this invocation's training time
    images_per_s: float = 0.0  # this invocation's training speed (this member's images)
    device: str = "cpu"
    threads: Optional[int] = None
    engine: str = "host"  # host | device | graph

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------------
# building blocks


def model_config_for(config: TrainConfig, channels: int):
    """The model config of a training config (hyperparameters from ``config.params``)."""
    return make_config(
        config.model,
        latent_dim=int(config.latent_dim),
        channels=int(channels),
        architecture=config.architecture,
        likelihood=config.likelihood,
        **config.params,
    )


def init_model(config: TrainConfig, channels: int):
    """The freshly initialised model of ``config`` (weights depend only on ``config.seed``)."""
    mc = model_config_for(config, channels)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(config.seed))
        return build_model(mc)


def run_config_dict(config: TrainConfig, model, dataset) -> dict:
    """The flat config stored in config.json and every checkpoint."""
    return {
        **config.to_dict(),
        **model.config.to_dict(),
        "channels": int(dataset.channels),
        "dataset": config.dataset,
        "dataset_info": dataset.info(),
    }


def check_identity(stored: dict, current: dict, path) -> None:
    """Refuse to resume a checkpoint written for a different run."""
    a = TrainConfig.from_dict(stored).identity()
    b = TrainConfig.from_dict(current).identity()
    a["channels"], b["channels"] = stored.get("channels"), current.get("channels")
    diff = [f"{k} {a.get(k)!r} vs {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if diff:
        raise BenchmarkError(
            f"{path} belongs to a different run ({'; '.join(diff[:4])}); "
            f"use another --out folder or delete that one to start over"
        )


def check_compatible(configs: list[TrainConfig]) -> None:
    """Members must share everything but model name (where losses coincide), hyperparameters and seed."""
    if not configs:
        raise BenchmarkError("training needs at least one config")
    first = {k: v for k, v in configs[0].to_dict().items() if k not in PER_MEMBER}
    for c in configs[1:]:
        other = {k: v for k, v in c.to_dict().items() if k not in PER_MEMBER}
        diff = [k for k in first if first[k] != other[k]]
        if diff:
            raise BenchmarkError(
                f"ensemble members must share everything but params and seed; they differ in "
                f"{', '.join(diff)}: train those groups separately"
            )
    kinds = {stack_identity(c.model, c.params) for c in configs}
    if len(kinds) != 1:
        raise BenchmarkError(
            f"ensemble members must have one loss with the same hyperparameters, got "
            f"{', '.join(f'{m} {list(p)}' for m, p in sorted(kinds))}: train those groups separately"
        )


def prepare_device(config: TrainConfig) -> tuple[torch.device, Optional[int]]:
    """Pick the device and apply the process settings (threads, denormal flushing, cuDNN autotune)."""
    device = select_device(config.device)
    threads = runtime.set_threads(config.threads) if device.type == "cpu" else None
    runtime.flush_denormals()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return device, threads


def amp_enabled(device: torch.device, config: TrainConfig) -> bool:
    if resolve_switch(config.amp, False) and device.type != "cuda":
        raise BenchmarkError("--amp on needs a CUDA device; use --amp auto or off on CPU/MPS")
    return device.type == "cuda" and resolve_switch(config.amp, True)


def amp_context(device: torch.device, config: TrainConfig):
    return torch.autocast("cuda", dtype=torch.bfloat16) if amp_enabled(device, config) else contextlib.nullcontext()


def engine_for(config: TrainConfig, device: torch.device, dataset) -> str:
    """``graph`` (CUDA graph replay), ``device`` (device stream, eager) or ``host`` (numpy stream, eager)."""
    want = config.graph
    if device.type != "cuda":
        if want == "on":
            raise BenchmarkError(f"--graph on needs a CUDA device, not {device.type}; use --graph auto or off")
        return "host"
    if not device_stream_supported(dataset):
        if want == "on":
            raise BenchmarkError(
                f"--graph on: {dataset.name} draws per-image nuisance on the host; use --graph auto or off"
            )
        return "host"
    if resolve_switch(config.compile, False):
        return "host"  # torch.compile runs the eager host step
    return "graph" if resolve_switch(want, True) else "device"


def find_nonfinite(rows: torch.Tensor, keys: list, first_step: int) -> Optional[tuple[int, int, str]]:
    """(member, step, 'term=value') of the first non-finite loss in ``rows`` (steps, terms, members)."""
    ok = torch.isfinite(rows)
    if bool(ok.all()):
        return None
    bad = (~ok).nonzero().tolist()
    s, t, i = min(bad, key=lambda b: (b[2], b[0], b[1]))
    return i, first_step + s + 1, f"{keys[t]}={rows[s, t, i].item()}"


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


# ------------------------------------------------------------------------------------------------


def train_members(
    configs: list[TrainConfig],
    dataset,
    out_dirs: list,
    *,
    resume: bool = True,
    progress: bool = True,
    on_step: Optional[Callable[[int], None]] = None,
    engine: Optional[str] = None,
    stack_layout: Optional[str] = None,
) -> list[TrainResult]:
    """Train ``configs`` together, each into its own folder; resume from their checkpoints.

    Parameters
    ----------
    configs : list of TrainConfig
        Members; they may differ only in ``params`` values, ``seed`` and model names whose losses
        coincide (a VAE in a beta-VAE group).
    dataset : GroundTruthDataset
        Shared data (one uint8 copy on the device); each member draws its own batches.
    out_dirs : list of path-like
        One result folder per member.
    resume : bool
        Continue from existing checkpoints (default). False refuses folders that hold one.
    progress : bool
        One tqdm bar (images/s counts all members).
    on_step : callable, optional
        Called with the completed step count after every step.
    engine : str, optional
        Override the engine :func:`engine_for` picks: ``device`` runs the CUDA engine's step eagerly
        on any device (how the CPU tests check it), ``host`` forces the host engine.
    stack_layout : str, optional
        How the device engine runs several members (``vmap``, ``wide``, ``wide_cl``; default
        :data:`DEVICE_STACK_LAYOUT`); for benchmarks and tests.

    Returns
    -------
    list of TrainResult, one per member.
    """
    runtime.setup()  # process settings for library callers of train() / train_ensemble() too (idempotent)
    check_compatible(configs)
    if len(out_dirs) != len(configs):
        raise BenchmarkError(f"{len(configs)} configs but {len(out_dirs)} result folders")
    outs = [make_dir(o, "result folder") for o in out_dirs]
    if len(set(map(str, outs))) != len(outs):
        raise BenchmarkError("every ensemble member needs its own result folder")
    # One trainer per folder for the whole call: two would interleave checkpoints and log rows.
    # (run_one locks the run folder, we lock its train/ subfolder: two files, no deadlock; a nested
    # call on a folder this process holds re-enters its lock.)
    with contextlib.ExitStack() as locks:
        for o in outs:
            locks.enter_context(folder_lock(o, TRAIN_BUSY))
        return _train_locked(
            configs,
            dataset,
            outs,
            resume=resume,
            progress=progress,
            on_step=on_step,
            engine=engine,
            stack_layout=stack_layout,
        )


def _train_locked(
    configs: list[TrainConfig],
    dataset,
    outs: list[Path],
    *,
    resume: bool,
    progress: bool,
    on_step: Optional[Callable[[int], None]],
    engine: Optional[str],
    stack_layout: Optional[str],
) -> list[TrainResult]:
    """:func:`train_members` once every member folder is locked."""
    c0, m = configs[0], len(configs)
    device, threads = prepare_device(c0)
    paths = [o / CHECKPOINT_FILE for o in outs]
    if not resume:
        for p in paths:
            if p.exists():
                raise BenchmarkError(f"{p.parent} already holds a checkpoint; resume it, or use another --out folder")

    # members checkpointed at different steps (a kill between member writes): bring them level
    ckpt_steps = [int(read_checkpoint(p)["step"]) if p.exists() else 0 for p in paths]
    top = min(max(ckpt_steps), c0.steps)
    if m > 1 and min(ckpt_steps) < top:
        for c, o, s in zip(configs, outs, ckpt_steps):
            if s < top:
                train_members([replace(c, steps=top)], dataset, [o], progress=False, engine=engine)

    models = [init_model(c, dataset.channels) for c in configs]
    cfg_dicts = [run_config_dict(c, mod, dataset) for c, mod in zip(configs, models)]
    step, wall_before, opt_states, rngs, extras = 0, 0.0, [], [], [{} for _ in configs]
    for i, p in enumerate(paths):
        rngs.append(None)
        if not p.exists():
            continue
        obj = read_checkpoint(p)
        check_identity(obj["config"], cfg_dicts[i], p)
        load_state(models[i], obj["model"], p)
        if not isinstance(obj.get("optimizers"), dict) or not isinstance(obj.get("rng"), dict):
            raise BenchmarkError(f"{p} lacks a complete training state (no optimizers/rng); delete it to start over")
        opt_states.append(obj["optimizers"])
        rngs[i] = obj["rng"]
        step = int(obj["step"])
        extras[i] = dict(obj.get("extra", {}))
        wall_before = max(wall_before, float(extras[i].get("wall_s", 0.0)))
    resumed_from = step if opt_states else None
    for o, d in zip(outs, cfg_dicts):
        atomic_write_json(o / CONFIG_FILE, d)
    logs = [CsvLog(o / LOG_FILE, keep_through=step) for o in outs]

    engine = engine or engine_for(c0, device, dataset)
    if engine not in ("host", "device", "graph") or (engine == "graph" and device.type != "cuda"):
        raise BenchmarkError(f"engine {engine!r} is not available on {device.type}; use host or device")
    channels_last = c0.architecture == "conv" and resolve_switch(c0.channels_last, device.type == "cpu")
    for mod in models:
        mod.to(device)
        if channels_last and m == 1:
            mod.to(memory_format=torch.channels_last)
    try:
        if engine == "host":
            host_rngs = [r if (r is None or "numpy" in r) else "derive" for r in rngs]
            steps = HostSteps(
                configs,
                models,
                dataset,
                device,
                step,
                opt_states,
                host_rngs,
                amp_context(device, c0),
                channels_last,
                resolve_switch(c0.compile, False),
            )
        else:
            steps = DeviceSteps(
                configs,
                models,
                dataset,
                device,
                step,
                opt_states,
                amp_enabled(device, c0),
                graph=engine == "graph",
                channels_last=channels_last and m == 1,
                stack_layout=stack_layout or DEVICE_STACK_LAYOUT,
            )
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        if not opt_states:
            raise
        raise BenchmarkError(
            f"{paths[0]} lacks a complete training state ({type(e).__name__}: {str(e)[:80]}); delete it to start over"
        ) from None

    def save(at_step: int, wall: float) -> None:
        for i in range(m):
            model_sd, opt_sd = steps.member_state(i, at_step)
            if m > 1:
                load_state(models[i], model_sd)
            save_checkpoint(
                paths[i],
                models[i],
                cfg_dicts[i],
                step=at_step,
                optimizers=opt_sd,
                rng=steps.rng_state(i),
                extra={"wall_s": wall, "engine": engine, "ensemble_size": m},
            )

    desc = f"{c0.model} {fmt_params(c0.params)}".strip() if m == 1 else f"ensemble of {m} {c0.model}"
    bar = progress_bar(c0.steps, desc, "step", initial=step, enabled=progress)
    window: list = []
    window_start, row_t, t0, start_step = step, time.perf_counter(), time.perf_counter(), step
    finals: list[dict] = [log.last_row() for log in logs] if step >= c0.steps else [{} for _ in range(m)]
    last_good = step if resumed_from is not None else None
    oom_what = f"batch size {c0.batch_size}" + (f" x {m} members" if m > 1 else "")
    try:
        while step < c0.steps:
            with out_of_memory_as_error(device, oom_what, step + 1):
                window.append(steps.step(step))
            step += 1
            bar.update(1)
            if on_step is not None:
                on_step(step)
            is_log = step % c0.log_every == 0 or step == c0.steps
            is_ckpt = step % c0.checkpoint_every == 0 or step == c0.steps
            if not (is_log or is_ckpt):
                continue
            rows = torch.stack(window).cpu()  # (steps, terms, members): the window's one host read
            bad = find_nonfinite(rows, steps.term_keys, window_start)
            if bad is not None:
                i, at, what = bad
                if last_good is None:
                    where = "no checkpoint was written yet"
                elif m == 1:
                    where = f"the last good checkpoint is {paths[0]} (step {last_good})"
                else:
                    where = f"every member's checkpoint is the last good one (step {last_good})"
                if m == 1:
                    raise TrainingDiverged(
                        f"non-finite loss at step {at} ({what}) in {outs[0]}; {where}; "
                        f"lower --lr or change --seed, then rerun"
                    )
                raise TrainingDiverged(
                    f"ensemble member {i} ({outs[i]}): non-finite loss at step {at} ({what}); "
                    f"{where}; train that member alone with a lower --lr or another --seed"
                )
            now = time.perf_counter()
            if is_log:
                means = rows.permute(1, 2, 0).contiguous().mean(-1)  # (terms, members)
                rate = (step - window_start) * c0.batch_size / max(now - row_t, 1e-9)
                for i in range(m):
                    finals[i] = {k: float(means[t, i]) for t, k in enumerate(steps.term_keys)}
                    logs[i].write(
                        {
                            "step": step,
                            "wall_s": round(wall_before + now - t0, 3),
                            "images_per_s": round(rate, 1),
                            **finals[i],
                        }
                    )
                post = {k: f"{finals[0][k]:.4g}" for k in ("loss", "kl") if k in finals[0]}
                bar.set_postfix(post | {"images/s": f"{rate * m:,.0f}"})
                window, window_start, row_t = [], step, now
            if is_ckpt:
                save(step, wall_before + now - t0)
                last_good = step
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    results = []
    for i in range(m):
        # a call with nothing left to train reports how the checkpoint was trained, not itself
        trained_by = (
            extras[i] if step == start_step and extras[i].get("engine") else {"engine": engine, "ensemble_size": m}
        )
        if step > start_step:
            rate = (step - start_step) * c0.batch_size / wall
        else:  # the checkpoint's own training speed (its cumulative wall time)
            rate = step * c0.batch_size / float(extras[i]["wall_s"]) if extras[i].get("wall_s") else 0.0
        r = TrainResult(
            out_dir=str(outs[i]),
            checkpoint=str(paths[i]),
            config=cfg_dicts[i],
            steps=step,
            resumed_from=resumed_from,
            final=finals[i],
            wall_s=round(wall, 3),
            images_per_s=round(rate, 1),
            device=str(device),
            threads=threads,
            engine=trained_by["engine"],
        )
        atomic_write_json(
            outs[i] / RESULT_FILE, {**r.to_dict(), "ensemble_size": int(trained_by.get("ensemble_size", 1))}
        )
        results.append(r)
    return results
