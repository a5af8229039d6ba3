"""The run folder ``<results>/runs/<run_id>/``: its files, the "finished" rule and the readers.

* ``config.json``      the run's spec (what the id hashes, plus where it ran)
* ``train/``           the trainer's checkpoint.pt, train_log.csv, config.json (trained models)
* ``codes/``           cached encoder means (and log-variances) for the flat indices scored
* ``figures/arrays.npz`` traversals, per-latent KL, reconstructions (trained models)
* ``metrics.json``     scores, generative numbers, timings, provenance -- written last, atomically:
  the only "finished" marker
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark.io import check_plain_name, folder_lock

RUNS = "runs"
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.json"
TRAIN_DIR = "train"
FIGURE_ARRAYS = "figures/arrays.npz"
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


def finished_metrics(results_dir: str | os.PathLike) -> list[dict]:
    """Content of every finished run's metrics.json under ``results_dir/runs`` (sorted by run id)."""
    runs = Path(results_dir) / RUNS
    out = []
    if not runs.is_dir():
        return out
    for d in sorted(runs.iterdir()):
        m = read_metrics(d / METRICS_FILE)
        if m and m.get("run_id") == d.name:
            out.append(m)
    return out


RUN_BUSY = ("run folder {folder} is being written by another process (pid {pid}); wait for it to finish "
            "(or stop it) before running this run again")


def run_lock(folder: Path):
    """Exclusive, non-blocking lock on a run folder: one writer per run (``fcntl.flock`` on ``.lock``).

    A second writer gets :class:`benchmark.io.FolderBusy` (a ``BenchmarkError``) naming the holder's
    pid; executors report that run as running elsewhere. The trainer locks the run's ``train/``
    subfolder itself: another file, so the two never wait on each other.
    """
    return folder_lock(folder, RUN_BUSY)
