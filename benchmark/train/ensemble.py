"""Train many same-architecture models at once as one vectorised ensemble.

A beta grid times seeds shares one architecture, and one small model at batch 64 leaves a GPU
mostly idle (launch-bound). :func:`train_ensemble` stacks the members' parameters
(``torch.func.stack_module_state``) and runs one ``vmap``-ed forward/backward per step, so every
kernel processes all members together. Each member keeps its own hyperparameters (passed to the
loss as vmapped tensors), seed, data stream, noise stream, CSV log and checkpoint: members are
initialised, fed and noised exactly as :func:`benchmark.train.train` would do it alone, and Adam is
elementwise, so each member follows its solo trajectory to float tolerance (tested). Member
folders have the single-model layout, so any member can later be resumed or extended alone.

Limits: members must share the model, architecture, latent size, batch size, optimiser settings,
steps and logging intervals; the conv models run without channels_last inside vmap; a member whose
loss becomes non-finite stops the whole ensemble (rerun that member alone).
"""
from __future__ import annotations

import copy
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Optional

import torch
from torch.func import functional_call, stack_module_state, vmap

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json
from benchmark.models.checkpoint import load_state, read_checkpoint, save_checkpoint
from benchmark.train.config import TrainConfig
from benchmark.train.engine import (CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE, RESULT_FILE, BatchStream, CsvLog,
                                    TrainingDiverged, TrainResult, _amp_context, _progress, check_identity,
                                    find_nonfinite, init_model, make_optimizers, make_streams, out_of_memory_as_error,
                                    prepare_device,
                                    rng_state, run_config_dict, set_rng_state, train)

# fields that may differ between members
PER_MEMBER = ("params", "seed")


def _check_compatible(configs: list[TrainConfig]) -> None:
    if not configs:
        raise BenchmarkError("train_ensemble needs at least one config")
    first = {k: v for k, v in configs[0].to_dict().items() if k not in PER_MEMBER}
    for c in configs[1:]:
        other = {k: v for k, v in c.to_dict().items() if k not in PER_MEMBER}
        diff = [k for k in first if first[k] != other[k]]
        if diff:
            raise BenchmarkError(f"ensemble members must share everything but params and seed; they differ in "
                                 f"{', '.join(diff)}: train those groups separately")
    keys = [tuple(sorted(c.params)) for c in configs]
    if len(set(keys)) != 1:
        raise BenchmarkError(f"ensemble members must set the same hyperparameters, got {sorted(set(keys))}")


