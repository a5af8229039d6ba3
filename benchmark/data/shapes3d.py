"""Shapes3D (3dshapes, Kim & Mnih 2018) from the official HDF5 file, and its procedural stand-in.

Registered names
----------------
``shapes3d``
    ``3dshapes.h5`` from deepmind/3d-shapes: HDF5 datasets ``images`` (480000, 64, 64, 3) uint8 and
    ``labels`` (480000, 6) float64; factors floor_hue 10, wall_hue 10, object_hue 10, scale 8,
    shape 4, orientation 15, row-major with orientation fastest (bases 48000, 4800, 480, 60, 15, 1).
    ``load_dataset("shapes3d", lazy=True)`` reads batches from the file on demand (sorted unique
    index reads); the default loads all images once as uint8 ``(N, 3, 64, 64)`` (5.9 GB; never
    float32). Without the file, ``source="auto"`` falls back to the procedural grid with a notice
    (``source="procedural"`` forces it).
``shapes3d-procedural``
    :mod:`benchmark.data.render.scenes`: the same grid and factor values rendered on the fly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, register, resolve_source
from benchmark.data.render import common
from benchmark.data.render import scenes as render
from benchmark.errors import DatasetError
from benchmark.data.render.common import checksum as sha256_file

FILE_NAME = "3dshapes.h5"
SUBDIR = "3dshapes"
OFFICIAL_URL = "https://github.com/deepmind/3d-shapes (Google Cloud bucket 3d-shapes)"
SHA256 = "0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785"
NAMES = render.NAMES
SIZES = render.SIZES
GRID = FactorGrid.build(NAMES, SIZES, render.VALUES)
FIX = f"download {FILE_NAME} from {OFFICIAL_URL} into <data root>/{SUBDIR}/"
LAYOUT = "HDF5 datasets images (480000, 64, 64, 3) uint8 and labels (480000, 6) float64"


def official_candidates(root: Path) -> list[Path]:
    return [Path(root) / SUBDIR / FILE_NAME, Path(root) / FILE_NAME]


def classes_from_labels(path: Path, labels: np.ndarray, grid: FactorGrid) -> tuple[np.ndarray, list[np.ndarray]]:
    """Factor classes by ranking each label column's distinct values (as TFDS does); checks the sizes."""
    classes = np.empty(labels.shape, dtype=np.int64)
    values = []
    for i, (name, size) in enumerate(zip(grid.names, grid.sizes)):
        col = labels[:, i]
        uniq = np.unique(col)
        if len(uniq) != size:
            raise DatasetError(
                f"{path}: labels column {i} ({name}) has {len(uniq)} distinct values, expected {size} — "
                f"the file is not 3dshapes ({LAYOUT}); {FIX}"
            )
        classes[:, i] = np.searchsorted(uniq, col)
        values.append(uniq)
    return classes, values


def validate_file(path: Path, grid: FactorGrid = GRID):
    """Open and check the file. Returns ``(h5py.File, grid with the file's factor values)``."""
    import h5py

    n = grid.num_images
    try:
        f = h5py.File(path, "r")
    except Exception as e:
        raise DatasetError(
            f"{path}: cannot open it as HDF5 ({type(e).__name__}: {e}); the file is truncated or corrupt — {FIX}"
        ) from None
    try:
        for key in ("images", "labels"):
            if not isinstance(f.get(key), h5py.Dataset):  # absent, or a group of that name
                raise DatasetError(
                    f"{path}: no HDF5 dataset {key!r} (found {sorted(f.keys())[:10]}); expected {LAYOUT} — {FIX}"
                )
        im, lb = f["images"], f["labels"]
        if im.shape != (n, 64, 64, 3) or im.dtype != np.uint8:
            raise DatasetError(f"{path}: images is {im.shape} {im.dtype}, expected ({n}, 64, 64, 3) uint8 — {FIX}")
        if lb.shape != (n, 6) or lb.dtype.kind != "f":
            raise DatasetError(f"{path}: labels is {lb.shape} {lb.dtype}, expected ({n}, 6) float64 — {FIX}")
        try:
            labels = lb[()]
            im[n - 1]  # the last image must be readable (catches truncated files)
        except Exception as e:
            raise DatasetError(
                f"{path}: cannot read the data ({type(e).__name__}: {e}); the file is truncated — {FIX}"
            ) from None
        classes, values = classes_from_labels(path, labels, grid)
        if not np.array_equal(classes @ grid.bases, np.arange(n)):
            raise DatasetError(
                f"{path}: labels are not the complete factor grid in row-major order "
                f"(floor_hue slowest ... orientation fastest) — {FIX}"
            )
    except BaseException:
        f.close()
        raise
    return f, FactorGrid.build(grid.names, grid.sizes, values, grid.latent)


