"""MPI3D (Gondal et al. 2019): ``mpi3d_toy``, ``mpi3d_realistic``, ``mpi3d_real`` from the official npz.

Each file ``<data root>/<name>/<name>.npz`` (or ``<data root>/<name>.npz``) holds one array
``images`` ``(N, 64, 64, 3)`` uint8 in row-major grid order over object_color, object_shape,
object_size 2, camera_height 3, background_color 3, horizontal_axis 40, vertical_axis 40.
Two releases exist, told apart by N: the current one (object_color 6, object_shape 6;
N = 1,036,800) and the 2019 challenge release that disentanglement_lib hard-codes for toy and
realistic (4 and 4; N = 460,800). An uncompressed npz (``np.savez``, as published) is memory-mapped
and read per batch; a compressed one is decompressed into memory once. No procedural stand-in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from benchmark.data import npy
from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, register, resolve_source
from benchmark.data.render import common
from benchmark.errors import DatasetError
from benchmark.data.render.common import checksum as sha256_file

NAMES = (
    "object_color",
    "object_shape",
    "object_size",
    "camera_height",
    "background_color",
    "horizontal_axis",
    "vertical_axis",
)
SIZES_CURRENT = (6, 6, 2, 3, 3, 40, 40)
SIZES_2019 = (4, 4, 2, 3, 3, 40, 40)
VARIANTS = ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real")
OFFICIAL_URL = "https://github.com/rr-learning/disentanglement_dataset"
MD5 = {"mpi3d_toy": "55889cb7c7dfc655d6e0277beee88868"}  # others only known by prefix (docs/datasets.md)


def _fix(name: str) -> str:
    return f"download {name}.npz from {OFFICIAL_URL} into <data root>/{name}/"


def grid_for_count(n: int, path: Path, name: str, extra_sizes=()) -> FactorGrid:
    """The factor grid implied by the number of images (current or 2019 release)."""
    for sizes in (SIZES_CURRENT, SIZES_2019) + tuple(extra_sizes):
        if int(np.prod(sizes)) == n:
            return FactorGrid.build(NAMES, sizes)
    raise DatasetError(
        f"{path}: {n} images fit neither MPI3D release (1,036,800 = 6x6x2x3x3x40x40 or "
        f"460,800 = 4x4x2x3x3x40x40) — {_fix(name)}"
    )


def candidates(root: Path, name: str) -> list[Path]:
    return [Path(root) / name / f"{name}.npz", Path(root) / f"{name}.npz"]


def open_images(path: Path, name: str, extra_sizes=()) -> np.ndarray:
    """The ``images`` array (memory-mapped when stored uncompressed), validated for dtype and shape.

    The header is checked first (uint8, (N, 64, 64, 3), N one release's image count, data present),
    so a crafted or truncated file is refused before anything is read or mapped.
    """
    return npy.npz_member(
        path,
        "images",
        dtype=np.uint8,
        shape=(None, 64, 64, 3),
        fix=_fix(name),
        mmap=True,
        check=lambda head: grid_for_count(head.shape[0], path, name, extra_sizes),
    )


def load_file(path: Path, name: str, lazy: bool = True, extra_sizes=(), checksum: bool = True) -> GroundTruthDataset:
    """``lazy``: read batches from the (memory-mapped) file; else copy all images to (N, 3, 64, 64)."""
    path = Path(path)
    arr = open_images(path, name, extra_sizes)
    grid = grid_for_count(arr.shape[0], path, name, extra_sizes)
    prov = Provenance(
        "official",
        file=str(path),
        sha256=sha256_file(path) if checksum else None,
        version="2019 release (4x4)" if grid.sizes[0] == 4 else "current release (6x6)",
    )
    if not lazy or not isinstance(arr, np.memmap):
        images = torch.empty((arr.shape[0], 3, 64, 64), dtype=torch.uint8)
        for s in range(0, arr.shape[0], 20000):
            images[s : s + 20000] = torch.from_numpy(np.array(arr[s : s + 20000])).permute(0, 3, 1, 2)
        return GroundTruthDataset(name, grid, prov, images=images, max_value=255, channels=3)

    def read(indices: np.ndarray) -> torch.Tensor:
        rows = arr[np.asarray(indices, dtype=np.int64)]
        return torch.from_numpy(np.ascontiguousarray(rows.transpose(0, 3, 1, 2)))

    return GroundTruthDataset(name, grid, prov, render=read, max_value=255, channels=3)


def _loader(name: str):
    def load(root: Path | None = None, source: str = "auto", *, lazy: bool = True) -> GroundTruthDataset:
        root = data_root(root)
        resolve_source(name, root, source)  # only official: a missing file or another source is refused here
        return load_file(common.first_existing(candidates(root, name)), name, lazy=lazy)

    return load


for _name, _desc in (
    ("mpi3d_toy", "MPI3D toy (Gondal et al. 2019): simulated robot-arm scenes, colour 64x64"),
    ("mpi3d_realistic", "MPI3D realistic: realistic renders of the robot-arm scenes, colour 64x64"),
    ("mpi3d_real", "MPI3D real: camera images of the robot arm, colour 64x64"),
):
    register(
        DatasetSpec(
            name=_name,
            description=_desc + " (grid 6x6 current or 4x4 2019 release, told apart by size)",
            factor_names=NAMES,
            factor_sizes=SIZES_CURRENT,
            latent=tuple(range(7)),
            channels=3,
            official_files=(f"{_name}/{_name}.npz", f"{_name}.npz"),
            procedural=False,
            load=_loader(_name),
        )
    )
