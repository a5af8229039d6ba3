"""Report layer: results tables, leaderboard, published numbers, figures and summary.md.

It only reads results files (``runs/*/metrics.json``, ``results.csv``, ``leaderboard.csv``,
``published.csv`` and arrays saved by runs); it never trains. :func:`refresh` rebuilds all of it.
"""

from __future__ import annotations

import os
from pathlib import Path


def refresh(
    results_dir: str | os.PathLike,
    *,
    rebuild_table: bool = True,
    leaderboard: str | os.PathLike | None = None,
    figures_dir: str | os.PathLike | None = None,
    run_figures: bool = True,
):
    """Rebuild results.csv (from finished runs), the leaderboard, published.csv, figures and summary.md.

    Parameters
    ----------
    results_dir: the results folder (``runs/`` inside it).
    rebuild_table: re-aggregate ``results.csv`` from run folders (False: use the saved results.csv).
    leaderboard: leaderboard path (default ``results_dir/leaderboard.csv``); measured rows with the
        same key are replaced, other rows kept.
    figures_dir: where figures go (default ``results_dir/figures``).
    run_figures: also re-plot per-run figures from saved arrays.

    Returns
    -------
    ``(results DataFrame, {figure name: paths})``.
    """
    from benchmark.report import figures as F
    from benchmark.report.leaderboard import LEADERBOARD_CSV, update_leaderboard
    from benchmark.report.published import PUBLISHED_CSV, read_published, write_published
    from benchmark.report.results import read_results, write_results
    from benchmark.report.summary import write_summary

    rd = Path(results_dir)
    if rebuild_table:
        write_results(rd)
    # Everything below reads the table as stored (6 significant digits), never the in-memory one, so that
    # run_all's closing refresh and `python -m benchmark figures` draw identical figures from the same numbers.
    df = read_results(rd)
    update_leaderboard(df, Path(leaderboard) if leaderboard else rd / LEADERBOARD_CSV)
    pub_path = rd / PUBLISHED_CSV
    published = read_published(pub_path) if pub_path.is_file() else write_published(pub_path)
    made = F.build_all(df, published, rd, Path(figures_dir) if figures_dir else rd / "figures", run_figures=run_figures)
    write_summary(df, published, made, rd)
    return df, made
