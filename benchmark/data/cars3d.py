"""Cars3D (Reed et al. 2015) from the 183 ``.mat`` files of ``nips2015-analogy-data.tar.gz``.

Folder ``<data root>/cars/`` with the 183 car files (every name containing ``.mat`` is used,
sorted by name for a deterministic object order; disentanglement_lib uses the unsorted directory
listing). Each file is a MATLAB file with a variable ``im``: uint8 ``(128, 128, 3, 24, 4)`` =
(height, width, RGB, azimuth, elevation). Each image is Lanczos-resized to 64x64.

Factors (all latent, disentanglement_lib order): elevation 4, azimuth 24, object 183 (17,568
images; index = elevation * 4392 + azimuth * 183 + object). The decoded grid is cached as
``<data root>/cars/cars3d_64x64.npy`` (with a JSON sidecar). No procedural stand-in.
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
from benchmark.errors import DatasetError
from benchmark.progress import progress as progress_bar

SUBDIR = "cars"
CACHE_NAME = "cars3d_64x64.npy"
OFFICIAL_URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz"
NUM_OBJECTS = 183
NAMES = ("elevation", "azimuth", "object_type")
SIZES = (4, 24, NUM_OBJECTS)
FIX = f"download {OFFICIAL_URL} and put its 183 car .mat files into <data root>/{SUBDIR}/"


def mat_files(folder: Path) -> list[Path]:
    return sorted((p for p in Path(folder).iterdir() if ".mat" in p.name and p.is_file()), key=lambda p: p.name)


def read_mat(path: Path) -> np.ndarray:
    """The ``im`` array of one car: uint8 ``(128, 128, 3, 24, 4)``."""
    import scipy.io

    try:
        m = scipy.io.loadmat(str(path), variable_names=["im"])
    except Exception as e:
        raise DatasetError(
            f"{path}: cannot read it as a MATLAB file ({type(e).__name__}: {e}); truncated or corrupt — {FIX}"
        ) from None
    if "im" not in m:
        raise DatasetError(f"{path}: no variable 'im'; expected im (128, 128, 3, 24, 4) uint8 — {FIX}")
    im = m["im"]
    if im.ndim != 5 or im.shape[2:] != (3, 24, 4) or im.shape[0] != im.shape[1] or im.dtype != np.uint8:
        raise DatasetError(f"{path}: im is {im.shape} {im.dtype}, expected (128, 128, 3, 24, 4) uint8 — {FIX}")
    return im


def decode(folder: Path, num_objects: int | None = NUM_OBJECTS, progress: bool = True):
    """All cars as uint8 ``(N, 3, 64, 64)`` in grid order, plus the file list."""
    folder = Path(folder)
    paths = mat_files(folder)
    if not paths:
        raise DatasetError(f"{folder}: no .mat files — {FIX}")
    if num_objects is not None and len(paths) != num_objects:
        raise DatasetError(f"{folder}: {len(paths)} .mat files, expected {num_objects} — {FIX}")
    k = len(paths)
    out = np.empty((4, 24, k, 3, 64, 64), dtype=np.uint8)
    bar = progress_bar(len(paths), "decode cars3d", "car", enabled=progress)
    for obj, p in enumerate(paths):
        bar.update(1)
        im = read_mat(p)
        for az in range(24):
            for el in range(4):
                out[el, az, obj] = common.resize_rgb(np.ascontiguousarray(im[:, :, :, az, el]), 64).transpose(2, 0, 1)
    bar.close()
    return out.reshape(4 * 24 * k, 3, 64, 64), paths


def load(
    root: Path | None = None, source: str = "auto", *, num_objects: int | None = NUM_OBJECTS, progress: bool = True
) -> GroundTruthDataset:
    """The car files (the only source); ``num_objects=None`` accepts any number of them (smaller test sets)."""
    root = data_root(root)
    resolve_source("cars3d", root, source)
    folder = root / SUBDIR
    if not folder.is_dir():
        raise DatasetError(f"no {SUBDIR}/ folder under {root} — {FIX}")
    paths = mat_files(folder)
    key = common.listing_key(paths, root) if paths else ""
    k = len(paths)
    cache = folder / CACHE_NAME
    images = common.load_cache(cache, key, (4 * 24 * k, 3, 64, 64)) if paths else None
    if images is None:
        images, paths = decode(folder, num_objects, progress)
        common.save_cache(cache, key, images)
    elif num_objects is not None and k != num_objects:
        raise DatasetError(f"{folder}: {k} .mat files, expected {num_objects} — {FIX}")
    grid = FactorGrid.build(NAMES, (4, 24, k))
    prov = Provenance("official", file=str(folder), version=f"listing-sha256:{key}")
    return GroundTruthDataset(
        "cars3d", grid, prov, images=torch.from_numpy(np.ascontiguousarray(images)), max_value=255, channels=3
    )


register(
    DatasetSpec(
        name="cars3d",
        description="Cars3D (Reed et al. 2015): 183 car models, 24 azimuths x 4 elevations; colour 64x64",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=(0, 1, 2),
        channels=3,
        official_files=(SUBDIR,),
        procedural=False,
        load=load,
    )
)
