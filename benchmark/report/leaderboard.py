"""The leaderboard: runs aggregated over seeds, one row per (dataset, source, preset, model, hyperparameters, metric).

``results/leaderboard.csv`` is long-format so that rows of different datasets, data sources,
presets and metric variants can never be ranked together by accident: a ranking always filters on
all four. Each row holds mean, std (ddof = 1; empty for one seed) and count over seeds, the device
and commit that produced it, and the ``run_all.py`` command that reproduces it. Rows are either
``measured`` (aggregated from our runs) or ``submitted`` (appended by ``python -m benchmark compare
--submit``). Updating from new results replaces the measured rows of every (dataset, source,
preset, model, hyperparameters) entry the results hold, metrics they no longer produce included (a
metric dropped from the protocol must not linger with an old commit's value); other rows (e.g.
paper-preset rows measured on a GPU elsewhere, or submissions) are kept.

Every read-merge-write holds the table's lock (:func:`benchmark.io.locked`), so two writers (two
submissions, a submission and a sweep) never lose each other's rows; a submission appends its
lines and leaves every existing line as it was.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_text, locked
from benchmark.report.results import score_columns

LEADERBOARD_CSV = "leaderboard.csv"
KEY = ["dataset", "data_source", "preset", "model", "hyperparameters", "metric"]
ENTRY_KEY = KEY[:-1]  # one leaderboard entry: all its metrics come from the same runs
COLUMNS = KEY + ["label", "kind", "mean", "std", "n", "seeds", "steps", "entry", "device", "git_commit", "command"]
ENTRIES = ("measured", "submitted")
INTEGER_COLUMNS = ("n", "steps")  # written as 2000, never 2000.0, whatever else a table holds
# Direction of "better" for ranking; generative numbers are listed but ranked the right way round.
# The unsupervised scores measure dependence between code dimensions (total correlation, Wasserstein
# correlation, mutual information): less is better; independent ground-truth factors score near 0.
LOWER_IS_BETTER = {
    "recon_bce",
    "recon_bce_sampled",
    "recon_mse",
    "kl",
    "gaussian_total_correlation",
    "wasserstein_correlation",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_norm",
    "mutual_info_score",
}
RANKED_GENERATIVE = ("recon_bce", "elbo", "kl", "active_units")
NOT_RANKED = {"kl", "active_units"}  # context, not quality: no "better" direction


def _fmt_seeds(seeds) -> str:
    return " ".join(str(int(s)) for s in sorted(set(int(s) for s in seeds)))


def reproduce_command(rerun, seeds: str) -> str:
    """The ``run_all.py`` command that reproduces one leaderboard row: the runs' ``rerun`` flags
    (recorded by the runner; see :func:`benchmark.sweep.plan.rerun_record`) and the group's seeds.
    '' when the runs recorded none (a study's recipe, or results written before the column existed)."""
    if not isinstance(rerun, str) or not rerun.strip():
        return ""
    return f"python run_all.py {rerun.strip()} --seeds {seeds}"


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def aggregate(results: pd.DataFrame) -> pd.DataFrame:
    """Leaderboard rows (``entry = measured``) from a results table.

    Parameters
    ----------
    results: a results.csv table (one row per run).

    Returns
    -------
    Long table with columns :data:`COLUMNS`, one row per group key and metric with a finite value.
    """
    if results.empty:
        return pd.DataFrame(columns=COLUMNS)
    df = results.copy()
    for c in ("hyperparameters", "data_source"):
        if c not in df.columns:
            df[c] = ""
        df[c] = df[c].fillna("").astype(str)
    metrics = score_columns(df) + [c for c in RANKED_GENERATIVE if c in df.columns]
    rows = []
    group_cols = ["dataset", "data_source", "preset", "kind", "model", "hyperparameters", "label"]
    for key, g in df.groupby(group_cols, dropna=False, sort=True):
        dataset, source, preset, kind, model, hyper, label = key
        steps = g["steps"].dropna().iloc[0] if "steps" in g and g["steps"].notna().any() else None
        rerun = g["rerun"].dropna().iloc[0] if "rerun" in g and g["rerun"].notna().any() else None
        for m in metrics:
            vals = pd.to_numeric(g[m], errors="coerce").dropna()
            vals = vals[np.isfinite(vals)]
            if vals.empty:
                continue
            seeds = _fmt_seeds(g.loc[vals.index, "seed"])
            rows.append(
                {
                    "dataset": dataset,
                    "data_source": source,
                    "preset": preset,
                    "model": model,
                    "hyperparameters": hyper,
                    "metric": m,
                    "label": label,
                    "kind": kind,
                    "mean": float(vals.mean()),
                    "std": float(vals.std(ddof=1)) if len(vals) > 1 else float("nan"),
                    "n": int(len(vals)),
                    "seeds": seeds,
                    "steps": steps,
                    "entry": "measured",
                    "device": _join(g.get("device")),
                    "git_commit": _join(g.get("git_commit")),
                    "command": reproduce_command(rerun, seeds),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _join(series) -> str:
    if series is None:
        return ""
    vals = sorted(set(str(v) for v in series.dropna()))
    return ",".join(vals)


def validate(df: pd.DataFrame, path: str | os.PathLike = "leaderboard") -> pd.DataFrame:
    """Check a leaderboard table; one clear error naming the first bad row and the fix.

    Checks: every column of :data:`COLUMNS` present; key fields non-empty; ``mean`` finite;
    ``std`` finite or empty; ``n`` a positive integer; ``entry`` measured or submitted; no key twice.
    """
    fix = "fix or delete that row (regenerate measured rows with `python run_all.py`)"
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise BenchmarkError(
            f"{path} is not a leaderboard: missing columns {', '.join(missing)}; "
            "regenerate it with `python run_all.py` or restore results/leaderboard.csv from git"
        )
    for i, r in df.iterrows():
        line = i + 2  # header is line 1
        for c in ("dataset", "preset", "model", "metric"):
            if not isinstance(r[c], str) or not r[c].strip():
                raise BenchmarkError(f"{path} line {line}: empty {c}; {fix}")
        if not _finite(r["mean"]):
            raise BenchmarkError(f"{path} line {line}: mean {r['mean']!r} is not a finite number; {fix}")
        if not (pd.isna(r["std"]) or (_finite(r["std"]) and float(r["std"]) >= 0)):
            raise BenchmarkError(f"{path} line {line}: std {r['std']!r} is not a non-negative number; {fix}")
        n = _num(r["n"])
        if not (math.isfinite(n) and n >= 1 and float(n).is_integer()):
            raise BenchmarkError(f"{path} line {line}: n {r['n']!r} is not a positive integer; {fix}")
        if r["entry"] not in ENTRIES:
            raise BenchmarkError(f"{path} line {line}: entry {r['entry']!r} must be one of {', '.join(ENTRIES)}; {fix}")
    keys = df[KEY].fillna("").astype(str).agg("|".join, axis=1)
    dup = keys[keys.duplicated()]
    if not dup.empty:
        raise BenchmarkError(f"{path} line {dup.index[0] + 2}: duplicate row for {dup.iloc[0]}; {fix}")
    return df


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def read_leaderboard(path: str | os.PathLike, must_exist: bool = True) -> pd.DataFrame:
    """Read and validate a leaderboard CSV."""
    p = Path(path)
    if not p.is_file():
        if must_exist:
            raise BenchmarkError(f"no leaderboard at {p}; run `python run_all.py` first or pass --leaderboard")
        return pd.DataFrame(columns=COLUMNS)
    return _parse(p, p)


def _parse(source, p: Path) -> pd.DataFrame:
    """A validated leaderboard from ``source`` (a path or a text buffer) read as ``p``."""
    try:
        df = pd.read_csv(
            source,
            dtype={
                "hyperparameters": str,
                "data_source": str,
                "seeds": str,
                "device": str,
                "git_commit": str,
                "command": str,
            },
        )
    except (ValueError, pd.errors.ParserError) as e:
        raise BenchmarkError(
            f"cannot parse {p} as CSV ({e}); restore it from git or regenerate with `python run_all.py`"
        ) from None
    for c in ("hyperparameters", "data_source"):
        if c in df.columns:
            df[c] = df[c].fillna("")
    return _integers(validate(df, p))


def _integers(df: pd.DataFrame) -> pd.DataFrame:
    """:data:`INTEGER_COLUMNS` as nullable integers (a column with empty cells reads as float)."""
    for c in INTEGER_COLUMNS:
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce")
            if (v.isna() | (np.isfinite(v) & (v == v.round()))).all():
                df[c] = v.astype("Int64")
    return df


def _keys(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    return df[cols].fillna("").astype(str).agg("|".join, axis=1)


def merge(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` updated with ``new``: submissions are kept; a measured entry of ``new`` replaces all
    measured rows of that (dataset, source, preset, model, hyperparameters) entry in ``old``."""
    if old.empty:
        out = new.copy()
    elif new.empty:
        out = old.copy()
    else:
        measured = new[new["entry"] == "measured"]
        replaced = set(_keys(measured, ENTRY_KEY)) if not measured.empty else set()
        newkeys = set(_keys(new, KEY))
        keep = old[
            (old["entry"] == "submitted") | ~(_keys(old, KEY).isin(newkeys) | _keys(old, ENTRY_KEY).isin(replaced))
        ]
        out = pd.concat([keep, new], ignore_index=True) if not keep.empty else new.copy()
    order = ["dataset", "data_source", "preset", "metric", "kind", "model", "hyperparameters", "entry"]
    return _integers(out[COLUMNS].copy()).sort_values(order, kind="stable").reset_index(drop=True)


def write_leaderboard(df: pd.DataFrame, path: str | os.PathLike) -> None:
    validate(df.reset_index(drop=True), path)
    atomic_write_text(path, _integers(df[COLUMNS].copy()).to_csv(index=False, float_format="%.6g"))


def update_leaderboard(results: pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
    """Merge the measured aggregate of ``results`` into the leaderboard at ``path`` (atomically,
    under the leaderboard's lock: a submission made meanwhile is kept)."""
    new = aggregate(results)
    with locked(path):
        merged = merge(read_leaderboard(path, must_exist=False), new)
        write_leaderboard(merged, path)
    return merged


def append_rows(
    path: str | os.PathLike, rows: pd.DataFrame, check: Callable[[pd.DataFrame], None] | None = None
) -> pd.DataFrame:
    """Append ``rows`` (columns :data:`COLUMNS`) to the leaderboard at ``path`` without rewriting a line of it.

    Under the leaderboard's lock: the table is read afresh, ``check(board)`` may refuse the rows
    (e.g. a name taken meanwhile), the new lines follow the file's own header (a column someone
    added gets empty cells) and the whole table is validated before the atomic write.

    Returns
    -------
    The leaderboard as read back after the append.
    """
    import csv
    import io

    path = Path(path)
    with locked(path):
        board = read_leaderboard(path)
        if check is not None:
            check(board)
        text = path.read_text(encoding="utf-8")
        header = next(csv.reader(io.StringIO(text)))
        lines = _integers(rows.reindex(columns=header).copy()).to_csv(index=False, header=False, float_format="%.6g")
        merged = text + ("" if text.endswith("\n") else "\n") + lines
        out = _parse(io.StringIO(merged), path)  # the new rows checked as the next reader will read them
        atomic_write_text(path, merged)
    return out


def higher_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def rank(board: pd.DataFrame, *, dataset: str, data_source: str, preset: str, metric: str, value: float) -> dict:
    """Where ``value`` ranks among the rows of one (dataset, data source, preset, metric) group.

    Returns
    -------
    ``{"rank": r, "of": N + 1, "rows": peers sorted best first, "better": True if higher is better}``;
    rank 1 is best; ties rank above existing rows. Raises if the group is empty.
    """
    g = board[
        (board["dataset"] == dataset)
        & (board["data_source"].fillna("") == data_source)
        & (board["preset"] == preset)
        & (board["metric"] == metric)
    ]
    if g.empty:
        raise BenchmarkError(
            f"the leaderboard has no {metric} rows for dataset {dataset} ({data_source}), preset {preset}; "
            "nothing to rank against: run `python run_all.py --dataset "
            f"{dataset} --preset {preset}` first"
        )
    hib = higher_is_better(metric)
    means = g["mean"].astype(float)
    better = int((means > value).sum()) if hib else int((means < value).sum())
    peers = g.sort_values("mean", ascending=not hib, kind="stable")
    return {"rank": better + 1, "of": len(g) + 1, "rows": peers, "better": hib}
