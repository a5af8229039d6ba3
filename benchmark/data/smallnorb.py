"""SmallNORB (LeCun et al. 2004) from the six official files in the NYU binary matrix format.

Files in ``<data root>/small_norb/`` (the ``.mat`` suffix notwithstanding, they are not MATLAB
files): ``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat``.

Format: little-endian int32 magic (0x1E3D4C55 = 507333717 byte matrix, 0x1E3D4C54 = 507333716
int32 matrix, 0x1E3D4C56 int16, 0x1E3D4C51 float32, 0x1E3D4C53 float64), int32 ndim, then max(3, ndim) int32 dimensions
(unused trailing ones are 1), then the data. ``dat`` is (24300, 2, 96, 96) bytes (a stereo pair;
camera 0 is kept), ``cat`` (24300,) int32 category 0-4, ``info`` (24300, 4) int32 instance,
elevation 0-8, azimuth 0, 2, ..., 34 (halved to 0-17), lighting 0-5.

Factors (as disentanglement_lib): category 5, instance 10, elevation 9, azimuth 18, lighting 6;
**instance is a nuisance factor** (latent = category, elevation, azimuth, lighting): it is drawn
fresh for every observation by :meth:`FactorGrid.complete`. The two halves are concatenated and
reordered into the row-major grid, checking that every grid cell occurs exactly once; images are
resized 96 -> 64 with Lanczos (antialiased), and the decoded grid is cached as
``<data root>/small_norb/smallnorb_64x64.npy`` (with a JSON sidecar, :mod:`benchmark.data.cache`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, register, resolve_source
from benchmark.data.render import common
from benchmark.errors import DatasetError
from benchmark.progress import progress as progress_bar

SUBDIR = "small_norb"
CACHE_NAME = "smallnorb_64x64.npy"
OFFICIAL_URL = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
PREFIXES = ("smallnorb-5x46789x9x18x6x2x96x96-training", "smallnorb-5x01235x9x18x6x2x96x96-testing")
NAMES = ("category", "instance", "elevation", "azimuth", "lighting")
SIZES = (5, 10, 9, 18, 6)
LATENT = (0, 2, 3, 4)
GRID = FactorGrid.build(NAMES, SIZES, latent=LATENT)
# 0x1E3D4C55 byte, 0x1E3D4C54 int32, 0x1E3D4C56 int16, 0x1E3D4C51 float32, 0x1E3D4C53 float64
MAGIC = {507333717: np.uint8, 507333716: np.int32, 507333718: np.int16, 507333713: np.float32, 507333715: np.float64}
MAGIC_OF = {np.dtype(v): k for k, v in MAGIC.items()}
FIX = f"download the six smallnorb-*.mat files from {OFFICIAL_URL} (gunzip them) into <data root>/{SUBDIR}/"


def read_matrix(path: Path) -> np.ndarray:
    """Read one NYU binary matrix file (memory-mapped)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise DatasetError(f"{path}: {size} bytes is too short for the NYU binary matrix header — {FIX}")
            magic, ndim = (int(x) for x in np.frombuffer(head, dtype="<i4"))
            if magic not in MAGIC:
                hint = " (gzip-compressed: gunzip it first)" if head[:2] == b"\x1f\x8b" else ""
                raise DatasetError(
                    f"{path}: magic number {magic} is not an NYU binary matrix "
                    f"(expected one of {sorted(MAGIC)}){hint} — {FIX}"
                )
            if not 0 < ndim <= 16:
                raise DatasetError(f"{path}: header says {ndim} dimensions — the file is corrupt — {FIX}")
            dims_raw = f.read(4 * max(3, ndim))
            if len(dims_raw) < 4 * max(3, ndim):
                raise DatasetError(f"{path}: truncated header — {FIX}")
            dims = tuple(int(x) for x in np.frombuffer(dims_raw, dtype="<i4")[:ndim])
            offset = 8 + 4 * max(3, ndim)
    except DatasetError:
        raise
    except OSError as e:
        raise DatasetError(f"{path}: cannot read it ({e}) — {FIX}") from None
    dtype = np.dtype(MAGIC[magic]).newbyteorder("<")
    if any(d < 0 for d in dims):
        raise DatasetError(f"{path}: negative dimension in {dims} — the file is corrupt — {FIX}")
    need = offset + math.prod(dims) * dtype.itemsize  # Python ints: np.prod wraps around at 2**63
    if size != need:
        raise DatasetError(
            f"{path}: {size} bytes, but the header {dims} {dtype.name} needs {need}; "
            f"the file is truncated or corrupt — {FIX}"
        )
    if math.prod(dims) == 0:
        return np.zeros(dims, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=dims)


def write_matrix(path: Path, array: np.ndarray) -> Path:
    """Write an array in the NYU binary matrix format (for tests and tools)."""
    from benchmark.io import atomic_write_bytes

    a = np.asarray(array)
    magic = MAGIC_OF[a.dtype]
    dims = list(a.shape) + [1] * max(0, 3 - a.ndim)
    head = np.array([magic, a.ndim] + dims, dtype="<i4").tobytes()
    return atomic_write_bytes(path, head + a.astype(a.dtype.newbyteorder("<")).tobytes())


