"""One run, start to finish: train (resuming), evaluate, store the figure arrays, write metrics.json.

:func:`run_one` is what every executor calls, in this process, in a worker process or in a Slurm
task (see ``benchmark/sweep/executors.py`` for the contract: this module's ``run_one`` and
``is_finished``). It is idempotent and safe to kill at any point: the trainer checkpoints
atomically, the codes cache and figure arrays are written atomically, and ``metrics.json`` --
written last, atomically -- is the only "finished" marker. The run folder's layout is the results
contract, :mod:`benchmark.results.layout`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmark.device import resolve_device
from benchmark.io import atomic_write_json
from benchmark.results.columns import GENERATIVE_KEYS
from benchmark.results.layout import (
    CONFIG_FILE,
    METRICS_FILE,
    RESULT_VERSION,
    is_finished,
    read_metrics,
    run_dir,
    run_lock,
)
from benchmark.results.provenance import environment
from benchmark.sweep.plan import RunSpec, rerun_record
from benchmark.sweep.run_figures import save_figure_arrays
from benchmark.sweep.scoring import BASELINE_METRICS, load_run_dataset, score_representation
from benchmark.sweep.training import build_untrained, train_model

__all__ = ["run_one", "is_finished", "execute"]


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
        result.update(
            {
                "result_version": RESULT_VERSION,
                "run_id": spec.run_id,
                "spec": spec.to_dict(),
                **rerun_record(spec),
                "environment": environment(device),
                "wall_seconds": round(time.time() - t0, 3),
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
        atomic_write_json(folder / METRICS_FILE, result)
        return result


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
        out["baseline_info"] = (
            getattr(rep, "info", None) if not isinstance(rep, np.ndarray) else {"baseline": spec.model}
        )
    if model is not None:
        out["num_latents"] = int(spec.train.get("num_latents", 10))
    elif isinstance(rep, np.ndarray):
        out["num_latents"] = int(rep.shape[1])
    metrics = [m for m in spec.eval["metrics"] if m in BASELINE_METRICS.get(spec.model, spec.eval["metrics"])]
    t0 = time.time()
    scored = score_representation(
        rep,
        dataset,
        spec.eval,
        spec.seed,
        device,
        metrics=metrics,
        generative=spec.eval.get("generative", True) and model is not None,
        cache_dir=folder / "codes" if hasattr(rep, "encode") and spec.model != "pixels" else None,
        key=spec.run_id,
    )
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
        sampled = score_representation(
            rep,
            dataset,
            spec.eval,
            spec.seed,
            device,
            metrics=metrics,
            generative=False,
            cache_dir=folder / "codes",
            key=spec.run_id,
            representation="sampled",
        )
        out["metric_details_sampled"] = sampled.pop("_details")
        sampled.pop("_kl_per_dim")
        out["scores"].update({f"{k}_sampled": v for k, v in sampled.items()})
    out["eval_seconds"] = round(time.time() - t0, 3)
    if model is not None and spec.kind == "model" and spec.eval.get("figures", True):
        t1 = time.time()
        try:
            save_figure_arrays(model, dataset, folder, device, spec.seed, kl_dim)  # drawn by the report layer
        except Exception as e:  # figures never cost a finished run; the error is recorded
            out["figure_error"] = f"{type(e).__name__}: {e}"
        out["figure_seconds"] = round(time.time() - t1, 3)
    return out