def read_images(f, grid: FactorGrid, chunk: int = 8000) -> torch.Tensor:
    """All images as uint8 ``(N, 3, 64, 64)``, converted chunk by chunk (peak = one copy + a chunk)."""
    n = grid.num_images
    out = torch.empty((n, 3, 64, 64), dtype=torch.uint8)
    ds = f["images"]
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        out[start:stop] = torch.from_numpy(ds[start:stop]).permute(0, 3, 1, 2)
    return out


def load_official(
    path: Path, lazy: bool = False, grid: FactorGrid = GRID, name: str = "shapes3d", checksum: bool = True
) -> GroundTruthDataset:
    """The official file as a dataset (``lazy``: read each batch from the file on demand)."""
    path = Path(path)
    f, grid = validate_file(path, grid)
    prov = Provenance("official", file=str(path), sha256=sha256_file(path) if checksum else None)
    if not lazy:
        try:
            images = read_images(f, grid)
        finally:
            f.close()
        return GroundTruthDataset(name, grid, prov, images=images, max_value=255, channels=3)
    ds = f["images"]

    def read(indices: np.ndarray) -> torch.Tensor:
        rows = common.sorted_unique_read(lambda u: common.read_runs(ds, u), np.asarray(indices, dtype=np.int64))
        return torch.from_numpy(np.ascontiguousarray(rows.transpose(0, 3, 1, 2)))

    dataset = GroundTruthDataset(name, grid, prov, render=read, max_value=255, channels=3)
    dataset._h5file = f  # keep the file open as long as the dataset lives
    return dataset


def load_procedural(root: Path | None = None, cache: bool = False) -> GroundTruthDataset:
    return common.procedural_dataset(
        "shapes3d-procedural", GRID, render.render_classes, render.GENERATOR, render.VERSION, 3, root, cache=cache
    )


def load(root: Path | None = None, source: str = "auto", *, lazy: bool = False) -> GroundTruthDataset:
    """``source``: ``official`` (error without the file), ``procedural``, or ``auto`` (see
    :func:`benchmark.data.registry.resolve_source`)."""
    root = data_root(root)
    if resolve_source("shapes3d", root, source, notice=True) == "procedural":
        ds = load_procedural(root)
        ds.name = "shapes3d"
        return ds
    return load_official(common.first_existing(official_candidates(root)), lazy=lazy)


def load_stand_in(root: Path | None = None, source: str = "auto", *, cache: bool = False) -> GroundTruthDataset:
    """The registered ``shapes3d-procedural`` (its only source is ``procedural``)."""
    resolve_source("shapes3d-procedural", root, source)
    return load_procedural(root, cache)


register(
    DatasetSpec(
        name="shapes3d",
        description="3dshapes (Kim & Mnih 2018): floor, wall, object; colour 64x64",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=GRID.latent,
        channels=3,
        official_files=(f"{SUBDIR}/{FILE_NAME}", FILE_NAME),
        procedural=True,
        load=load,
    )
)
register(
    DatasetSpec(
        name="shapes3d-procedural",
        description="procedural Shapes3D scenes (same factors and values), rendered on the fly",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=GRID.latent,
        channels=3,
        official_files=(),
        procedural=True,
        load=load_stand_in,
    )
)
