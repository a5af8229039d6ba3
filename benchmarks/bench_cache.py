"""Procedural dSprites cache: the former npz (official layout) against the plain .npy + JSON sidecar.

    python benchmarks/bench_cache.py [--repeats 5]

Two sub-grids of the procedural dSprites renderer (dsprites_mini, 23,040 images, and 92,160 images)
are written in both formats to a temp dir, then each is opened and read back ``--repeats`` times
(median reported; the files are in the page cache, so these are warm reads):

* open: from the path to memory-mapped images, with every check the loader makes before reading
  pixels. npz: zip directory, the metadata pickle (allow-list unpickler), the image member's header
  and local zip header, and the two latents members, as the former cache reader did. npy: the JSON
  sidecar, the file size, the .npy header and the map.
* full read: open plus copying all images into memory (what the dSprites loader does with a cache).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np
from common import machine, print_table, write_json

from benchmark.data import FactorGrid, npy
from benchmark.data import cache as array_cache
from benchmark.data import dsprites as ds
from benchmark.data import dsprites_render as render
from benchmark.data.npz_pickle import read_pickled_entry

IDENTITY = {"generator": render.GENERATOR, "version": render.VERSION}
LARGER = (np.array([0]), np.arange(3), np.array([0, 2, 5]), np.arange(40), np.arange(0, 32, 2), np.arange(0, 32, 2))


def sub_grid(classes) -> tuple[FactorGrid, np.ndarray]:
    """A sub-grid of official classes (every factor keeps its official values) and its images."""
    grid = FactorGrid.build(
        render.NAMES, [len(c) for c in classes], [v[c] for v, c in zip(render.VALUES, classes)], latent=(1, 2, 3, 4, 5)
    )
    cl = grid.classes(np.arange(grid.num_images))
    official = np.stack([classes[i][cl[:, i]] for i in range(6)], axis=1)
    return grid, render.render_classes(official).numpy()


def npz_open(path: Path, grid: FactorGrid):
    """The former cache reader up to the mapped images (``read_npz(validate=False)`` without the copy)."""
    n, fix = grid.num_images, "rendered again"
    npy.npz_keys(path, fix)
    read_pickled_entry(path, "metadata")
    imgs = npy.npz_member(path, "imgs", dtype=np.uint8, shape=(n, 64, 64), fix=fix, mmap=True)
    npy.npz_member(path, "latents_classes", dtype="iu", shape=(n, 6), fix=fix)
    npy.npz_member(path, "latents_values", dtype="fiu", shape=(n, 6), fix=fix)
    return imgs


def npy_open(path: Path, grid: FactorGrid):
    return array_cache.read(path, IDENTITY, (grid.num_images, 64, 64))


def median_s(repeats: int, fn, *args) -> float:
    """Median wall time of ``fn(*args)`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def full_read(opener, path: Path, grid: FactorGrid) -> np.ndarray:
    return np.array(opener(path, grid))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="timed repetitions per measure (median reported)")
    args = ap.parse_args()
    info = machine()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, classes in (("dsprites_mini", ds.MINI_CLASSES), ("92,160-image sub-grid", LARGER)):
            grid, imgs = sub_grid(classes)
            old, new = Path(tmp) / f"{grid.num_images}.npz", Path(tmp) / f"{grid.num_images}.npy"
            meta = dict(ds.official_metadata(grid), generator=render.GENERATOR, generator_version=render.VERSION)
            write_npz = median_s(1, ds.write_npz, old, imgs, meta, False, grid)
            write_npy = median_s(1, array_cache.write, new, imgs, IDENTITY)
            assert np.array_equal(full_read(npz_open, old, grid), full_read(npy_open, new, grid))
            for fmt, path, opener, write_s in (("npz", old, npz_open, write_npz), ("npy", new, npy_open, write_npy)):
                rows.append(
                    {
                        "data": label,
                        "images": grid.num_images,
                        "format": fmt,
                        "MB": path.stat().st_size / 1e6,
                        "write_s": write_s,
                        "open_ms": 1e3 * median_s(args.repeats, opener, path, grid),
                        "full_read_ms": 1e3 * median_s(args.repeats, full_read, opener, path, grid),
                    }
                )
    print_table(rows, ["data", "images", "format", "MB", "write_s", "open_ms", "full_read_ms"])
    write_json("bench_cache", {"machine": info, "repeats": args.repeats, "rows": rows})


if __name__ == "__main__":
    main()
