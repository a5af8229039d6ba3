"""Finished run folders -> one tidy table, ``results/results.csv`` (one row per run).

Aggregation reads only ``runs/*/metrics.json`` files (the "finished" marker written last and
atomically by the runner; the layout is :mod:`benchmark.results.layout`), so a run that is still training or was killed
never appears half-done. Every row says what produced it: model and hyperparameters, seed, dataset
and its provenance (official file + checksum, or generator + version), preset and recipe, every
score, reconstruction / ELBO / KL / active units, timings, package versions, git commit, device.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import pandas as pd

from benchmark.errors import BenchmarkError
from benchmark.results.columns import hyperparameter_text
from benchmark.results.layout import finished_metrics
from benchmark.io import atomic_write_text, check_plain_name, locked

RESULTS_CSV = "results.csv"

# Identity columns first, in this order; then scores; then generative numbers; then provenance.
ID_COLUMNS = [
    "run_id",
    "kind",
    "model",
    "label",
    "hyperparameters",
    "beta",
    "normalised_beta",
    "seed",
    "dataset",
    "data_source",
    "data_sha256",
    "data_generator",
    "data_version",
    "data_auxiliary",
    "num_latents",
    "num_pixels",
    "preset",
    "metrics_preset",
    "architecture",
    "optimizer",
    "lr",
    "batch_size",
    "steps",
]
# Disentanglement scores, in display order (unknown score columns follow, sorted).
SCORE_COLUMNS = [
    "beta_vae_reference",
    "beta_vae_paper",
    "factor_vae",
    "mig",
    "dci_disentanglement",
    "dci_completeness",
    "dci_informativeness",
    "sap",
    "modularity",
    "explicitness",
    "gaussian_total_correlation",
    "wasserstein_correlation",
    "mutual_info_score",
    "irs",
    "downstream_gbt_100",
    "downstream_gbt_10000",
    "downstream_logreg_100",
    "downstream_logreg_10000",
]
GENERATIVE_COLUMNS = [
    "recon_bce",
    "recon_bce_sampled",
    "recon_mse",
    "elbo",
    "kl",
    "active_units",
    "active_units_variance",
    "iwae",
]
META_COLUMNS = [
    "beta_vae_paper_converged",
    "train_seconds",
    "eval_seconds",
    "wall_seconds",
    "device",
    "device_name",
    "torch",
    "numpy",
    "sklearn",
    "python",
    "git_commit",
    "finished_at",
    "smoke_test",
    "rerun",
]
# Every results.csv has these columns, empty where a preset skips a metric (the tiny preset scores
# only two), so that scripts reading it see one documented layout whatever produced it.
COLUMNS = ID_COLUMNS + SCORE_COLUMNS + GENERATIVE_COLUMNS + META_COLUMNS


def row_from_metrics(m: dict) -> dict:
    """One tidy row from a run's metrics.json content."""
    spec = m.get("spec") or {}
    train = spec.get("train") or {}
    ev = spec.get("eval") or {}
    params = spec.get("params") or {}
    ds = m.get("dataset_info") or {}
    env = m.get("environment") or {}
    num_latents = m.get("num_latents", train.get("num_latents"))
    num_pixels = ds.get("num_pixels")
    beta = params.get("beta")
    if spec.get("model") == "ae":
        beta = 0.0  # no KL term: the beta = 0 end of the trade-off
    row = {
        "run_id": m["run_id"],
        "kind": spec.get("kind"),
        "model": spec.get("model"),
        "label": _label(spec),
        "hyperparameters": hyperparameter_text(params),
        "beta": beta,
        "normalised_beta": (beta * num_latents / num_pixels)
        if (beta is not None and num_latents and num_pixels)
        else None,
        "seed": spec.get("seed"),
        "dataset": spec.get("dataset"),
        "data_source": spec.get("data_source"),
        "data_sha256": ds.get("data_sha256"),
        "data_generator": ds.get("data_generator"),
        "data_version": ds.get("data_version"),
        **({"data_auxiliary": ds["data_auxiliary"]} if ds.get("data_auxiliary") else {}),
        "num_latents": num_latents,
        "num_pixels": num_pixels,
        "preset": spec.get("preset"),
        "metrics_preset": ev.get("metrics_preset"),
        "architecture": train.get("architecture"),
        "optimizer": train.get("optimizer"),
        "lr": train.get("lr"),
        "batch_size": train.get("batch_size"),
        "steps": train.get("steps"),
    }
    for k, v in (m.get("scores") or {}).items():
        row[k] = v
    for k, v in (m.get("generative") or {}).items():
        row[k] = v
    row["train_seconds"] = (m.get("train") or {}).get("seconds")
    row["eval_seconds"] = m.get("eval_seconds")
    row["wall_seconds"] = m.get("wall_seconds")
    for k in ("device", "device_name", "torch", "numpy", "sklearn", "python", "git_commit"):
        row[k] = env.get(k)
    row["finished_at"] = m.get("finished_at")
    row["smoke_test"] = m.get("smoke_test")  # the preset's scores are a smoke test
    row["rerun"] = m.get("rerun")  # run_all.py flags that replan this run (all but --seeds)
    return row


