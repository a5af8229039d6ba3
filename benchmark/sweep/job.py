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
import sys
import time
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json

RUNS = "runs"
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
RESULT_VERSION = 1


def run_dir(results_dir: str | os.PathLike, run_id: str) -> Path:
    return Path(results_dir) / RUNS / run_id


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


@contextlib.contextmanager
def run_lock(folder: Path):
    """Exclusive, non-blocking lock on a run folder: one writer per run (``fcntl.flock``)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / ".lock", "w")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BenchmarkError(
                f"run folder {folder} is being written by another process; wait for it to finish "
                "(or stop it) before running this run again") from None
        yield
    finally:
        fh.close()


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
# the stages of a run (adapters onto benchmark.train and benchmark.metrics)


def execute(spec, folder: Path, device: str) -> dict:
    """Train (models only), score and draw one run; return the metrics dict (without bookkeeping)."""
    raise BenchmarkError("the trainer and metrics layers are not installed yet; this run cannot execute")
