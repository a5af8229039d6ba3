"""One run, start to finish: train (resuming), evaluate, write per-run figures, write metrics.json.

:func:`run_one` is what every executor calls, in this process, in a worker process or in a Slurm
task (see ``benchmark/sweep/executors.py`` for the contract). It is idempotent and safe to kill at
any point: the trainer checkpoints atomically, the codes cache and figures are written atomically,
and ``metrics.json`` -- written last, atomically -- is the only "finished" marker.

Run folder ``<results>/runs/<run_id>/``:

* ``config.json``      the RunSpec (what the id hashes, plus where it ran)
* ``checkpoint.pt``, ``train_log.csv``, trainer's own ``config.json`` under ``train/``
* ``codes.npz``        cached encoder means (and log-variances) for the flat indices scored
* ``figures/``         traversals, per-latent KL bars, reconstructions (trained models)
* ``metrics.json``     scores, generative numbers, timings, versions, commit, device
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json, check_plain_name, folder_lock

RUNS = "runs"
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
RESULT_VERSION = 1


def run_dir(results_dir: str | os.PathLike, run_id: str) -> Path:
    """``results_dir/runs/<run_id>``; a run id that is not a plain name (``..``, ``/``) is refused."""
    return Path(results_dir) / RUNS / check_plain_name(run_id, "run id", str(Path(results_dir) / RUNS))


def read_metrics(path: str | os.PathLike) -> dict | None:
    """A run's metrics.json, or None if absent or unreadable (a crash never leaves half a file,
    but a user might)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("run_id") else None


def is_finished(spec_dict: dict, results_dir: str | os.PathLike) -> bool:
    """True if ``<results>/runs/<run_id>/metrics.json`` exists and belongs to that run."""
    rid = spec_dict["run_id"]
    data = read_metrics(run_dir(results_dir, rid) / METRICS_FILE)
    return bool(data) and data.get("run_id") == rid


RUN_BUSY = ("run folder {folder} is being written by another process (pid {pid}); wait for it to finish "
            "(or stop it) before running this run again")


def run_lock(folder: Path):
    """Exclusive, non-blocking lock on a run folder: one writer per run (``fcntl.flock`` on ``.lock``).

    A second writer gets :class:`benchmark.io.FolderBusy` (a ``BenchmarkError``) naming the holder's
    pid; executors report that run as running elsewhere. The trainer locks the run's ``train/``
    subfolder itself: another file, so the two never wait on each other.
    """
    return folder_lock(folder, RUN_BUSY)


def environment(device: str | None = None) -> dict:
    """Versions, commit and machine that produced a result."""
    import numpy
    import sklearn
    import torch

    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": git_commit(),
    }
    try:
        from importlib.metadata import version

        env["benchmark"] = version("disentangle-bench")
    except Exception:  # not installed as a distribution (running from a checkout)
        env["benchmark"] = None
    if device:
        env["device"] = device
        if device.startswith("cuda") and torch.cuda.is_available():
            env["device_name"] = torch.cuda.get_device_name(torch.device(device))
        else:
            env["device_name"] = platform.processor() or platform.machine()
    return env


