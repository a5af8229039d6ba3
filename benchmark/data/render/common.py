"""Helpers shared by the 3D dataset modules: procedural datasets, decoded-grid caches, resizing.

(They live in ``benchmark.data.render`` with the renderers so that the dataset modules stay flat.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from benchmark.data import cache as array_cache
from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.progress import progress as progress_bar


def first_existing(candidates) -> Path | None:
    for p in candidates:
        if Path(p).exists():
            return Path(p)
    return None


# ------------------------------------------------------------------------------------------------
# Procedural datasets: rendered on demand, optionally cached in the data root (benchmark.data.cache)
# ------------------------------------------------------------------------------------------------
def procedural_dataset(
    name: str,
    grid: FactorGrid,
    render_classes: Callable[[np.ndarray], torch.Tensor],
    generator: str,
    version: str,
    channels: int,
    root: Path | None,
    cache: bool = False,
    progress: bool = True,
) -> GroundTruthDataset:
    """A :class:`GroundTruthDataset` whose batches are rendered from factor classes on demand.

    With ``cache=True`` the whole grid is rendered once and saved to
    ``<root>/procedural/<name>_v<version>.npy`` (``(N, C, 64, 64)`` uint8, with its JSON sidecar,
    written atomically); an existing cache of the same generator, version and shape is always used.
    """
    path = None if root is None else Path(root) / "procedural" / f"{name}_v{version}.npy"
    images = None
    if path is not None:
        cached = array_cache.read(
            path,
            {"generator": generator, "version": version},
            (grid.num_images, channels, 64, 64),
            again="rendered again",
        )
        images = None if cached is None else torch.from_numpy(np.array(cached))  # in memory, as rendered
    if images is None and cache and path is not None:
        images = render_all(grid, render_classes, channels, desc=f"render {name}", progress=progress)
        path = array_cache.write(path, images.numpy(), {"generator": generator, "version": version})
    prov = Provenance(
        "procedural",
        file=str(path) if images is not None and path is not None else None,
        generator=generator,
        version=version,
    )
    if images is not None:
        return GroundTruthDataset(name, grid, prov, images=images, max_value=255, channels=channels)

    def render(indices: np.ndarray) -> torch.Tensor:
        return render_classes(grid.classes(indices))

    return GroundTruthDataset(name, grid, prov, render=render, max_value=255, channels=channels)


def render_all(
    grid: FactorGrid, render_classes, channels: int, chunk: int = 2048, desc: str = "render", progress: bool = True
) -> torch.Tensor:
    """The whole grid, uint8 ``(N, C, 64, 64)``, rendered in chunks with a progress bar."""
    out = torch.empty((grid.num_images, channels, 64, 64), dtype=torch.uint8)
    with progress_bar(grid.num_images, desc, "img", enabled=progress) as bar:
        for start in range(0, grid.num_images, chunk):
            idx = np.arange(start, min(start + chunk, grid.num_images))
            out[start : start + len(idx)] = render_classes(grid.classes(idx))
            bar.update(len(idx))
    return out


# ------------------------------------------------------------------------------------------------
# Decoded-grid caches for datasets stored as many small files (chairs, cars, smallNORB)
# ------------------------------------------------------------------------------------------------
def listing_key(files: list[Path], root: Path) -> str:
    """A digest of file names and sizes: the cache is rebuilt when the source files change."""
    h = hashlib.sha256()
    for f in files:
        h.update(f"{Path(f).relative_to(root)}\0{Path(f).stat().st_size}\n".encode())
    return h.hexdigest()


def load_cache(path: Path, key: str, shape: tuple) -> np.ndarray | None:
    """Images from a decoded-grid cache (:mod:`benchmark.data.cache`) if it matches ``key`` and
    ``shape``, read into memory; else None, and a truncated, stale or crafted cache is decoded again."""
    cached = array_cache.read(path, {"key": key}, shape, again="decoded again")
    return None if cached is None else np.array(cached)


def save_cache(path: Path, key: str, images: np.ndarray) -> Path | None:
    return array_cache.write(path, images, {"key": key})


# ------------------------------------------------------------------------------------------------
# Image resizing (Pillow, antialiased)
# ------------------------------------------------------------------------------------------------
def resize_grey(img: np.ndarray, size: int = 64, crop: float = 1.0) -> np.ndarray:
    """Centre-crop a fraction ``crop`` of the shorter side, then Lanczos-resize to ``size`` (uint8)."""
    from PIL import Image

    im = Image.fromarray(img)
    return np.asarray(_crop_resize(im, size, crop), dtype=np.uint8)


def _crop_resize(im, size: int, crop: float):
    from PIL import Image

    w, h = im.size
    if crop < 1.0:
        side = int(round(min(w, h) * crop))
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))
    return im.resize((size, size), Image.LANCZOS)


def resize_rgb(img: np.ndarray, size: int = 64) -> np.ndarray:
    """Lanczos-resize an ``(H, W, 3)`` uint8 image to ``(size, size, 3)``."""
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((size, size), Image.LANCZOS), dtype=np.uint8)


def read_runs(array, rows: np.ndarray) -> np.ndarray:
    """Rows of an h5py dataset (or any sliceable array) at sorted unique ``rows``, one slice read per
    run of consecutive rows: h5py's fancy indexing is far slower than plain slices for this
    (docs/performance.md)."""
    out = np.empty((len(rows),) + tuple(array.shape[1:]), dtype=array.dtype)
    if len(rows) == 0:
        return out
    breaks = np.nonzero(np.diff(rows) != 1)[0] + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(rows)]])
    for a, b in zip(starts.tolist(), stops.tolist()):
        out[a:b] = array[int(rows[a]) : int(rows[b - 1]) + 1]
    return out


def sorted_unique_read(read_rows: Callable[[np.ndarray], np.ndarray], indices: np.ndarray) -> np.ndarray:
    """Read rows at arbitrary ``indices`` through a reader that needs sorted unique indices (h5py)."""
    uniq, inverse = np.unique(indices, return_inverse=True)
    return read_rows(uniq)[inverse]


def checksum(path: Path) -> str:
    """SHA-256 of a data file, remembered in a ``<file>.sha256`` sidecar keyed by size and mtime.

    Large official files (MPI3D is 12 GB) would otherwise be hashed on every load; the sidecar is
    written best-effort (read-only data folders just hash every time).
    """
    import json

    from benchmark.io import atomic_write_json, sha256_file

    path = Path(path)
    st = path.stat()
    side = path.with_name(path.name + ".sha256")
    try:
        rec = json.loads(side.read_text())
        if rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns:
            return str(rec["sha256"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    digest = sha256_file(path)
    try:
        atomic_write_json(side, {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    except OSError:
        pass
    return digest
