"""Atomic file writes, file locks and checksums.

Results, caches and checkpoints are always written to a temporary file in the same folder and then
renamed over the target, so a crash leaves either the old file or the new one, never half of one.
A new file gets the mode the umask allows (``0666 & ~umask``, as ``open`` would give it); a replaced
file keeps its mode. Temporary files are named ``.<target>~<host>~<pid>~<random>.tmp``, so a
temporary left by a killed writer is recognised and removed by the next write of that target.

Locks (``fcntl.flock`` on a sidecar file) serialise the read-merge-write of shared tables
(:func:`locked`) and give one process at a time a folder (:func:`folder_lock`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import socket
import stat
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from benchmark.errors import BenchmarkError, OutputError


def make_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Create folder ``path`` (and its parents), or one clear error saying why it cannot be."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create {what} {path}: {_why(e, path)}; pass a folder you can write") from None
    return path


def check_writable(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Create folder ``path`` if needed and prove it writable by creating and removing a file in it,
    so a read-only folder is one error up front, not one failure per file written later."""
    path = make_dir(path, what)
    probe = path / f".write-probe~{_host()}~{os.getpid()}~{secrets.token_hex(4)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as e:
        raise OutputError(
            f"cannot write in {what} {path}: {e.strerror or e}; make it writable or pass another folder"
        ) from None
    return path


def _why(e: OSError, path: Path) -> str:
    """The reason of a failed write, naming the file that stands where a folder should be."""
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    return f"{blocker} is a file, not a folder" if blocker else (e.strerror or str(e))


_TMP_SUFFIX = ".tmp"


def _host() -> str:
    # '~' separates the fields of a temporary's name; a host name never holds one, but be sure
    return socket.gethostname().replace("~", "-") or "host"


def _tmp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}~{_host()}~{os.getpid()}~{secrets.token_hex(4)}{_TMP_SUFFIX}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def clean_stale_temporaries(target: str | os.PathLike) -> list[Path]:
    """Remove temporaries of ``target`` left by writers on this host that no longer run (killed
    mid-write); a live writer's temporary, or one from another host, is left alone."""
    target = Path(target)
    removed = []
    prefix, host = f".{target.name}~", _host()
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix) and n.endswith(_TMP_SUFFIX)]
    except OSError:
        return removed
    for n in names:
        parts = n[len(prefix) : -len(_TMP_SUFFIX)].split("~")
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1])):
            try:
                os.unlink(target.parent / n)
                removed.append(target.parent / n)
            except OSError:
                pass
    return removed


def _open_temporary(target: Path) -> tuple[int, Path]:
    """A new temporary beside ``target``: mode 0666 & ~umask (as ``open`` gives), or ``target``'s own
    mode when it exists, so replacing a shared 0664 table keeps it group-writable."""
    try:
        keep = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        keep = None
    for _ in range(100):
        tmp = _tmp_name(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        if keep is not None:
            os.fchmod(fd, keep)
        return fd, tmp
    raise FileExistsError(f"no free temporary name beside {target}")


def _atomic(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; pass a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(path)
        fd, tmp = _open_temporary(path)
    except OSError as e:
        raise OutputError(
            f"cannot write {path}: {_why(e, path.parent)}; pass a path in a folder you can write"
        ) from None
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
            raise OutputError(
                f"cannot write {path} ({e.strerror or e}); the old file is unchanged: free space or pass another path"
            ) from None
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


# ------------------------------------------------------------------------------------------------
# locks


class FolderBusy(BenchmarkError):
    """Another process holds the folder's lock; ``pid`` is its process id where it wrote one."""

    def __init__(self, message: str, folder: Path, pid: int | None) -> None:
        super().__init__(message)
        self.folder, self.pid = folder, pid


# Locks this process holds, by lock-file path: flock locks belong to an open file, so a second
# open() of the same file in the same process would conflict with the first. Re-entering a lock
# we hold (the trainer's nested call that brings ensemble members level) only counts up.
_HELD: dict[str, list] = {}
_HELD_GUARD = threading.Lock()


@contextlib.contextmanager
def _flock(lock_file: Path, *, blocking: bool, on_busy: Callable[[int | None], BaseException]) -> Iterator[None]:
    import fcntl

    key = os.path.realpath(lock_file)
    with _HELD_GUARD:
        if key in _HELD:
            _HELD[key][1] += 1
            held = _HELD[key]
        else:
            held = None
    if held is None:
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            raise OutputError(
                f"cannot create lock file {lock_file}: {_why(e, lock_file.parent)}; pass a folder you can write"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise on_busy(pid) from None
        except BaseException:
            os.close(fd)
            raise
        # who holds it, for the message another process prints (written only once we hold the lock)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        held = [fd, 1]
        with _HELD_GUARD:
            _HELD[key] = held
    try:
        yield
    finally:
        with _HELD_GUARD:
            held[1] -= 1
            last = held[1] == 0
            if last:
                del _HELD[key]
        if last:
            os.close(held[0])  # releases the flock; the file stays (removing it would race a waiter)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def lock_path(path: str | os.PathLike) -> Path:
    """The sidecar lock file of ``path``: ``.<name>.lock`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on shared file ``path`` (waiting for other holders) around a
    read-merge-write, so two writers never lose each other's rows."""
    path = Path(path)
    make_dir(path.parent, "folder")
    with _flock(lock_path(path), blocking=True, on_busy=lambda pid: OutputError(f"cannot lock {path}")):
        yield


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, busy: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (file ``folder/.lock``) or raise :class:`FolderBusy` at once.

    Parameters
    ----------
    folder : path-like
        Created if missing.
    busy : str
        The message when another process holds it; ``{folder}`` and ``{pid}`` are filled in.
    """
    folder = make_dir(folder, "folder")

    def on_busy(pid):
        return FolderBusy(busy.format(folder=folder, pid=pid if pid is not None else "unknown"), folder, pid)

    with _flock(folder / ".lock", blocking=False, on_busy=on_busy):
        yield


# ------------------------------------------------------------------------------------------------
# names read from files


_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=,-]{0,199}")


def check_plain_name(value: Any, what: str, where: str) -> str:
    """``value`` if it is a plain file name (letters, digits, ``_ . + = , -``; no path separator,
    not hidden, at most 200 characters), else one clear error: names read from a file become paths."""
    text = str(value)
    if not _PLAIN.fullmatch(text) or text in (".", ".."):
        raise BenchmarkError(
            f"{where}: {what} {text[:60]!r} is not a plain name (letters, digits, _ . + = , - only; "
            "no '/' or '..'); it would become a path outside the results folder: fix or delete that entry"
        )
    return text


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
