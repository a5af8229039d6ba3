"""Read ``.npy`` files and ``.npz`` members safely: check the header before reading any data.

numpy trusts a ``.npy`` header: it allocates the declared shape before reading, and memory-mapping
an object-dtype array turns file bytes into Python object pointers (a 12 KB crafted file crashes
the interpreter). Every loader of the benchmark therefore reads arrays through :func:`npz_member`
or :func:`read_npy`, which parse the header first and refuse, with one
:class:`~benchmark.errors.DatasetError` line naming the file and the fix,

- object, structured and sub-array dtypes, and dtypes other than the ones the caller accepts;
- shapes other than the expected one (the caller's pattern fixes every axis it knows);
- data that the file (or the zip member) cannot hold: a truncated file, a header declaring more
  bytes than are there.

Only then are the bytes read (or memory-mapped, for uncompressed members and files).
"""

from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np

from benchmark.errors import BenchmarkError, DatasetError

_KIND_NAMES = {
    "b": "bool",
    "i": "signed integer",
    "u": "unsigned integer",
    "f": "floating-point",
    "U": "unicode string",
}
DtypeSpec = Union[str, np.dtype, type]


@dataclass(frozen=True)
class Header:
    """What a ``.npy`` header declares, and where its data starts (``offset`` counts from the
    start of the ``.npy`` stream; ``nbytes`` is the size of the data it declares)."""

    shape: tuple
    fortran: bool
    dtype: np.dtype
    offset: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: no int64 wrap-around


def parse_header(f) -> Header:
    """Read the magic string and header of a ``.npy`` stream positioned at its start.

    Raises ``ValueError`` (numpy's own) on a malformed or truncated header.
    """
    start = f.tell()
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unknown .npy format version {version}")
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = reader(f)
    return Header(tuple(shape), bool(fortran), dtype, f.tell() - start)


def _describe(dtype: DtypeSpec) -> str:
    """``"fiu"`` -> ``"floating-point or integer"``; an exact dtype -> its name."""
    if isinstance(dtype, str) and all(k in _KIND_NAMES for k in dtype):
        kinds = dtype.replace("i", "").replace("u", "") if set("iu") <= set(dtype) else dtype
        names = [_KIND_NAMES[k] for k in "fiubU" if k in kinds]
        if set("iu") <= set(dtype):
            names.insert(1 if "f" in dtype else 0, "integer")
        return " or ".join(names)
    return np.dtype(dtype).name


def check_header(
    where: str,
    head: Header,
    dtype: DtypeSpec,
    shape: Sequence[Optional[int]],
    fix: str,
    available: Optional[int] = None,
    check: Optional[Callable[[Header], None]] = None,
) -> None:
    """Refuse a header whose dtype, shape or size does not fit; ``where`` names the file and array.

    Parameters
    ----------
    where : str
        E.g. ``"/data/x.npz: imgs"``: starts every message.
    head : Header
    dtype : str, dtype or type
        A string of dtype kinds (``"iu"``: any integer) or one exact dtype (byte order aside).
    shape : sequence of int or None
        The expected shape; ``None`` accepts any length on that axis (named N on the first axis and
        D on the others in messages).
    fix : str
        What the user should do, appended to every message.
    available : int, optional
        Bytes of data the file holds after the header; more declared is "truncated".
    check : callable, optional
        The caller's own test of the header (e.g. an image count), run before the size test so
        that a size no dataset has is named as such rather than as truncation.
    """
    dt = head.dtype
    expected = (
        "("
        + ", ".join(("D" if i else "N") if s is None else str(s) for i, s in enumerate(shape))
        + ("," if len(shape) == 1 else "")
        + ")"
    )
    if dt.hasobject:
        raise DatasetError(
            f"{where} holds Python objects (dtype {dt}), which are never read (a crafted or foreign "
            f"file); expected {expected} {_describe(dtype)} — {fix}"
        )
    if isinstance(dtype, str) and all(k in _KIND_NAMES for k in dtype):
        ok = dt.kind in dtype and dt.names is None and dt.subdtype is None
    else:
        ok = dt.newbyteorder("=") == np.dtype(dtype).newbyteorder("=")
    if (
        not ok
        or len(head.shape) != len(shape)
        or any(d < 0 for d in head.shape)
        or any(s is not None and d != s for d, s in zip(head.shape, shape))
    ):
        raise DatasetError(f"{where} is {head.shape} {dt}, expected {expected} {_describe(dtype)} — {fix}")
    if check is not None:
        check(head)
    if available is not None and head.nbytes > available:
        raise DatasetError(
            f"{where} declares {head.shape} {dt} ({head.nbytes:,} bytes) but the file holds "
            f"{max(available, 0):,}; it is truncated or corrupt — {fix}"
        )