def _stack_opt_state(states: list[dict]) -> dict:
    """Stack per-member optimiser state dicts (same layout) into the ensemble's."""
    out = copy.deepcopy(states[0])
    for pid, st in out["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.dim() > 0:
                st[k] = torch.stack([s["state"][pid][k] for s in states])
    return out


def _unstack_opt_state(state: dict, i: int) -> dict:
    """Member ``i``'s optimiser state dict, in the single-model layout."""
    out = {"param_groups": copy.deepcopy(state["param_groups"]), "state": {}}
    for pid, st in state["state"].items():
        out["state"][pid] = {k: (v[i].clone() if isinstance(v, torch.Tensor) and v.dim() > 0 else
                                 (v.clone() if isinstance(v, torch.Tensor) else v)) for k, v in st.items()}
    return out


def train_ensemble(configs: list[TrainConfig], dataset, out_dirs: list, *, progress: bool = True,
                   on_step: Optional[Callable[[int], None]] = None) -> list[TrainResult]:
    """Train ``configs`` (same architecture; own hyperparameters and seeds) together.

    Parameters
    ----------
    configs : list of TrainConfig
        Members; they may differ only in ``params`` values and ``seed``.
    dataset : GroundTruthDataset
        Shared data (one uint8 copy on the device); each member draws its own batches.
    out_dirs : list of path-like
        One result folder per member, same layout as :func:`benchmark.train.train`'s.
    progress : bool
        One tqdm bar for the ensemble (images/s counts all members).
    on_step : callable, optional
        Called with the completed step count after every step.

    Returns
    -------
    list of TrainResult, one per member.
    """
    _check_compatible(configs)
    if len(out_dirs) != len(configs):
        raise BenchmarkError(f"{len(configs)} configs but {len(out_dirs)} result folders")
    outs = [Path(o) for o in out_dirs]
    if len(set(map(str, outs))) != len(outs):
        raise BenchmarkError("every ensemble member needs its own result folder")
    c0 = configs[0]
    device, threads = prepare_device(c0)

    # bring members that were checkpointed at different steps (a kill between member writes) level
    ckpt_steps = [read_checkpoint(o / CHECKPOINT_FILE)["step"] if (o / CHECKPOINT_FILE).exists() else 0 for o in outs]
    top = min(max(ckpt_steps), c0.steps)
    for c, o, s in zip(configs, outs, ckpt_steps):
        if s < top:
            train(replace(c, steps=top), dataset, o, progress=False)

    m = len(configs)
    models = [init_model(c, dataset.channels) for c in configs]
    cfg_dicts = [run_config_dict(c, mod, dataset) for c, mod in zip(configs, models)]
    streams, gens, opt_states, step, wall_before = [], [], [], 0, 0.0
    images = dataset.images.to(device)
    for i, (c, o) in enumerate(zip(configs, outs)):
        o.mkdir(parents=True, exist_ok=True)
        rng, gen = make_streams(c.seed, device)
        path = o / CHECKPOINT_FILE
        if path.exists():
            obj = read_checkpoint(path)
            check_identity(obj["config"], cfg_dicts[i], path)
            load_state(models[i], obj["model"], path)
            set_rng_state(obj["rng"], rng, gen, device)
            opt_states.append(obj["optimizers"])
            step = int(obj["step"])
            wall_before = max(wall_before, float(obj.get("extra", {}).get("wall_s", 0.0)))
        streams.append(BatchStream(dataset, device, c.batch_size, rng, images=images))
        gens.append(gen)
        atomic_write_json(o / CONFIG_FILE, cfg_dicts[i])
    resumed_from = step if opt_states else None
    logs = [CsvLog(o / LOG_FILE, keep_through=step) for o in outs]

    for mod in models:
        mod.to(device)
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    optimizers = make_optimizers(models[0], c0, params_of=lambda key, named: [params[n] for n, _ in named])
    if opt_states:
        for k, opt in optimizers.items():
            opt.load_state_dict(_stack_opt_state([s[k] for s in opt_states]))
    groups = {k: [params[n] for n, _ in v] for k, v in models[0].param_groups().items()}
    hp = {k: torch.tensor([mod.config.hparams()[k] for mod in models], device=device)
          for k in models[0].config.HPARAMS}
    amp_ctx = _amp_context(device, c0)
    current = {"step": step}

    def member_loss(p, b, x, noise, h):
        return functional_call(base, (p, b), (x, noise, current["step"], h))

    batched = vmap(member_loss)

    def save(at_step: int, wall: float) -> None:
        opt_sd = {k: o.state_dict() for k, o in optimizers.items()}
        for i in range(m):
            load_state(models[i], {n: t[i].detach() for n, t in params.items()} | {n: t[i] for n, t in buffers.items()})
            save_checkpoint(outs[i] / CHECKPOINT_FILE, models[i], cfg_dicts[i], step=at_step,
                            optimizers={k: _unstack_opt_state(sd, i) for k, sd in opt_sd.items()},
                            rng=rng_state(streams[i].rng, gens[i], device), extra={"wall_s": wall})

    bar = _progress(progress, c0.steps, step, f"ensemble of {m} {c0.model}")
    window: list = []
    window_start, row_t, t0, start_step = step, time.perf_counter(), time.perf_counter(), step
    finals: list[dict] = [log.last_row() for log in logs] if step >= c0.steps else [{} for _ in range(m)]
    last_good = step if resumed_from is not None else None
    oom_what = f"batch size {c0.batch_size} x {m} members"  # named in the out-of-memory error
    try:
        while step < c0.steps:
            with out_of_memory_as_error(device, oom_what, step + 1):
                x = torch.stack([s.next() for s in streams])
                noise = [mod.sample_noise(c0.batch_size, g, device) for mod, g in zip(models, gens)]
                noise = {k: torch.stack([n[k] for n in noise]) for k in noise[0]}
                for opt in optimizers.values():
                    opt.zero_grad(set_to_none=True)
                current["step"] = step
                with amp_ctx:
                    terms = batched(params, buffers, x, noise, hp)
                keys = list(groups)
                for j, k in enumerate(keys):  # members are independent: the gradient of the sum is each member's own
                    terms[k].sum().backward(inputs=groups[k], retain_graph=j < len(keys) - 1)
                for opt in optimizers.values():
                    opt.step()
            window.append({k: v.detach() for k, v in terms.items()})
            step += 1
            bar.update(1)
            if on_step is not None:
                on_step(step)
            is_log = step % c0.log_every == 0 or step == c0.steps
            is_ckpt = step % c0.checkpoint_every == 0 or step == c0.steps
            if not (is_log or is_ckpt):
                continue
            for i in range(m):
                bad = find_nonfinite([{k: v[i] for k, v in w.items()} for w in window], window_start)
                if bad is not None:
                    where = (f"the last good checkpoints are at step {last_good}" if last_good is not None
                             else "no checkpoint was written yet")
                    raise TrainingDiverged(f"ensemble member {i} ({outs[i]}): non-finite loss at step {bad[0]} ({bad[1]}); "
                                           f"{where}; train that member alone with a lower --lr or another --seed")
            now = time.perf_counter()
            if is_log:
                means = {k: torch.stack([w[k] for w in window]).float().mean(0).tolist() for k in window[0]}
                rate = (step - window_start) * c0.batch_size / max(now - row_t, 1e-9)
                for i in range(m):
                    finals[i] = {k: v[i] for k, v in means.items()}
                    logs[i].write({"step": step, "wall_s": round(wall_before + now - t0, 3),
                                   "images_per_s": round(rate, 1), **finals[i]})
                bar.set_postfix({"loss": f"{means['loss'][0]:.4g}", "img/s": f"{rate * m:.0f}"})
                window, window_start, row_t = [], step, now
            if is_ckpt:
                save(step, wall_before + now - t0)
                last_good = step
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    results = []
    for i in range(m):
        r = TrainResult(out_dir=str(outs[i]), checkpoint=str(outs[i] / CHECKPOINT_FILE), config=cfg_dicts[i], steps=step,
                        resumed_from=resumed_from, final=finals[i], wall_s=round(wall, 3),
                        images_per_s=round((step - start_step) * c0.batch_size / wall, 1) if step > start_step else 0.0,
                        device=str(device), threads=threads)
        atomic_write_json(outs[i] / RESULT_FILE, {**r.to_dict(), "ensemble_size": m})
        results.append(r)
    return results
