"""Published numbers, kept apart from ours: ``results/published.csv``.

Every row names its paper, the table or figure, the page where known, and how sure we are of it
(``recalled``: taken from memory of the paper, not re-checked against the PDF). Reports show these beside our
measurements, in separate columns,
never mixed into the leaderboard or into rankings.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_text

PUBLISHED_CSV = "published.csv"
COLUMNS = [
    "paper",
    "source",
    "page",
    "dataset",
    "metric",
    "representation",
    "model",
    "hyperparameters",
    "value",
    "std",
    "unit",
    "confidence",
    "note",
]

_HIGGINS = (
    "Higgins et al. 2017, beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework (ICLR)"
)
_SRC = "Fig. 6 (left) / 'Table 1' (metric score table)"
_PAGE = "not recorded"
_NOTE = (
    "recalled from the paper, not re-checked against the PDF; "
    "paper protocol: FC architecture, Adagrad, paper's metric variant on 4 factors; "
    "reported over seeds with the bottom 50% dropped"
)

# representation, model, hyperparameters, value, std (percent accuracy)
_BETA_VAE_TABLE = [
    ("ground truth", "ground_truth", "", 100.0, None),
    ("raw pixels", "pixels", "", 45.75, 0.8),
    ("PCA", "pca", "", 84.9, 0.4),
    ("ICA", "ica", "", 42.03, 10.6),
    ("DC-IGN (semi-supervised)", "dc_ign", "", 99.3, 0.1),
    ("InfoGAN", "infogan", "", 73.5, 0.9),
    ("untrained VAE", "untrained_vae", "", 44.14, 2.5),
    ("VAE (beta=1)", "vae", "beta=1", 61.58, 0.5),
    ("beta-VAE (beta=4)", "beta_vae", "beta=4", 99.23, 0.1),
]


def published_table() -> pd.DataFrame:
    """The published numbers we carry, as a table with :data:`COLUMNS`."""
    rows = [
        {
            "paper": _HIGGINS,
            "source": _SRC,
            "page": _PAGE,
            "dataset": "dsprites",
            "metric": "beta_vae_paper",
            "representation": rep,
            "model": model,
            "hyperparameters": hyper,
            "value": v,
            "std": s,
            "unit": "accuracy %",
            "confidence": "recalled",
            "note": _NOTE,
        }
        for rep, model, hyper, v, s in _BETA_VAE_TABLE
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def write_published(path: str | os.PathLike) -> pd.DataFrame:
    df = published_table()
    atomic_write_text(path, df.to_csv(index=False))
    return df


def read_published(path: str | os.PathLike | None) -> pd.DataFrame:
    """Read a published.csv; the built-in table if ``path`` is None or absent."""
    if path is None or not Path(path).is_file():
        return published_table()
    try:
        df = pd.read_csv(path, dtype={"hyperparameters": str, "page": str})
    except (ValueError, pd.errors.ParserError) as e:
        raise BenchmarkError(f"cannot parse {path} as CSV ({e}); restore results/published.csv from git") from None
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise BenchmarkError(f"{path} lacks columns {', '.join(missing)}; restore results/published.csv from git")
    df["hyperparameters"] = df["hyperparameters"].fillna("")
    return df