def npz_member(
    path,
    key: str,
    *,
    dtype: DtypeSpec,
    shape: Sequence[Optional[int]],
    fix: str,
    mmap: bool = False,
    check: Optional[Callable[[Header], None]] = None,
) -> np.ndarray:
    """One array of an ``.npz`` file, its header checked by :func:`check_header` before any read.

    Parameters
    ----------
    path : path-like
    key : str
        Array name (the member ``<key>.npy``).
    dtype, shape, fix
        As in :func:`check_header`.
    mmap : bool
        Memory-map the member (read-only) when it is stored uncompressed (``np.savez``); a compressed
        member is always read into memory.
    check : callable, optional
        Called with the :class:`Header` after the generic checks and before any data is read; it
        raises a :class:`~benchmark.errors.BenchmarkError` to refuse a size the caller cannot use
        (e.g. an image count that fits no release), so no absurd size is ever allocated.

    Returns
    -------
    ndarray (or ``np.memmap``)
    """
    path = Path(path)
    where = f"{path}: array {key!r}"
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo(f"{key}.npy")
            except KeyError:
                raise DatasetError(
                    f"{path}: no array {key!r} in the npz (found "
                    f"{[n[:-4] for n in zf.namelist() if n.endswith('.npy')]}) — {fix}"
                ) from None
            with zf.open(info) as f:
                head = parse_header(f)
            check_header(where, head, dtype, shape, fix, available=info.file_size - head.offset, check=check)
            if mmap and info.compress_type == zipfile.ZIP_STORED:
                offset = _stored_data_offset(path, info) + head.offset
                if offset + head.nbytes > path.stat().st_size:
                    raise DatasetError(
                        f"{where} is truncated ({head.shape} {head.dtype} does not fit in the file) — {fix}"
                    )
                if head.nbytes == 0:  # np.memmap refuses empty maps
                    return np.empty(head.shape, head.dtype)
                return np.memmap(
                    path,
                    dtype=head.dtype,
                    mode="r",
                    offset=offset,
                    shape=head.shape,
                    order="F" if head.fortran else "C",
                )
            with zf.open(info) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
    except BenchmarkError:  # ours, and the caller's check: already one line
        raise
    except MemoryError:
        raise DatasetError(f"{where}: not enough memory to read it — free memory, or {fix}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError, NotImplementedError) as e:
        raise DatasetError(
            f"{where}: cannot read it ({type(e).__name__}: {first_line(e)}); the file is truncated or corrupt — {fix}"
        ) from None


def npz_string(path, key: str, fix: str, max_chars: int = 4096) -> str:
    """A string stored as a 0-d unicode array in an npz (a cache's key, generator, version or info),
    refused without reading when its declared length exceeds ``max_chars``."""

    def short(head: Header) -> None:
        if head.dtype.itemsize > 4 * max_chars:  # numpy's unicode is UCS-4
            raise DatasetError(
                f"{path}: array {key!r} declares a {head.dtype} string, longer than {max_chars} characters — {fix}"
            )

    return str(npz_member(path, key, dtype="U", shape=(), fix=fix, check=short))


def npz_keys(path, fix: str) -> list[str]:
    """The array names of an ``.npz`` file (no data is read); one clear error if it is no zip."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] for n in zf.namelist() if n.endswith(".npy")]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DatasetError(
            f"{path}: not a readable npz (zip) file ({type(e).__name__}: {first_line(e)}); "
            f"it is truncated or corrupt — {fix}"
        ) from None


def read_npy(
    path,
    *,
    dtype: DtypeSpec,
    shape: Sequence[Optional[int]],
    fix: str,
    mmap: bool = False,
    check: Optional[Callable[[Header], None]] = None,
) -> np.ndarray:
    """A ``.npy`` file, its header checked before the data is read or (``mmap``) memory-mapped.

    ``dtype``, ``shape``, ``fix`` and ``check`` are as in :func:`npz_member`; an empty file is
    refused by name.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0:
            raise DatasetError(f"{path} is empty (0 bytes); expected a .npy array — {fix}")
        with open(path, "rb") as f:
            head = parse_header(f)
            check_header(str(path), head, dtype, shape, fix, available=size - head.offset, check=check)
            if mmap and head.nbytes:
                return np.memmap(
                    path,
                    dtype=head.dtype,
                    mode="r",
                    offset=head.offset,
                    shape=head.shape,
                    order="F" if head.fortran else "C",
                )
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
    except BenchmarkError:  # ours, and the caller's check: already one line
        raise
    except MemoryError:
        raise DatasetError(f"{path}: not enough memory to read it — free memory, or {fix}") from None
    except (EOFError, OSError, ValueError) as e:
        raise DatasetError(
            f"{path}: cannot read it as a .npy array ({type(e).__name__}: {first_line(e)}); "
            f"the file is truncated or corrupt — {fix}"
        ) from None


def _stored_data_offset(path: Path, info: zipfile.ZipInfo) -> int:
    """Where an uncompressed member's bytes start: after its local header, whose name and extra
    field lengths may differ from the central directory's."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        raise ValueError(f"bad local header for {info.filename}")
    return info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for one-line errors."""
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__