def git_commit() -> str | None:
    """HEAD of the checkout this package runs from, with ``+dirty`` if tracked files changed."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def resolve_device(device: str) -> str:
    """``auto`` -> cuda, then mps, then cpu; anything else is checked and returned."""
    import torch

    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise BenchmarkError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchmarkError(f"device {device!r} requested but CUDA is not available; use --device cpu or auto")
    return device


def run_one(spec_dict: dict, results_dir: str) -> dict:
    """Train (resuming), evaluate and record one run; return its metrics dict.

    Parameters
    ----------
    spec_dict: ``RunSpec.to_dict()``.
    results_dir: the sweep's results folder (the run writes only into ``runs/<run_id>/``).

    Returns
    -------
    The content of the run's ``metrics.json`` (the stored one if the run had already finished).
    """
    from benchmark.sweep.plan import RunSpec

    spec = RunSpec.from_dict(spec_dict)
    folder = run_dir(results_dir, spec.run_id)
    done = read_metrics(folder / METRICS_FILE)
    if done and done.get("run_id") == spec.run_id:
        return done
    with run_lock(folder):
        done = read_metrics(folder / METRICS_FILE)  # another writer may have finished meanwhile
        if done and done.get("run_id") == spec.run_id:
            return done
        atomic_write_json(folder / CONFIG_FILE, spec.to_dict())
        device = resolve_device(spec.device)
        if spec.threads:  # the executor's choice for this run (e.g. a Slurm job's CPU count)
            from benchmark.runtime import set_threads

            set_threads(spec.threads)
        t0 = time.time()
        result = execute(spec, folder, device)
        result.update({
            "result_version": RESULT_VERSION,
            "run_id": spec.run_id,
            "spec": spec.to_dict(),
            "environment": environment(device),
            "wall_seconds": round(time.time() - t0, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        atomic_write_json(folder / METRICS_FILE, result)
        return result


# ------------------------------------------------------------------------------------------------
# the stages of a run (adapters onto benchmark.data, benchmark.train and benchmark.metrics)

# evaluate()'s flat keys -> results.csv columns
SCORE_KEYS = {
    "beta_vae.eval_accuracy": "beta_vae_reference",
    "beta_vae_paper.eval_accuracy": "beta_vae_paper",
    "beta_vae_paper.classifier_converged": "beta_vae_paper_converged",  # False: Adagrad stopped short
    "factor_vae.eval_accuracy": "factor_vae",
    "mig.discrete_mig": "mig",
    "dci.disentanglement": "dci_disentanglement",
    "dci.completeness": "dci_completeness",
    "dci.informativeness_test": "dci_informativeness",
    "dci_hist.disentanglement": "dci_hist_disentanglement",
    "dci_hist.completeness": "dci_hist_completeness",
    "dci_hist.informativeness_test": "dci_hist_informativeness",
    "sap.SAP_score": "sap",
    "modularity_explicitness.modularity_score": "modularity",
    "modularity_explicitness.explicitness_score_test": "explicitness",
    "unsupervised.gaussian_total_correlation": "gaussian_total_correlation",
    "unsupervised.gaussian_wasserstein_correlation_norm": "wasserstein_correlation",
    "unsupervised.mutual_info_score": "mutual_info_score",
    "irs.IRS": "irs",
    # downstream tasks: test accuracy with 100 and 10,000 training points (sample efficiency)
    "downstream_gbt.100:mean_test_accuracy": "downstream_gbt_100",
    "downstream_gbt.10000:mean_test_accuracy": "downstream_gbt_10000",
    "downstream_logreg.100:mean_test_accuracy": "downstream_logreg_100",
    "downstream_logreg.10000:mean_test_accuracy": "downstream_logreg_10000",
}
GENERATIVE_KEYS = {
    "reconstruction_nll_mean": "recon_bce",  # decode the mean: defined for the AE too
    "reconstruction_nll": "recon_bce_sampled",  # the ELBO's one-sample term
    "reconstruction_mse": "recon_mse",
    "elbo": "elbo",
    "kl": "kl",
    "active_units": "active_units",
    "active_units_variance": "active_units_variance",
    "iwae_log_likelihood": "iwae",
}
# Raw pixels have C*64*64 dimensions: only the paper's table metric is affordable (DCI's boosted
# trees over 4,096 features take hours); the other baselines get the whole suite.
BASELINE_METRICS = {"pixels": ("beta_vae", "beta_vae_paper")}


def load_run_dataset(spec):
    """The dataset of a run, from the data source its id was planned with."""
    from benchmark.data import get_spec, load_dataset

    if get_spec(spec.dataset).official_files:
        return load_dataset(spec.dataset, spec.data_dir, source=spec.data_source)
    return load_dataset(spec.dataset, spec.data_dir)


def score_representation(rep, dataset, eval_recipe, seed: int, device: str, metrics=None, generative: bool | None = None,
                         cache_dir=None, key: str | None = None, representation: str = "mean") -> dict:
    """Scores of a representation under a preset's evaluation recipe, as ``{results.csv column: value}``.

    Parameters
    ----------
    rep: an encoder / model (``encode``, optionally ``decode``), an ``(N, D)`` code array, or a code source.
    dataset: the GroundTruthDataset.
    eval_recipe: ``EvalRecipe`` or its dict.
    seed: the metric seed.
    device: encoding device.
    metrics: override the recipe's metric list.
    generative: add the generative scores (default: the recipe's, for models with ``decode``).
    cache_dir, key: cache encoder codes there (see ``benchmark.metrics.encode.encode_dataset``).
    representation: ``mean`` (the encoder mean) or ``sampled`` (mu + sigma * eps, fresh eps per read).

    Returns
    -------
    Flat dict of scores; with ``_details`` holding evaluate()'s full JSON (parameters, versions, timings).
    """
    from dataclasses import asdict, is_dataclass

    from benchmark.metrics.evaluate import evaluate

    ev = asdict(eval_recipe) if is_dataclass(eval_recipe) else dict(eval_recipe)
    names = list(metrics if metrics is not None else ev["metrics"])
    gen = ev.get("generative", True) if generative is None else generative
    if gen and hasattr(rep, "encode") and hasattr(rep, "decode"):
        names.append("generative")
    res = evaluate(rep, dataset, metrics=names, seed=seed, preset=ev["metrics_preset"], device=device,
                   params=ev.get("metric_params") or None, cache_dir=cache_dir, key=key, progress=False,
                   representation=representation)
    out = {}
    for k, v in (res.get("scores") or {}).items():
        if k in SCORE_KEYS:
            out[SCORE_KEYS[k]] = v
        elif k.startswith("generative."):
            g = k.split(".", 1)[1]
            if g in GENERATIVE_KEYS:
                out[GENERATIVE_KEYS[g]] = v
    kl_dim = ((res.get("metrics") or {}).get("generative") or {}).get("scores", {}).get("kl_per_dim")
    out["_details"] = res
    out["_kl_per_dim"] = kl_dim
    return out


def execute(spec, folder: Path, device: str) -> dict:
    """Train (models only), score and draw one run; return the metrics dict (without bookkeeping)."""
    import numpy as np

    dataset = load_run_dataset(spec)
    info = dataset.info()
    info["num_pixels"] = int(dataset.channels * 64 * 64)
    out: dict[str, Any] = {"dataset_info": info}
    model, rep = None, None
    if spec.kind == "model":
        model, out["train"] = train_model(spec, folder, device, dataset)
        rep = model
    elif spec.model == "untrained_vae":
        model = build_untrained(spec, device, dataset)
        rep = model
    else:
        from benchmark.metrics.baselines import baseline
        from benchmark.metrics.encode import OnTheFlyCodes
        from benchmark.metrics.evaluate import metric_rng

        kw = {"num_fit": int(spec.eval.get("baseline_num_fit", 10_000))} if spec.model in ("pca", "ica") else {}
        rep = baseline(spec.model, dataset, metric_rng(spec.seed, f"baseline:{spec.model}"), **kw)
        if spec.model == "pixels":  # 4,096-D codes: encode per read instead of caching them all
            rep = OnTheFlyCodes(rep, dataset, device=device, rng=np.random.default_rng(spec.seed))
        out["baseline_info"] = getattr(rep, "info", None) if not isinstance(rep, np.ndarray) else {"baseline": spec.model}
    if model is not None:
        out["num_latents"] = int(spec.train.get("num_latents", 10))
    elif isinstance(rep, np.ndarray):
        out["num_latents"] = int(rep.shape[1])
    metrics = [m for m in spec.eval["metrics"] if m in BASELINE_METRICS.get(spec.model, spec.eval["metrics"])]
    t0 = time.time()
    scored = score_representation(rep, dataset, spec.eval, spec.seed, device, metrics=metrics,
                                  generative=spec.eval.get("generative", True) and model is not None,
                                  cache_dir=folder / "codes" if hasattr(rep, "encode") and spec.model != "pixels" else None,
                                  key=spec.run_id)
    details = scored.pop("_details")
    kl_dim = scored.pop("_kl_per_dim")
    out["generative"] = {k: v for k, v in scored.items() if k in GENERATIVE_KEYS.values()}
    out["scores"] = {k: v for k, v in scored.items() if k not in GENERATIVE_KEYS.values()}
    out["kl_per_dim"] = kl_dim
    out["metric_details"] = details
    # The reference study also scores the sampled code mu + sigma * eps (postprocess "sampled");
    # a recipe asks for it with representations = [..., "sampled"] (the locatello2019 study does).
    # Columns get a "_sampled" suffix; models without a variance (the AE, baselines) have none.
    if "sampled" in spec.eval.get("representations", ("mean",)) and getattr(rep, "STOCHASTIC", False):
        sampled = score_representation(rep, dataset, spec.eval, spec.seed, device, metrics=metrics, generative=False,
                                       cache_dir=folder / "codes", key=spec.run_id, representation="sampled")
        out["metric_details_sampled"] = sampled.pop("_details")
        sampled.pop("_kl_per_dim")
        out["scores"].update({f"{k}_sampled": v for k, v in sampled.items()})
    out["eval_seconds"] = round(time.time() - t0, 3)
    if model is not None and spec.kind == "model" and spec.eval.get("figures", True):
        t1 = time.time()
        try:
            save_figure_arrays(model, dataset, folder, device, spec.seed, kl_dim)
            from benchmark.report.figures import plot_run

            plot_run(folder / "figures" / "arrays.npz", folder / "figures", spec.run_id, f"{spec.label}, seed {spec.seed}")
        except Exception as e:  # figures never cost a finished run; the error is recorded
            out["figure_error"] = f"{type(e).__name__}: {e}"
        out["figure_seconds"] = round(time.time() - t1, 3)
    return out


TRAIN_DIR = "train"


def train_config(spec, device: str):
    """The trainer's config for a run (``benchmark.train.TrainConfig``)."""
    from benchmark.train import TrainConfig

    t = spec.train
    return TrainConfig(model=spec.model, params=model_params(spec), dataset=spec.dataset,
                       architecture=t["architecture"], latent_dim=int(t["num_latents"]),
                       likelihood=t.get("likelihood", "bernoulli"), steps=int(t["steps"]),
                       batch_size=int(t["batch_size"]), optimizer=t["optimizer"], lr=float(t["lr"]),
                       seed=int(spec.seed), log_every=int(t["log_every"]), checkpoint_every=int(t["checkpoint_every"]),
                       device=device, threads=spec.threads)


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
    info = {"seconds": round(total, 3), "seconds_this_call": res.wall_s, "steps": res.steps,
            "resumed_from": res.resumed_from, "images_per_s": res.images_per_s, "final": res.final,
            # the last call's threads; a resumed run may have trained its steps with others (history)
            "threads": res.threads, "threads_history": history or _read_threads(folder / TRAIN_DIR),
            "checkpoint": str(Path(TRAIN_DIR) / Path(res.checkpoint).name),
            # how the weights were trained: engine (host / device / graph) and members trained together
            "engine": extra.get("engine", res.engine), "ensemble_size": int(extra.get("ensemble_size", 1))}
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
    from benchmark.train.engine import init_model

    # exactly the initial weights of the seed's VAE run
    cfg = TrainConfig(model="vae", architecture=spec.train["architecture"], latent_dim=int(spec.train["num_latents"]),
                      likelihood=spec.train.get("likelihood", "bernoulli"), seed=int(spec.seed))
    return init_model(cfg, int(dataset.channels)).to(device).eval()


def _encode(model, x):
    out = model.encode(x)
    if isinstance(out, (tuple, list)):
        return out[0], (out[1] if len(out) > 1 else None)
    return out, None


def save_figure_arrays(model, dataset, folder: Path, device: str, seed: int, kl_per_dim=None,
                       steps: int = 7, num_recon: int = 8) -> Path:
    """Arrays for the per-run figures, saved to ``folder/figures/arrays.npz`` (atomically).

    * ``traversal`` (L, steps, C, 64, 64): rows = latents sorted by KL (largest first); row d decodes
      the seed image's code with latent d replaced by mean_d + v * sd_d for v in [-3, 3] (sd = 1,
      the prior's, for VAEs; the code's empirical sd for a deterministic AE).
    * ``kl_per_dim``, ``kl_sorted``, ``dims_sorted``, ``values``; ``inputs`` / ``reconstructions``
      (decoded means) of ``num_recon`` random images.
    """
    import numpy as np
    import torch

    from benchmark.io import atomic_save_npz

    rng = np.random.default_rng(seed)
    idx = dataset.grid.sample_index(max(256, num_recon), rng)
    was = getattr(model, "training", False)
    model.eval()
    try:
        with torch.inference_mode():
            x = dataset.observe(idx, device, rng)
            mu, logvar = _encode(model, x)
            mu = mu.float()
            if kl_per_dim is not None:
                kl = np.asarray(kl_per_dim, dtype=np.float64)
            elif logvar is not None:
                kl = (0.5 * (mu ** 2 + logvar.exp() - logvar - 1)).mean(0).cpu().numpy().astype(np.float64)
            else:
                kl = mu.var(0).cpu().numpy().astype(np.float64)  # AE: rank latents by their variance
            sd = torch.ones(mu.shape[1], device=mu.device) if logvar is not None else mu.std(0)
            order = np.argsort(-kl, kind="stable")
            values = np.linspace(-3, 3, steps)
            z0 = mu[0]
            rows = []
            for d in order:
                z = z0.repeat(steps, 1)
                z[:, d] = z0[d] + torch.as_tensor(values, dtype=z.dtype, device=z.device) * sd[d]
                rows.append(torch.sigmoid(model.decode(z)).float().cpu().numpy())
            recon = torch.sigmoid(model.decode(mu[:num_recon])).float().cpu().numpy()
    finally:
        if was:
            model.train()
    path = folder / "figures" / "arrays.npz"
    atomic_save_npz(path, compressed=True, traversal=np.stack(rows).astype(np.float16), kl_per_dim=kl,
                    kl_sorted=kl[order], dims_sorted=order, values=values,
                    inputs=x[:num_recon].float().cpu().numpy().astype(np.float16), reconstructions=recon.astype(np.float16),
                    rank_by=np.asarray("KL" if logvar is not None else "var"),
                    seed_index=np.asarray(idx[0]))
    return path


# ------------------------------------------------------------------------------------------------
# many runs trained together (benchmark.train.ensemble): used by the local executor where it pays


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
        key = json.dumps([stack_identity(d["model"], d["params"]), d["dataset"], d["data_source"], d["train"],
                          d["device"], d.get("data_dir")], sort_keys=True, default=str)
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
        train_ensemble(configs, dataset,
                       [run_dir(results_dir, s.run_id) / TRAIN_DIR for s in specs], progress=True)
    return [s.run_id for s in specs]
