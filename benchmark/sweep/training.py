"""Training the runs of a sweep (the runner's adapter onto benchmark.train): one run, or many as an ensemble."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from benchmark.device import resolve_device
from benchmark.io import atomic_write_json
from benchmark.results.layout import CONFIG_FILE, TRAIN_DIR, is_finished, run_dir, run_lock
from benchmark.sweep.scoring import load_run_dataset


def train_config(spec, device: str):
    """The trainer's config for a run (``benchmark.train.TrainConfig``)."""
    from benchmark.train import TrainConfig

    t = spec.train
    return TrainConfig(
        model=spec.model,
        params=model_params(spec),
        dataset=spec.dataset,
        architecture=t["architecture"],
        latent_dim=int(t["num_latents"]),
        likelihood=t.get("likelihood", "bernoulli"),
        steps=int(t["steps"]),
        batch_size=int(t["batch_size"]),
        optimizer=t["optimizer"],
        lr=float(t["lr"]),
        seed=int(spec.seed),
        log_every=int(t["log_every"]),
        checkpoint_every=int(t["checkpoint_every"]),
        device=device,
        threads=spec.threads,
    )


def train_model(spec, folder: Path, device: str, dataset):
    """Train the run's model in ``folder/train/`` (resuming from its checkpoint); returns ``(model, train info)``.

    The trainer writes its own config.json, checkpoint.pt, train_log.csv and train_result.json there.
    """
    from benchmark.models import load_checkpoint
    from benchmark.models.checkpoint import read_checkpoint
    from benchmark.train import train

    cfg = train_config(spec, device)
    history = _thread_segment(folder / TRAIN_DIR, cfg)  # before training: a killed call is still on record
    res = train(cfg, dataset, folder / TRAIN_DIR, progress=True)  # a bar, or periodic lines in a log file
    if history and history[-1].get("threads") != res.threads:  # the count the trainer really used
        history[-1]["threads"] = res.threads
        atomic_write_json(folder / TRAIN_DIR / THREADS_FILE, history)
    model, _ = load_checkpoint(res.checkpoint, device)
    extra = read_checkpoint(res.checkpoint).get("extra", {})
    total = float(extra.get("wall_s", res.wall_s))
    info = {
        "seconds": round(total, 3),
        "seconds_this_call": res.wall_s,
        "steps": res.steps,
        "resumed_from": res.resumed_from,
        "images_per_s": res.images_per_s,
        "final": res.final,
        # the last call's threads; a resumed run may have trained its steps with others (history)
        "threads": res.threads,
        "threads_history": history or _read_threads(folder / TRAIN_DIR),
        "checkpoint": str(Path(TRAIN_DIR) / Path(res.checkpoint).name),
        # how the weights were trained: engine (host / device / graph) and members trained together
        "engine": extra.get("engine", res.engine),
        "ensemble_size": int(extra.get("ensemble_size", 1)),
    }
    return model, info


THREADS_FILE = "threads.json"


def _read_threads(train_dir: Path) -> list[dict]:
    try:
        data = json.loads((train_dir / THREADS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def _thread_segment(train_dir: Path, cfg) -> list[dict]:
    """Record in ``train/threads.json`` that training (re)starts at the checkpoint's step with
    ``cfg.threads`` CPU threads; returns the whole history ([] when nothing is left to train).

    A run killed and resumed with another thread count trains its steps in segments; the segment
    list goes into metrics.json so timings are read knowing it.
    """
    from benchmark.models.checkpoint import read_checkpoint

    ckpt = train_dir / "checkpoint.pt"
    start = int(read_checkpoint(ckpt)["step"]) if ckpt.is_file() else 0
    if start >= int(cfg.steps):
        return []
    history = [h for h in _read_threads(train_dir) if isinstance(h, dict) and int(h.get("from_step", 0)) < start]
    history.append({"from_step": start, "threads": cfg.threads if str(cfg.device).startswith("cpu") else None})
    atomic_write_json(train_dir / THREADS_FILE, history)
    return history


def model_params(spec) -> dict:
    """The zoo config fields of a run's model (the ``vae`` run carries beta = 1 only as a label)."""
    return {} if spec.model == "vae" else dict(spec.params)


def build_untrained(spec, device: str, dataset):
    """A freshly initialised VAE of the run's architecture (the paper's "untrained VAE"), seeded by the run's seed."""
    from benchmark.train import TrainConfig
    from benchmark.train.loop import init_model

    # exactly the initial weights of the seed's VAE run
    cfg = TrainConfig(
        model="vae",
        architecture=spec.train["architecture"],
        latent_dim=int(spec.train["num_latents"]),
        likelihood=spec.train.get("likelihood", "bernoulli"),
        seed=int(spec.seed),
    )
    return init_model(cfg, int(dataset.channels)).to(device).eval()


MAX_ENSEMBLE = 64  # members per ensemble: K = 64 conv models at batch 64 take ~4 GB of activations


def ensemble_groups(spec_dicts: list[dict], max_members: int = MAX_ENSEMBLE) -> list[list[dict]]:
    """Unfinished trained runs that the ensemble trainer can train together, in groups of >= 2.

    Members must share the loss (a VAE joins the beta-VAE runs as beta = 1), dataset, data source
    and training recipe (``benchmark.train.loop.check_compatible``'s rule): all betas x all seeds
    of a sweep become one ensemble, split into groups of at most ``max_members``.
    """
    from benchmark.train.stack import stack_identity

    groups: dict[str, list[dict]] = {}
    for d in spec_dicts:
        if d.get("kind") != "model":
            continue
        key = json.dumps(
            [
                stack_identity(d["model"], d["params"]),
                d["dataset"],
                d["data_source"],
                d["train"],
                d["device"],
                d.get("data_dir"),
            ],
            sort_keys=True,
            default=str,
        )
        groups.setdefault(key, []).append(d)
    out = []
    for g in groups.values():
        n = -(-len(g) // max_members)  # as few groups as the cap allows, of even sizes
        out += [g[i::n] for i in range(n)]
    return [g for g in out if len(g) >= 2]


def train_group(spec_dicts: list[dict], results_dir: str) -> list[str]:
    """Train a group of runs as one ensemble (each into its own ``runs/<id>/train/``); return their ids.

    Only the training happens here: afterwards :func:`run_one` finds each member's final checkpoint,
    resumes with zero steps left, and scores it as usual. Runs already finished are left out; every
    member's folder is locked while the ensemble trains.
    """
    from benchmark.sweep.plan import RunSpec
    from benchmark.train.ensemble import train_ensemble

    specs = [RunSpec.from_dict(d) for d in spec_dicts if not is_finished(d, results_dir)]
    if len(specs) < 2:
        return []
    device = resolve_device(specs[0].device)
    dataset = load_run_dataset(specs[0])
    with contextlib.ExitStack() as stack:
        for s in specs:
            stack.enter_context(run_lock(run_dir(results_dir, s.run_id)))
            atomic_write_json(run_dir(results_dir, s.run_id) / CONFIG_FILE, s.to_dict())
        configs = [train_config(s, device) for s in specs]
        for s, c in zip(specs, configs):
            _thread_segment(run_dir(results_dir, s.run_id) / TRAIN_DIR, c)
        train_ensemble(configs, dataset, [run_dir(results_dir, s.run_id) / TRAIN_DIR for s in specs], progress=True)
    return [s.run_id for s in specs]
