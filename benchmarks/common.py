"""Shared helpers for the benchmark scripts: machine facts, a table printer, JSON output."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"


def machine() -> dict:
    """What the numbers were measured on, including the load at the start."""
    import numpy
    import torch

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commit": _git_commit(),
    }


def _git_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in columns))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return "" if v is None else str(v)


def write_json(name: str, payload: dict) -> Path:
    from benchmark.io import atomic_write_json

    path = OUT_DIR / f"{name}.json"
    atomic_write_json(path, payload)
    print(f"wrote {path}")
    return path
