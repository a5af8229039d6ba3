"""Read the Python-2-pickled ``metadata`` entry of the official dSprites npz without trusting pickle.

``numpy.load(..., allow_pickle=True)`` would run any pickle in the file. The official metadata is a
plain dict of strings, tuples, numbers and numpy arrays written by Python 2, so we unpickle that one
entry with an allow-list of constructors (numpy's array reconstruction and builtin containers) and
``encoding='latin1'`` (Python 2 byte strings). Anything else in the pickle is refused.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct, scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        reconstruct, scalar = _numpy_reconstruct()
        table = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy.core.multiarray", "scalar"): scalar,
            ("numpy._core.multiarray", "scalar"): scalar,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): __import__("codecs").encode,
            ("builtins", "set"): set,
            ("builtins", "frozenset"): frozenset,
            ("__builtin__", "set"): set,
            ("collections", "OrderedDict"): dict,
        }
        if (module, name) in table:
            return table[(module, name)]
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


MAX_PICKLE_BYTES = 1 << 20  # the official metadata is ~3 KB; a bigger entry is not the dSprites metadata


def read_pickled_entry(path, key: str):
    """Return the Python object stored (pickled, 0-d object array) under ``key`` in an npz file.

    Raises ``ValueError`` if the entry is not a pickled object array or is larger than
    :data:`MAX_PICKLE_BYTES` (checked before anything is unpickled), and
    ``pickle.UnpicklingError`` for constructors outside the allow-list.
    """
    from benchmark.data.npy import parse_header

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{key}.npy")
        if info.file_size > MAX_PICKLE_BYTES:
            raise ValueError(
                f"{key} declares {info.file_size:,} bytes, more than the {MAX_PICKLE_BYTES:,} "
                "a metadata pickle may take"
            )
        with zf.open(info) as f:
            head = parse_header(f)
            if head.dtype != np.dtype(object):
                raise ValueError(f"{key} is not a pickled object array")
            obj = _SafeUnpickler(io.BytesIO(f.read(MAX_PICKLE_BYTES)), encoding="latin1").load()
    if isinstance(obj, np.ndarray) and obj.shape == ():
        obj = obj.item()
    return obj
