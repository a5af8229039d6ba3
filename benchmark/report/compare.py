"""Rank a user's scores against the leaderboard and (optionally) submit them: the report's side of ``compare``.

``python -m benchmark compare --checkpoint PATH [--model MODULE:CALLABLE]`` or
``python -m benchmark compare --codes FILE.npy --dataset NAME``. The representation is scored by the
runner (:mod:`benchmark.sweep.compare`, exactly the metrics, sample sizes, variants and seed of the
chosen preset, the same function the sweep uses); here it is ranked, per metric, only among
leaderboard rows with the same dataset, data source, preset and metric. ``--submit`` validates the
new rows and appends them (``entry = submitted``) under the leaderboard's lock, atomically, leaving
every existing line as it was.
"""

from __future__ import annotations

import math
import shlex
import sys

import numpy as np
import pandas as pd

from benchmark.errors import BenchmarkError
from benchmark.report.leaderboard import COLUMNS, NOT_RANKED, append_rows, rank
from benchmark.report.results import META_COLUMNS
from benchmark.results.provenance import git_commit


def peers_of(board: pd.DataFrame, leaderboard, dataset: str, source: str, preset: str, checks_only_dataset=False):
    """The leaderboard rows a new entry is ranked among (same dataset, data source and preset), or one
    clear error naming what the leaderboard does have. ``checks_only_dataset``: stop after checking that
    the dataset has rows at all (before any data source is resolved)."""
    have = sorted(set(board["dataset"]))
    if dataset not in have:
        raise BenchmarkError(
            f"the leaderboard {leaderboard} has no rows for dataset {dataset} (it has: "
            f"{', '.join(have) or 'none'}); run `python run_all.py --dataset {dataset} --preset {preset}` first"
        )
    if checks_only_dataset:
        return None
    peers = board[(board["dataset"] == dataset) & (board["data_source"] == source) & (board["preset"] == preset)]
    if peers.empty:
        combos = sorted({f"{r.data_source}/{r.preset}" for r in board[board["dataset"] == dataset].itertuples()})
        raise BenchmarkError(
            f"the leaderboard has no {dataset} rows for data source {source} and preset {preset} "
            f"(it has source/preset: {', '.join(combos)}); pass the matching --preset/--data-source"
        )
    return peers


def rank_scores(board: pd.DataFrame, peers: pd.DataFrame, scores: dict, dataset: str, source: str, preset: str):
    """Rank each score among ``peers``; returns ``(rows to submit, table lines, flags)``.

    Flags (booleans such as ``beta_vae_paper_converged``) and unranked context numbers are not ranked.
    """
    rows, table, flags = [], [], []
    for metric, value in scores.items():
        if metric in META_COLUMNS or isinstance(value, (bool, np.bool_)):  # a flag (e.g. converged), not a score
            if isinstance(value, (bool, np.bool_)):
                flags.append(f"{metric} = {bool(value)}")
            continue
        if not (isinstance(value, (int, float)) and math.isfinite(value)) or metric in NOT_RANKED:
            continue
        if metric not in set(peers["metric"]):
            table.append((metric, f"{value:.4f}", "-", "(no leaderboard rows for this metric)"))
            continue
        r = rank(board, dataset=dataset, data_source=source, preset=preset, metric=metric, value=float(value))
        best = r["rows"].iloc[0]
        table.append(
            (
                metric,
                f"{value:.4f}",
                f"{r['rank']} of {r['of']}",
                f"{best['label']} {best['mean']:.4f}" + ("" if r["better"] else "  (lower is better)"),
            )
        )
        rows.append(
            {
                "dataset": dataset,
                "data_source": source,
                "preset": preset,
                "metric": metric,
                "value": float(value),
                "rank": r["rank"],
                "of": r["of"],
            }
        )
    return rows, table, flags


def check_name(name: str) -> str:
    """The entry name, stripped; a blank name or one with control characters is refused (one line)."""
    text = str(name).strip()
    if not text:
        raise BenchmarkError("--name is blank; give the entry a visible name, e.g. --name my-vae")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise BenchmarkError(f"--name {text!r} holds control characters (a newline, a tab); use one line of plain text")
    return text


def format_table(lines: list[tuple[str, ...]]) -> str:
    """Columns as wide as their longest cell (metric names vary in length); numbers right-aligned."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join([line[0].ljust(widths[0]), line[1].rjust(widths[1]), line[2].rjust(widths[2]), line[3]]).rstrip()
        for line in lines
    )


def submit(board: pd.DataFrame, rows: list[dict], args, device: str, inputs: str = "") -> pd.DataFrame:
    """Append the scored rows as ``submitted`` entries (validated; an existing entry of that name is refused).

    Like a measured row, each records what produced it: the device that scored it (``device``, not
    ``auto``), the commit of this checkout, the command and, in the ``hyperparameters`` column
    (``inputs``), the SHA-256 of the checkpoint or codes file that was scored
    (``checkpoint_sha256=...`` / ``codes_sha256=...``), so a row can be traced to its file.
    """
    name = check_name(args.name)
    model = f"submitted:{name}"

    def name_free(current: pd.DataFrame) -> None:  # checked on the table as it is under the lock
        if (
            (current["model"] == model)
            & (current["preset"] == rows[0]["preset"])
            & (current["dataset"] == rows[0]["dataset"])
        ).any():
            raise BenchmarkError(
                f"the leaderboard already has an entry named {name!r} for this dataset and preset; "
                "choose another --name"
            )

    name_free(board)  # before the work of building rows, as before
    cmd = "python -m benchmark compare " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    new = pd.DataFrame(
        [
            {
                "dataset": r["dataset"],
                "data_source": r["data_source"],
                "preset": r["preset"],
                "model": model,
                "hyperparameters": inputs,
                "metric": r["metric"],
                "label": name,
                "kind": "submitted",
                "mean": r["value"],
                "std": float("nan"),
                "n": 1,
                "seeds": str(args.seed),
                "steps": None,
                "entry": "submitted",
                "device": device,
                "git_commit": git_commit() or "",
                "command": cmd,
            }
            for r in rows
        ],
        columns=COLUMNS,
    )
    # appended under the leaderboard's lock: no existing line moves or changes, a concurrent submission is kept
    merged = append_rows(args.leaderboard, new, check=name_free)
    print(f"submitted {len(new)} rows as {name!r} to {args.leaderboard}")
    return merged
