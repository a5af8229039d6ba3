"""Training's device switches; the device itself is chosen by :mod:`benchmark.device` (one resolver)."""

from __future__ import annotations

from benchmark.device import select_device

__all__ = ["resolve_switch", "select_device"]


def resolve_switch(value: str, default: bool) -> bool:
    """``auto`` -> default, ``on`` -> True, ``off`` -> False."""
    return default if value == "auto" else value == "on"