def _label(spec: dict) -> str:
    model, params = spec.get("model", "?"), spec.get("params") or {}
    if spec.get("kind") == "baseline":
        return {
            "ground_truth": "ground truth",
            "pixels": "raw pixels",
            "pca": "PCA",
            "ica": "ICA",
            "untrained_vae": "untrained VAE",
        }.get(model, model)
    if model == "ae":
        return "AE"
    if model == "vae":
        return "VAE (beta=1)"
    if model == "beta_vae":
        return f"beta-VAE (beta={hyperparameter_text(params).split('=', 1)[-1]})"
    return f"{model} ({hyperparameter_text(params).replace(';', ', ')})"


def order_columns(columns: Iterable[str]) -> list[str]:
    cols = list(dict.fromkeys(columns))
    known = ID_COLUMNS + SCORE_COLUMNS + GENERATIVE_COLUMNS + META_COLUMNS
    extra = sorted(c for c in cols if c not in known)
    ordered = [c for c in ID_COLUMNS + SCORE_COLUMNS if c in cols]
    ordered += [c for c in extra]
    ordered += [c for c in GENERATIVE_COLUMNS + META_COLUMNS if c in cols]
    return ordered


def build_table(metrics: list[dict]) -> pd.DataFrame:
    """Rows for the given metrics dicts, columns in the canonical order, sorted deterministically."""
    rows = [row_from_metrics(m) for m in metrics]
    if not rows:
        return pd.DataFrame(columns=order_columns(COLUMNS))
    df = pd.DataFrame(rows)
    df = df.reindex(columns=order_columns([*COLUMNS, *df.columns]))
    kind_order = {"baseline": 0, "model": 1}
    df["_k"] = df["kind"].map(kind_order).fillna(2)
    df["_b"] = pd.to_numeric(df["beta"], errors="coerce").fillna(float("inf"))
    base_order = {m: i for i, m in enumerate(("ground_truth", "pixels", "pca", "ica", "untrained_vae"))}
    df["_m"] = df["model"].map(base_order).fillna(len(base_order))
    df = df.sort_values(
        ["dataset", "preset", "_k", "_m", "_b", "model", "hyperparameters", "seed", "run_id"], kind="stable"
    )
    return df.drop(columns=["_k", "_b", "_m"]).reset_index(drop=True)


def write_results(results_dir: str | os.PathLike) -> pd.DataFrame:
    """Rebuild ``results_dir/results.csv`` from the finished runs (atomically); return the table."""
    path = Path(results_dir) / RESULTS_CSV
    with locked(path):  # two sweeps finishing together write one after the other, each from every finished run
        df = build_table(finished_metrics(results_dir))
        atomic_write_text(path, df.to_csv(index=False, float_format="%.6g"))
    return df


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results.csv (one clear error if missing or not one)."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS_CSV
    if not p.is_file():
        raise BenchmarkError(f"no results table at {p}; run `python run_all.py` first or pass --results-dir")
    try:
        df = pd.read_csv(p)
    except (ValueError, pd.errors.ParserError) as e:
        raise BenchmarkError(
            f"cannot read {p} as CSV ({e}); regenerate it with `python run_all.py` (it reruns nothing)"
        ) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise BenchmarkError(
            f"{p} is not a results table (missing columns {', '.join(missing)}); regenerate it with `python run_all.py`"
        )
    return _check_values(df, p)


# What the leaderboard and figures group by; a table without them cannot be aggregated.
REQUIRED_COLUMNS = ("run_id", "kind", "model", "label", "dataset", "preset", "seed")
NUMERIC_COLUMNS = (
    ["beta", "normalised_beta", "num_latents", "num_pixels", "lr", "batch_size", "steps"]
    + SCORE_COLUMNS
    + GENERATIVE_COLUMNS
)


def _check_values(df: pd.DataFrame, p: Path) -> pd.DataFrame:
    """One clear error naming the first bad cell (an edited or damaged table), else ``df``."""
    fix = "rebuild it from the run folders with `python -m benchmark figures --rebuild`, or fix that cell"
    for c in ("run_id", "kind", "model", "dataset", "preset"):
        bad = df.index[df[c].isna() | (df[c].astype(str).str.strip() == "")]
        if len(bad):
            raise BenchmarkError(f"{p} line {bad[0] + 2}: empty {c}; {fix}")
    for c in ("run_id", "dataset", "preset"):  # they become file names (runs/<run_id>/, figures/<dataset>_<preset>)
        for i, v in df[c].astype(str).items():
            check_plain_name(v, c, f"{p} line {i + 2}")
    seeds = pd.to_numeric(df["seed"], errors="coerce")
    bad = df.index[~(seeds >= 0) | (seeds != seeds.round())]
    if len(bad):
        raise BenchmarkError(f"{p} line {bad[0] + 2}: seed {df['seed'][bad[0]]!r} is not a non-negative integer; {fix}")
    for c in [c for c in NUMERIC_COLUMNS if c in df.columns]:
        bad = df.index[df[c].notna() & pd.to_numeric(df[c], errors="coerce").isna()]
        if len(bad):
            raise BenchmarkError(f"{p} line {bad[0] + 2}: {c} {df[c][bad[0]]!r} is not a number; {fix}")
        df[c] = pd.to_numeric(df[c])
    return df


def score_columns(df: pd.DataFrame) -> list[str]:
    """The disentanglement-score columns present in ``df`` (known first, then other numeric extras)."""
    known = ID_COLUMNS + GENERATIVE_COLUMNS + META_COLUMNS
    cols = [c for c in SCORE_COLUMNS if c in df.columns]
    cols += [c for c in df.columns if c not in known and c not in cols and pd.api.types.is_numeric_dtype(df[c])]
    return cols


def finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
