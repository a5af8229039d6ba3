"""The one device resolver: ``auto`` means CUDA, then Apple MPS, then the CPU; a named device is checked."""

from __future__ import annotations

from benchmark.errors import BenchmarkError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"


def select_device(name: str | None = "auto"):
    """The ``torch.device`` for ``name`` (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``).

    Raises
    ------
    BenchmarkError
        An unknown device, or one this machine does not have (one line naming the fix).
    """
    import torch

    name = (name or "auto").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise BenchmarkError(f"unknown device {name!r}; use {DEVICE_CHOICES}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchmarkError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BenchmarkError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s); pick cuda:0..")
    elif dev.type == "mps":
        if mps is None or not mps.is_available():
            raise BenchmarkError(f"--device {name}: MPS is not available on this machine; use --device cpu or auto")
    elif dev.type != "cpu":
        raise BenchmarkError(f"unsupported device {name!r}; use {DEVICE_CHOICES}")
    return dev


def resolve_device(name: str | None = "auto") -> str:
    """:func:`select_device` as the string a config or a result row records (``cuda``, ``cuda:1``, ``cpu``)."""
    return str(select_device(name))
