"""What produced a result: package versions, the git commit of this checkout, the machine and device."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


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
