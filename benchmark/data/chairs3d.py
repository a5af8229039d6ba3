"""3D chairs (Aubry et al. 2014, "Seeing 3D chairs") from the rendered tree, and a procedural stand-in.

Registered names
----------------
``chairs3d``
    The ``rendered_chairs/`` tree from ``rendered_chairs.tar``:
    ``rendered_chairs/<chair>/renders/image_XXX_pEEE_tAAA_r096.png`` with elevation ``p`` in {20, 30}
    degrees and 31 azimuths ``t`` per chair (1,393 chairs, 86,366 images). Factors: chair (index of the
    folder name in sorted order), azimuth (the 31 sorted ``t`` values), elevation. Each PNG is
    converted to grey, centre-cropped to 2/3 of its side (400 of 600 pixels) and Lanczos-resized to
    64x64. Decoding takes minutes, so the decoded grid is cached atomically as
    ``<data root>/rendered_chairs_64x64.npy`` with a JSON sidecar (:mod:`benchmark.data.cache`;
    rebuilt when the file listing changes).
``chairs3d-procedural``
    :mod:`benchmark.data.render.chairs`: 144 parametric chairs whose style parameters are labelled
    factors, 31 azimuths x 2 elevations, rendered on the fly.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, register, resolve_source
from benchmark.data.render import chairs as render
from benchmark.data.render import common
from benchmark.errors import DatasetError
from benchmark.progress import progress as progress_bar

DIR_NAME = "rendered_chairs"
CACHE_NAME = "rendered_chairs_64x64.npy"
OFFICIAL_URL = "https://www.di.ens.fr/willow/research/seeing3Dchairs/ (rendered_chairs.tar)"
NUM_CHAIRS = 1393
NAMES = ("chair", "azimuth", "elevation")
SIZES = (NUM_CHAIRS, 31, 2)
CROP = 400 / 600
PATTERN = re.compile(r"^image_(\d+)_p(\d+)_t(\d+)_r(\d+)\.png$")
FIX = f"download {OFFICIAL_URL} and unpack it into <data root>/ (giving <data root>/{DIR_NAME}/<chair>/renders/*.png)"
LAYOUT = (
    f"{DIR_NAME}/<chair>/renders/image_XXX_pEEE_tAAA_r096.png, 62 renders per chair (31 azimuths x elevations 20, 30)"
)
PROCEDURAL_GRID = FactorGrid.build(render.NAMES, render.SIZES, render.VALUES)


def scan(tree: Path, num_chairs: int | None = NUM_CHAIRS):
    """Parse and check the tree. Returns ``(files (C, 31, 2) array of Paths, chair names, azimuths, elevations)``."""
    tree = Path(tree)
    if not tree.is_dir():
        raise DatasetError(f"{tree}: not a folder; expected {LAYOUT} — {FIX}")
    chairs = sorted(p.name for p in tree.iterdir() if p.is_dir())
    if not chairs:
        raise DatasetError(f"{tree}: no chair folders; expected {LAYOUT} — {FIX}")
    if num_chairs is not None and len(chairs) != num_chairs:
        raise DatasetError(
            f"{tree}: {len(chairs)} chair folders, expected {num_chairs}; the archive is incomplete — {FIX}"
        )
    table, az_ref, el_ref = [], None, None
    for chair in chairs:
        renders = tree / chair / "renders"
        if not renders.is_dir():
            raise DatasetError(f"{renders}: missing; expected {LAYOUT} — {FIX}")
        views = {}
        for f in renders.iterdir():
            m = PATTERN.match(f.name)
            if m is None:
                if f.suffix.lower() == ".png":
                    raise DatasetError(f"{f}: unexpected file name; expected {LAYOUT} — {FIX}")
                continue
            key = (int(m.group(3)), int(m.group(2)))  # (azimuth t, elevation p)
            if key in views:
                raise DatasetError(f"{f}: second render of azimuth {key[0]}, elevation {key[1]} in {renders} — {FIX}")
            views[key] = f
        az = sorted({k[0] for k in views})
        el = sorted({k[1] for k in views})
        if len(az) != 31 or el != [20, 30] or len(views) != 62:
            raise DatasetError(
                f"{renders}: {len(views)} renders with {len(az)} azimuths and elevations {el}; "
                f"expected 62 = 31 azimuths x elevations [20, 30] — {FIX}"
            )
        if az_ref is None:
            az_ref, el_ref = az, el
        elif az != az_ref:
            raise DatasetError(f"{renders}: azimuths {az} differ from those of {chairs[0]} ({az_ref}) — {FIX}")
        table.append([[views[(a, e)] for e in el] for a in az])
    files = np.empty((len(chairs), 31, 2), dtype=object)
    files[...] = [[[p for p in row] for row in chair] for chair in table]
    return files, chairs, np.array(az_ref, dtype=np.float64), np.array(el_ref, dtype=np.float64)


def decode(path: Path) -> np.ndarray:
    """One render: grey, centre crop 2/3, Lanczos resize to 64x64 (uint8)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            grey = im.convert("L")
    except Exception as e:
        raise DatasetError(
            f"{path}: cannot decode the PNG ({type(e).__name__}: {e}); the file is truncated or corrupt — {FIX}"
        ) from None
    return np.asarray(common._crop_resize(grey, 64, CROP), dtype=np.uint8)


