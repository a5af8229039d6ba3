"""The flags several commands share, each defined once with one help text, and the rule for paths.

Where files go (every command follows it):

* Paths you give are used as given; relative ones are relative to the current working directory.
* Every default output lies inside ``--results-dir`` (default ``results``, in the current working
  directory): run folders, tables and figures of ``run`` / ``figures``, ``train``'s result folders
  (``RESULTS_DIR/train/...``), ``compare``'s leaderboard (``RESULTS_DIR/leaderboard.csv``) and ``data
  show``'s contact sheets (``RESULTS_DIR/datasets/NAME.png``). Caches sit beside what they cache
  (``evaluate``'s codes cache: ``<checkpoint folder>/codes_cache``).
* Datasets are read from the data root: ``--data-dir``, else ``$DISENTANGLE_BENCH_DATA``, else the
  checkout's ``datasets/`` when run from a checkout, else ``./datasets``
  (:func:`benchmark.data.paths.data_root`).
"""

from __future__ import annotations

import argparse

DATA_SOURCES = ("auto", "official", "procedural")
SEED_MAX = 2**32 - 1  # numpy RandomState's range; the metrics draw from RandomState(seed)

DATA_DIR_HELP = (
    "data root (default: $DISENTANGLE_BENCH_DATA, else the checkout's datasets/ when run from a "
    "checkout, else ./datasets)"
)
DEVICE_HELP = "torch device: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"
DATA_SOURCE_HELP = (
    "where the images come from: official (the dataset's file, which must be under the data root), "
    "procedural (the built-in generator) or auto (official when present, else procedural)"
)
RESULTS_DIR_HELP = (
    "results folder, relative to the current directory; every default output path lies inside it "
    "(runs/, results.csv, leaderboard.csv, summary.md, figures/, train/, datasets/)"
)


def add_data_dir(parser) -> None:
    parser.add_argument("--data-dir", default=None, metavar="DIR", help=DATA_DIR_HELP)


def add_device(parser) -> None:
    """``--device`` (default ``auto``); commands resolve it with :func:`benchmark.device.resolve_device`."""
    parser.add_argument("--device", default="auto", metavar="DEV", help=DEVICE_HELP)


def add_data_source(parser, *aliases: str) -> None:
    parser.add_argument(
        "--data-source", *aliases, dest="data_source", default="auto", choices=DATA_SOURCES, help=DATA_SOURCE_HELP
    )


def add_results_dir(parser) -> None:
    parser.add_argument("--results-dir", default="results", metavar="DIR", help=RESULTS_DIR_HELP)


def add_seed(parser, purpose: str, flag: str = "--seed") -> None:
    """A seed flag (default 0) whose help says what it seeds; values outside 0 .. 2**32 - 1 are one line."""
    parser.add_argument(flag, type=seed_value, default=0, metavar="S", help=purpose)


def seed_value(text: str) -> int:
    """argparse type: an integer in numpy RandomState's range 0 .. 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**32 - 1 (numpy RandomState's range), got {value}")
    return value