def files(root: Path) -> list[tuple[Path, Path, Path]]:
    d = Path(root) / SUBDIR
    return [tuple(d / f"{p}-{k}.mat" for k in ("dat", "cat", "info")) for p in PREFIXES]


def read_part(dat: Path, cat: Path, info: Path):
    """One half: ``(images (n, 96, 96) camera 0, factor rows (n, 5))`` after validation."""
    d, c, i = read_matrix(dat), read_matrix(cat), read_matrix(info)
    if d.dtype != np.uint8 or d.ndim != 4 or d.shape[1] != 2 or d.shape[2] != d.shape[3]:
        raise DatasetError(f"{dat}: {d.shape} {d.dtype}, expected (n, 2, 96, 96) bytes — {FIX}")
    n = d.shape[0]
    if c.dtype != np.int32 or c.shape != (n,):
        raise DatasetError(f"{cat}: {c.shape} {c.dtype}, expected ({n},) int32 categories — {FIX}")
    if i.dtype != np.int32 or i.shape != (n, 4):
        raise DatasetError(
            f"{info}: {i.shape} {i.dtype}, expected ({n}, 4) int32 (instance, elevation, azimuth, lighting) — {FIX}"
        )
    info_arr = np.asarray(i, dtype=np.int64)
    if np.any(info_arr[:, 2] % 2):
        raise DatasetError(f"{info}: odd azimuth values; expected 0, 2, ..., 34 — {FIX}")
    rows = np.stack([np.asarray(c, np.int64), info_arr[:, 0], info_arr[:, 1], info_arr[:, 2] // 2, info_arr[:, 3]], 1)
    return d, rows


def assemble(parts, grid: FactorGrid = GRID, progress: bool = True, where: str = "the files") -> np.ndarray:
    """Images of all parts in row-major grid order, camera 0 resized to 64x64: ``(N, 1, 64, 64)``.

    Checks that the factor rows cover every grid cell exactly once (``where`` names the files in errors).
    """
    rows = np.concatenate([r for _, r in parts])
    sizes = np.asarray(grid.sizes)
    bad = (rows < 0) | (rows >= sizes)
    if bad.any():
        j = int(np.argwhere(bad.any(1))[0, 0])
        raise DatasetError(
            f"{where}: factor row {rows[j].tolist()} lies outside the grid {list(grid.sizes)} "
            f"(category, instance, elevation, azimuth/2, lighting) — {FIX}"
        )
    index = rows @ grid.bases
    counts = np.bincount(index, minlength=grid.num_images)
    if len(index) != grid.num_images or counts.max() != 1:
        missing = int((counts == 0).sum())
        raise DatasetError(
            f"{where} hold {len(index)} images covering {grid.num_images - missing} of "
            f"{grid.num_images} grid cells (duplicates or gaps); expected each cell once — {FIX}"
        )
    out = np.empty((grid.num_images, 1, 64, 64), dtype=np.uint8)
    k = 0
    with progress_bar(len(index), "resize smallNORB", "img", enabled=progress) as bar:
        for d, r in parts:
            for j in range(d.shape[0]):
                out[index[k], 0] = common.resize_grey(np.asarray(d[j, 0]), 64)
                k += 1
            bar.update(d.shape[0])
    return out


def load(
    root: Path | None = None, source: str = "auto", *, grid: FactorGrid = GRID, progress: bool = True
) -> GroundTruthDataset:
    """The six official files (the only source), decoded once and cached."""
    root = data_root(root)
    resolve_source("smallnorb", root, source)
    triples = files(root)
    flat = [p for t in triples for p in t]
    missing = [p.name for p in flat if not p.exists()]
    if missing:
        raise DatasetError(f"missing {len(missing)} smallNORB file(s) in {root / SUBDIR}: {', '.join(missing)} — {FIX}")
    key = common.listing_key(flat, root)
    cache = root / SUBDIR / CACHE_NAME
    images = common.load_cache(cache, key, (grid.num_images, 1, 64, 64))
    if images is None:
        images = assemble(
            [read_part(*t) for t in triples], grid, progress, where=f"the smallNORB files in {root / SUBDIR}"
        )
        cache = common.save_cache(cache, key, images)
    prov = Provenance("official", file=str(root / SUBDIR), version=f"listing-sha256:{key}")
    return GroundTruthDataset(
        "smallnorb", grid, prov, images=torch.from_numpy(np.ascontiguousarray(images)), max_value=255, channels=1
    )


register(
    DatasetSpec(
        name="smallnorb",
        description="smallNORB (LeCun et al. 2004): toys under varied pose and light; grey 64x64",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=LATENT,
        channels=1,
        official_files=tuple(f"{SUBDIR}/{p}-dat.mat" for p in PREFIXES),
        procedural=False,
        load=load,
    )
)
