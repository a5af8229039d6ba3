"""Atomic file writes and checksums.

Results, caches and checkpoints are always written to a temporary file in the same folder and then
renamed over the target, so a crash leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from benchmark.errors import OutputError


def make_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Create folder ``path`` (and its parents), or one clear error saying why it cannot be."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {what} {path}: {_why(e, path)}; pass a folder you can write") from None
    return path


def _why(e: OSError, path: Path) -> str:
    """The reason of a failed write, naming the file that stands where a folder should be."""
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    return f"{blocker} is a file, not a folder" if blocker else (e.strerror or str(e))


def _atomic(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; pass a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise OutputError(f"cannot write {path}: {_why(e, path.parent)}; pass a path in a folder you can write") from None
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and not isinstance(e, OutputError):  # disk full, quota: the old file is intact
            raise OutputError(f"cannot write {path} ({e.strerror or e}); the old file is unchanged: free space or pass another path") from None
        raise
    return path


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return _atomic(path, lambda f: f.write(data))


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NaN written as null-safe strings is not done: keep values finite)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def atomic_save_npz(path, compressed: bool = False, **arrays) -> Path:
    """Save arrays in numpy's npz format atomically."""
    import numpy as np

    saver = np.savez_compressed if compressed else np.savez
    return _atomic(path, lambda f: saver(f, **arrays))


def atomic_save_npy(path, array) -> Path:
    """Save one array in numpy's npy format atomically."""
    import numpy as np

    return _atomic(path, lambda f: np.save(f, array))


def atomic_torch_save(path, obj: Any) -> Path:
    """``torch.save`` atomically (the checkpoint is complete or absent, never truncated)."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def sha256_file(path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _json_default(o: Any):
    import numpy as np

    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
