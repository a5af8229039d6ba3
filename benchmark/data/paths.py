"""Where dataset files live: ``--data-dir`` beats ``$DISENTANGLE_BENCH_DATA`` beats ``./datasets``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DISENTANGLE_BENCH_DATA"


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root folder.

    Order: the explicit ``data_dir`` argument (CLI ``--data-dir``), then the environment variable
    ``DISENTANGLE_BENCH_DATA``, then ``datasets/`` in the project checkout (when running from a
    checkout), else ``./datasets`` in the current directory.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "datasets").is_dir():
        return checkout / "datasets"
    return Path.cwd() / "datasets"
