"""Device choice: CUDA, then Apple MPS, then CPU, unless the user names one."""
from __future__ import annotations

import torch

from benchmark.errors import BenchmarkError


def select_device(name: str = "auto") -> torch.device:
    """The training device for ``name`` (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise BenchmarkError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchmarkError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BenchmarkError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s); pick cuda:0..")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise BenchmarkError(f"--device {name}: MPS is not available on this machine; use --device cpu or auto")
    elif dev.type != "cpu":
        raise BenchmarkError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return dev


def resolve_switch(value: str, default: bool) -> bool:
    """``auto`` -> default, ``on`` -> True, ``off`` -> False."""
    return default if value == "auto" else value == "on"
