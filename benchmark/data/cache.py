"""Image caches in the data root: one plain ``.npy`` file, memory-mapped on read, and a JSON sidecar.

A cache ``<name>.npy`` (the procedural grids, the decoded smallNORB / Cars3D / chairs grids) comes
with ``<name>.json``::

    {"format": 1, "shape": [N, C, 64, 64], "dtype": "uint8", "bytes": <size of the .npy>,
     "sha256": <of the .npy>, ...the writer's identity: generator and version, or a source key}

Opening a cache is a header check and a memory map (no copy, no zip directory): the sidecar's
identity must equal the caller's, the file's size must be the one recorded (a truncated or replaced
file is not trusted), and the ``.npy`` header must declare the expected shape and dtype
(:func:`benchmark.data.npy.read_npy`). The SHA-256 is recorded for provenance, not checked on every
open (hashing the 3 GB dSprites grid would take seconds). A cache that fails any check, or an
old-format ``.npz`` cache beside it, is ignored with one ``notice:`` line and built again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from benchmark.data import npy
from benchmark.errors import DatasetError
from benchmark.io import atomic_save_npy, atomic_write_json, sha256_file

FORMAT = 1
_MAX_SIDECAR_BYTES = 1 << 16  # a sidecar is a few hundred bytes; a larger one is not ours


def notice(msg: str) -> None:
    print(f"notice: {msg}", file=sys.stderr)


def sidecar(path: Path) -> Path:
    """The JSON sidecar of cache ``path``: ``x.npy`` -> ``x.json``."""
    return Path(path).with_suffix(".json")


def read(path, identity: dict, shape: tuple, dtype=np.uint8, again: str = "built again") -> np.ndarray | None:
    """The cached array, memory-mapped read-only, or None when there is no usable cache.

    Parameters
    ----------
    path : path-like
        The ``.npy`` file.
    identity : dict
        JSON values the sidecar must hold (e.g. ``{"generator": ..., "version": ...}``).
    shape, dtype
        What the ``.npy`` header must declare.
    again : str
        What happens instead (``"rendered again"``), for the one-line notice.

    Returns
    -------
    np.memmap (or ndarray for an empty array), or None
    """
    path = Path(path)
    if not path.exists():
        old = path.with_suffix(".npz")
        if old.exists():
            notice(f"{old}: a cache in the former npz format, ignored; it is {again} (delete the npz to free space)")
        return None
    side = sidecar(path)
    try:
        if side.stat().st_size > _MAX_SIDECAR_BYTES:
            raise ValueError(f"{side.stat().st_size} bytes")
        meta = json.loads(side.read_text())
        if not isinstance(meta, dict):
            raise TypeError("not a JSON object")
    except (OSError, ValueError, TypeError) as e:
        notice(
            f"unreadable cache ({path}: its sidecar {side.name} is missing or invalid: {npy.first_line(e)}); "
            f"it is {again}"
        )
        return None
    want = dict(identity, format=FORMAT, shape=list(shape), dtype=np.dtype(dtype).name)
    wrong = [k for k, v in want.items() if meta.get(k) != v]  # plain comparisons: no str() of crafted values
    if wrong:
        notice(f"{path}: stale cache (mismatch in {', '.join(wrong)}); it is {again}")
        return None
    if meta.get("bytes") != path.stat().st_size:
        notice(
            f"unreadable cache ({path}: its size differs from the one its sidecar records; truncated or "
            f"replaced); it is {again}"
        )
        return None
    try:
        return npy.read_npy(path, dtype=dtype, shape=shape, fix=f"it is {again}", mmap=True)
    except DatasetError as e:
        notice(f"unreadable cache ({e})")
        return None


def write(path, array: np.ndarray, identity: dict) -> Path | None:
    """Write ``array`` to ``path`` (``.npy``) and then its sidecar, each atomically.

    Returns the path, or None (with a notice) when the folder cannot be written: a cache is optional.
    """
    path = Path(path)
    array = np.ascontiguousarray(array)
    try:
        atomic_save_npy(path, array)
        meta = dict(
            identity,
            format=FORMAT,
            shape=list(array.shape),
            dtype=array.dtype.name,
            bytes=path.stat().st_size,
            sha256=sha256_file(path),
        )
        atomic_write_json(sidecar(path), meta)
        return path
    except OSError as e:
        notice(f"could not write the cache {path} ({e}); it will be built again next time")
        return None