def load_official(
    root: Path, num_chairs: int | None = NUM_CHAIRS, name: str = "chairs3d", progress: bool = True
) -> GroundTruthDataset:
    """Scan, decode (or read the cache) and build the dataset; ``num_chairs=None`` accepts any count."""
    root = Path(root)
    tree = root / DIR_NAME
    files, chairs, az, el = scan(tree, num_chairs)
    flat = list(files.reshape(-1))
    key = common.listing_key(flat, root)
    cache = root / CACHE_NAME
    n = len(flat)
    images = common.load_cache(cache, key, (n, 1, 64, 64))
    if images is None:
        images = np.empty((n, 1, 64, 64), dtype=np.uint8)
        with progress_bar(len(flat), "decode chairs", "img", enabled=progress) as bar:
            for i, f in enumerate(flat):
                images[i, 0] = decode(f)
                bar.update(1)
        cache = common.save_cache(cache, key, images)
    grid = FactorGrid.build(NAMES, (len(chairs), 31, 2), (np.arange(len(chairs), dtype=np.float64), az, el))
    # a tree has no single checksum: record the digest of its file listing (names and sizes)
    prov = Provenance("official", file=str(tree), version=f"listing-sha256:{key}")
    ds = GroundTruthDataset(
        name, grid, prov, images=torch.from_numpy(np.ascontiguousarray(images)), max_value=255, channels=1
    )
    ds.chair_names = chairs
    return ds


def load(root: Path | None = None, source: str = "auto") -> GroundTruthDataset:
    """The registered ``chairs3d`` (its only source is ``official``; the stand-in is ``chairs3d-procedural``)."""
    root = data_root(root)
    resolve_source("chairs3d", root, source)
    return load_official(root)


def load_procedural(root: Path | None = None, cache: bool = False) -> GroundTruthDataset:
    return common.procedural_dataset(
        "chairs3d-procedural",
        PROCEDURAL_GRID,
        render.render_classes,
        render.GENERATOR,
        render.VERSION,
        1,
        root,
        cache=cache,
    )


def load_stand_in(root: Path | None = None, source: str = "auto", *, cache: bool = False) -> GroundTruthDataset:
    """The registered ``chairs3d-procedural`` (its only source is ``procedural``)."""
    resolve_source("chairs3d-procedural", root, source)
    return load_procedural(root, cache)


register(
    DatasetSpec(
        name="chairs3d",
        description="3D chairs (Aubry et al. 2014) renders: grey 64x64",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=(0, 1, 2),
        channels=1,
        official_files=(DIR_NAME,),
        procedural=False,
        load=load,
    )
)
register(
    DatasetSpec(
        name="chairs3d-procedural",
        description="procedural chairs with labelled style factors, 31 azimuths x 2 elevations, rendered on the fly",
        factor_names=render.NAMES,
        factor_sizes=render.SIZES,
        latent=PROCEDURAL_GRID.latent,
        channels=1,
        official_files=(),
        procedural=True,
        load=load_stand_in,
    )
)
