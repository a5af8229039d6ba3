"""dSprites (Matthey et al. 2017) from the official files, or rendered procedurally, and its variants.

Registered names
----------------
``dsprites``
    The official grid: 737,280 binary 64x64 images, factors color 1 (nuisance), shape 3, scale 6,
    orientation 40, posX 32, posY 32 (latent). Read from the official npz or its HDF5 twin when
    present under the data root, else from the procedural renderer's cache (rendered on first use),
    with a printed notice. ``load_dataset("dsprites", source="official"|"procedural")`` forces one.
``dsprites_noshape``
    The same images with shape as a nuisance factor (the reference's ``dsprites_noshape``): four
    latent factors (scale, orientation, posX, posY); shape is drawn afresh for every observation.
``color_dsprites`` / ``noisy_dsprites``
    The reference implementation's variants (3 channels): each image tinted by one RGB colour with
    channels ~ U(0.5, 1), or the background replaced by per-pixel, per-channel U(0, 1) noise (sprite
    pixels stay 1). The noise is drawn per image from the caller's ``numpy.random.Generator``.
``scream_dsprites``
    The reference's third variant (3 channels): the background is a random 64x64 patch of Munch's
    *The Scream* averaged with one random RGB colour, and the sprite pixels show that background
    inverted. Needs the painting as ``<data root>/scream/scream.jpg`` (the reference's path; not
    downloaded by the code); the sprites come from the official file or the procedural grid.
``dsprites_mini``
    A procedural sub-grid for tests and tiny runs: shape 3 x scale 3 x orientation 10 x posX 16 x
    posY 16 = 23,040 images, every class taken from the official grid.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from benchmark.data import cache as array_cache
from benchmark.data import dsprites_render as render
from benchmark.data import npy
from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.npz_pickle import read_pickled_entry
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, register, resolve_source
from benchmark.errors import DatasetError
from benchmark.io import atomic_save_npz, sha256_file
from benchmark.progress import progress as progress_bar

NPZ_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
HDF5_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.hdf5"
SUBDIR = "dsprites"
CACHE_NAME = f"dsprites_procedural_v{render.VERSION}.npy"
OFFICIAL_URL = "https://github.com/deepmind/dsprites-dataset"
NPZ_MD5 = "7da33b31b13a06f4b04a70402ce90c2e"
HDF5_SHA256 = "729fa22e884c9c500e1f17415d580746b4c5894fbbb780a1319bbcfa39a745bb"
NUM_IMAGES = 737_280
FIX = f"download it from {OFFICIAL_URL} into <data root>/{SUBDIR}/, or delete it to use the procedural grid"

GRID = FactorGrid.build(render.NAMES, render.SIZES, render.VALUES, latent=(1, 2, 3, 4, 5))
GRID_NOSHAPE = FactorGrid.build(render.NAMES, render.SIZES, render.VALUES, latent=(2, 3, 4, 5))


# --------------------------------------------------------------------------------------------------
# Reading and writing files in the official layouts
# --------------------------------------------------------------------------------------------------
def official_candidates(root: Path) -> list[Path]:
    """Where an official file is looked for, in order of preference."""
    return [root / SUBDIR / NPZ_NAME, root / NPZ_NAME, root / SUBDIR / HDF5_NAME, root / HDF5_NAME]


def _validate(path: Path, imgs, classes, values, grid: FactorGrid) -> None:
    """Value ranges and grid completeness of arrays whose shapes and dtypes are already checked."""
    n = grid.num_images
    if classes is not None:
        if not np.array_equal(classes.astype(np.int64) @ grid.bases, np.arange(n)):
            raise DatasetError(f"{path}: latents_classes are not the complete grid in row-major order — {FIX}")
        if values is not None:
            expected = np.stack([grid.values[i][classes[:, i]] for i in range(6)], axis=1)
            if not np.allclose(values, expected, atol=1e-6):
                raise DatasetError(f"{path}: latents_values do not match the official factor values — {FIX}")
    if imgs.size and int(imgs.max()) > 1:
        raise DatasetError(f"{path}: imgs must hold 0/1 values, found {int(imgs.max())} — {FIX}")


def _brief(obj) -> str:
    """What an object is, without expanding it (a pickle of shared lists can stand for a huge nest)."""
    if isinstance(obj, np.ndarray):
        return f"a {obj.dtype} array of shape {obj.shape}"
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    if isinstance(obj, (str, bytes)):
        return f"the {type(obj).__name__} {obj[:40]!r}"
    return f"a {type(obj).__name__}"


def _latents_sizes(path: Path, metadata, grid: FactorGrid) -> tuple[int, ...]:
    """The metadata's ``latents_sizes``, checked to be ``len(grid.sizes)`` integers equal to the grid's.

    Types and lengths are checked before any conversion: ``np.asarray`` of a crafted nest of
    shared lists would allocate gigabytes.
    """
    if not isinstance(metadata, dict) or "latents_sizes" not in metadata:
        raise DatasetError(f"{path}: metadata has no latents_sizes — {FIX}")
    sizes, k = metadata["latents_sizes"], len(grid.sizes)
    if isinstance(sizes, np.ndarray):
        ok = sizes.dtype.kind in "iu" and sizes.shape == (k,)
    else:
        ok = (
            isinstance(sizes, (list, tuple))
            and len(sizes) == k
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in sizes)
        )
    if not ok:
        raise DatasetError(
            f"{path}: metadata latents_sizes is {_brief(sizes)}, expected {k} integers {list(grid.sizes)} — {FIX}"
        )
    found = tuple(int(v) for v in sizes)
    if found != grid.sizes:
        raise DatasetError(f"{path}: latents_sizes {list(found)} != {list(grid.sizes)}; not dSprites — {FIX}")
    return found


def read_npz(path: Path, validate: bool = True, grid: FactorGrid | None = None):
    """Read an npz in the official layout. Returns ``(imgs (N, 64, 64) uint8, metadata dict)``.

    The ``metadata`` entry is a Python-2 pickle; it is read with an allow-list unpickler
    (:mod:`benchmark.data.npz_pickle`), and every other key with ``allow_pickle=False``. Every
    array's header (dtype, shape, size) is checked before its data is read (:mod:`benchmark.data.npy`),
    as is ``latents_sizes``; ``validate`` adds the content checks (0/1 pixels, complete grid).
    ``grid`` is the factor grid the file must hold (default: the official one; tests pass smaller grids).
    """
    path, grid = Path(path), grid or GRID
    n = grid.num_images
    if not zipfile.is_zipfile(path):  # e.g. a saved error page: numpy's own message would suggest allow_pickle
        raise DatasetError(
            f"{path}: not an npz (zip) file; the download is truncated or is not the dSprites file — {FIX}"
        )
    missing = {"imgs", "latents_classes", "latents_values", "metadata"} - set(npy.npz_keys(path, FIX))
    if missing:  # the keys first: a missing one is named, not "corrupt"
        raise DatasetError(f"{path}: missing keys {sorted(missing)} — {FIX}")
    try:
        metadata = read_pickled_entry(path, "metadata")
    except pickle.UnpicklingError as e:  # the allow-list refused a constructor, or a mangled pickle
        raise DatasetError(
            f"{path}: its metadata pickle is refused ({npy.first_line(e)}); only the official "
            f"file's plain containers and arrays are read — {FIX}"
        ) from None
    except Exception as e:  # noqa: BLE001 - a crafted pickle fails in many ways (struct, overflow, type errors)
        raise DatasetError(
            f"{path}: cannot read its metadata ({type(e).__name__}: {npy.first_line(e)}); the file is "
            f"truncated or corrupt — {FIX}"
        ) from None
    _latents_sizes(path, metadata, grid)
    # uncompressed (np.savez): mapped, then copied in one read; compressed (the published file): decompressed
    imgs = np.array(npy.npz_member(path, "imgs", dtype=np.uint8, shape=(n, 64, 64), fix=FIX, mmap=True))
    classes = npy.npz_member(path, "latents_classes", dtype="iu", shape=(n, 6), fix=FIX)
    values = npy.npz_member(path, "latents_values", dtype="fiu", shape=(n, 6), fix=FIX)
    if validate:
        _validate(path, imgs, classes, values, grid)
    return imgs, metadata


def read_hdf5(path: Path, validate: bool = True, grid: FactorGrid | None = None):
    """Read the HDF5 twin: datasets ``imgs`` (737280, 64, 64) uint8, ``latents/classes``, ``latents/values``.

    Each dataset's shape and dtype are checked before its data is read.
    """
    import h5py

    path, grid = Path(path), grid or GRID
    n = grid.num_images
    layout = {
        "imgs": ((n, 64, 64), "u", "uint8"),
        "latents/classes": ((n, 6), "iu", "integer"),
        "latents/values": ((n, 6), "fiu", "numeric"),
    }
    try:
        with h5py.File(path, "r") as f:
            arrays = {}
            for key, (shape, kinds, what) in layout.items():
                node = f.get(key)
                if not isinstance(node, h5py.Dataset):
                    raise DatasetError(f"{path}: missing HDF5 dataset {key!r} — {FIX}")
                if node.shape != shape or node.dtype.kind not in kinds or (key == "imgs" and node.dtype != np.uint8):
                    raise DatasetError(
                        f"{path}: HDF5 dataset {key!r} is {node.shape} {node.dtype}, expected {shape} {what} — {FIX}"
                    )
                arrays[key] = node[()]
    except DatasetError:
        raise
    except Exception as e:  # h5py raises OSError/KeyError/RuntimeError on truncated files
        raise DatasetError(
            f"{path}: cannot read it as the dSprites HDF5 file ({type(e).__name__}: "
            f"{npy.first_line(e)}); the file is truncated or corrupt — {FIX}"
        ) from None
    if validate:
        _validate(path, arrays["imgs"], arrays["latents/classes"], arrays["latents/values"], grid)
    return arrays["imgs"], {"latents_sizes": np.asarray(grid.sizes)}


def official_metadata(grid: FactorGrid | None = None) -> dict:
    """The metadata dict of the official file (the fields the loaders read, plus descriptions)."""
    grid = grid or GRID
    return {
        "title": "dSprites dataset",
        "date": "April 2017",
        "version": 1,
        "latents_names": grid.names,
        "latents_sizes": np.asarray(grid.sizes),
        "latents_possible_values": {n: v for n, v in zip(grid.names, grid.values)},
    }


def write_npz(
    path: Path, imgs: np.ndarray, metadata: dict | None = None, compressed: bool = False, grid: FactorGrid | None = None
) -> Path:
    """Write images in the official npz layout (imgs, latents_classes, latents_values, metadata)."""
    grid = grid or GRID
    classes = grid.classes(np.arange(imgs.shape[0]))
    values = np.stack([grid.values[i][classes[:, i]] for i in range(6)], 1)
    meta = np.empty((), dtype=object)
    meta[()] = metadata or official_metadata(grid)
    return atomic_save_npz(
        path, compressed=compressed, imgs=imgs, latents_classes=classes, latents_values=values, metadata=meta
    )


# --------------------------------------------------------------------------------------------------
# Loading: official file or procedural cache
# --------------------------------------------------------------------------------------------------
_LOADED: dict = {}  # (root, source) -> (imgs tensor, provenance); the 3 GB grid is loaded once per process


def load_procedural(root: Path, regenerate: bool = False, progress: bool = True):
    """The procedural grid ``(N, 64, 64)`` uint8 in memory, and its cache path (None if it could not be written).

    Rendered once and cached as ``<root>/dsprites/dsprites_procedural_v<VERSION>.npy`` with a JSON
    sidecar (:mod:`benchmark.data.cache`); the cache is memory-mapped and copied in one read.
    """
    cache = Path(root) / SUBDIR / CACHE_NAME
    identity = {"generator": render.GENERATOR, "version": render.VERSION}
    cached = None if regenerate else array_cache.read(cache, identity, (NUM_IMAGES, 64, 64), again="rendered again")
    if cached is not None:
        return np.array(cached), cache
    with progress_bar(NUM_IMAGES, "render dSprites", "img", enabled=progress) as bar:
        imgs = render.render_grid(progress=bar.update)
    return imgs, array_cache.write(cache, imgs, identity)


def load_images(root: Path, source: str = "auto"):
    """uint8 images ``(N, 1, 64, 64)`` and their :class:`Provenance`.

    ``source``: as for every loader (:func:`benchmark.data.registry.resolve_source`): ``"official"``
    (error if no official file), ``"procedural"``, or ``"auto"`` (official when present, else
    procedural with a notice).
    """
    root = Path(root)
    source = resolve_source("dsprites", root, source, notice=True)
    key = (str(root.resolve()), source)
    if key in _LOADED:
        return _LOADED[key]
    if source == "official":
        path = next(p for p in official_candidates(root) if p.exists())
        imgs, _ = read_hdf5(path) if path.suffix == ".hdf5" else read_npz(path)
        prov = Provenance("official", file=str(path), sha256=sha256_file(path))
    else:
        imgs, cache = load_procedural(root)
        prov = Provenance(
            "procedural", file=str(cache) if cache else None, generator=render.GENERATOR, version=render.VERSION
        )
    images = torch.from_numpy(np.ascontiguousarray(imgs)).unsqueeze(1)
    _LOADED[key] = (images, prov)
    return images, prov


# --------------------------------------------------------------------------------------------------
# Variants: per-image nuisance noise
# --------------------------------------------------------------------------------------------------
def color_transform(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Tint each sprite by one RGB colour, channels ~ U(0.5, 1); the background stays 0."""
    color = torch.from_numpy(rng.uniform(0.5, 1.0, size=(x.shape[0], 3, 1, 1)).astype(np.float32)).to(x.device)
    return x.expand(-1, 3, -1, -1) * color


def noise_transform(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Replace the background by per-pixel, per-channel U(0, 1) noise; sprite pixels become 1."""
    n, _, h, w = x.shape
    noise = torch.from_numpy(rng.uniform(0.0, 1.0, size=(n, 3, h, w)).astype(np.float32)).to(x.device)
    return torch.clamp(x.expand(-1, 3, -1, -1) + noise, max=1.0)


SCREAM_FILE = "scream/scream.jpg"
SCREAM_URL = "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg"
SCREAM_BOX = (350, 274)  # (width, height) the reference's thumbnail must fit into


def load_scream(root: Path) -> tuple[torch.Tensor, Path]:
    """The Scream as float32 ``(3, H, W)`` in [0, 1], shrunk to fit 350 x 274 as the reference does.

    The reference (``ScreamDSprites``) opens ``scream/scream.jpg`` under its data root, applies
    ``PIL.Image.thumbnail`` to the still-undecoded JPEG and divides by 255. It ran on Pillow < 7,
    whose ``thumbnail`` computes the size that fits inside 350 wide x 274 high (aspect kept, each
    side truncated to an int), lets the JPEG decoder shrink by a power of two first (``draft``) and
    then resizes bicubically. Those steps are spelled out here, since today's ``thumbnail`` rounds
    the size and reduces differently, and decoding the file before shrinking (as ``convert``
    does) skips the draft step: either moves pixels by a few grey levels.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(root) / SCREAM_FILE
    if not path.exists():
        raise DatasetError(
            f"scream_dsprites needs the painting at {path}: save {SCREAM_URL} there "
            "(the reference's file, Munch's The Scream from Wikimedia Commons), or run: "
            "python -m benchmark data download scream_dsprites"
        )
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w > SCREAM_BOX[0]:
                w, h = SCREAM_BOX[0], int(max(h * SCREAM_BOX[0] / w, 1))
            if h > SCREAM_BOX[1]:
                w, h = int(max(w * SCREAM_BOX[1] / h, 1)), SCREAM_BOX[1]
            if (w, h) != im.size:
                im.draft(None, (w, h))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale, no smaller than (w, h)
                im = im.resize((w, h), Image.BICUBIC)
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise DatasetError(f"{path} is not a readable image ({e}); save {SCREAM_URL} there again") from None
    if arr.shape[0] <= 64 or arr.shape[1] <= 64:
        raise DatasetError(
            f"{path} shrinks to {arr.shape[1]}x{arr.shape[0]} pixels, too small for 64x64 crops; "
            f"save the full painting ({SCREAM_URL}) there"
        )
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))), path


def scream_transform(scream: torch.Tensor):
    """The nuisance transform of ``scream_dsprites`` for a given painting ``(3, H, W)``.

    Per image: a crop with top-left row ~ U{0, ..., H - 65} and column
    ~ U{0, ..., W - 65} (the reference's ``randint(0, H - 64)``, upper bound exclusive), background =
    (crop + one U(0, 1) value per channel) / 2, and at sprite pixels the background inverted. The
    draws are vectorised over the batch (rows, then columns, then colours), not interleaved per image
    as in the reference's loop: the same distribution, another order.
    """
    on_device: dict = {}
    _, h, w = scream.shape
    offsets = torch.arange(64)

    def transform(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        n = x.shape[0]
        rows = torch.from_numpy(rng.integers(0, h - 64, size=n))
        cols = torch.from_numpy(rng.integers(0, w - 64, size=n))
        tint = torch.from_numpy(rng.uniform(0.0, 1.0, size=(n, 3, 1, 1)).astype(np.float32)).to(x.device)
        key = str(x.device)
        if key not in on_device:
            on_device[key] = scream.to(x.device)
        img = on_device[key]
        r = (rows[:, None] + offsets).to(x.device)  # (n, 64)
        c = (cols[:, None] + offsets).to(x.device)
        crops = img[:, r[:, :, None], c[:, None, :]].permute(1, 0, 2, 3)  # (n, 3, 64, 64)
        background = (crops + tint) * 0.5
        return torch.where(x.expand(-1, 3, -1, -1) == 1, 1.0 - background, background)

    return transform


def load_dsprites(root: Path | None = None, source: str = "auto", variant: str | None = None) -> GroundTruthDataset:
    """dSprites or one of its variants (``noshape``, ``color``, ``noisy``, ``scream``) from ``source``."""
    root = data_root(root)
    name = {None: "dsprites", "noshape": "dsprites_noshape"}.get(variant, f"{variant}_dsprites")
    if variant == "scream":  # check the painting first: it is the file most likely missing
        scream, scream_path = load_scream(root)
    images, prov = load_images(root, resolve_source(name, root, source, notice=True))
    transforms = {None: (None, 1), "noshape": (None, 1), "color": (color_transform, 3), "noisy": (noise_transform, 3)}
    if variant == "scream":
        transforms["scream"] = (scream_transform(scream), 3)
        prov = replace(prov, auxiliary=f"{SCREAM_FILE} sha256 {sha256_file(scream_path)}")
    transform, channels = transforms[variant]
    grid = GRID_NOSHAPE if variant == "noshape" else GRID
    return GroundTruthDataset(name, grid, prov, images=images, max_value=1, channels=channels, transform=transform)


def _variant_loader(variant: str | None):
    def load(root: Path | None = None, source: str = "auto") -> GroundTruthDataset:
        return load_dsprites(root, source, variant)

    return load


# --------------------------------------------------------------------------------------------------
# dsprites_mini: a small procedural sub-grid (tests, tiny presets)
# --------------------------------------------------------------------------------------------------
MINI_CLASSES = (
    np.array([0]),  # color
    np.arange(3),  # shape
    np.array([0, 2, 5]),  # scale 0.5, 0.7, 1.0
    np.arange(0, 40, 4),  # 10 orientations
    np.arange(0, 32, 2),  # 16 x positions
    np.arange(0, 32, 2),  # 16 y positions
)
MINI_GRID = FactorGrid.build(
    render.NAMES,
    [len(c) for c in MINI_CLASSES],
    [v[c] for v, c in zip(render.VALUES, MINI_CLASSES)],
    latent=(1, 2, 3, 4, 5),
)


def load_mini(root: Path | None = None, source: str = "auto") -> GroundTruthDataset:
    """The ``dsprites_mini`` sub-grid, rendered in memory (its only source is ``procedural``)."""
    resolve_source("dsprites_mini", root, source)
    classes = MINI_GRID.classes(np.arange(MINI_GRID.num_images))
    official = np.stack([MINI_CLASSES[i][classes[:, i]] for i in range(6)], axis=1)
    images = render.render_classes(official).unsqueeze(1)
    prov = Provenance("procedural", generator=render.GENERATOR + ":mini", version=render.VERSION)
    return GroundTruthDataset("dsprites_mini", MINI_GRID, prov, images=images, max_value=1, channels=1)


_FILES = (f"{SUBDIR}/{NPZ_NAME}", NPZ_NAME, f"{SUBDIR}/{HDF5_NAME}", HDF5_NAME)
for _name, _variant, _ch, _desc in (
    ("dsprites", None, 1, "dSprites (Matthey et al. 2017): 2D sprites, binary 64x64"),
    ("dsprites_noshape", "noshape", 1, "dSprites with shape as a nuisance factor (reference variant)"),
    ("color_dsprites", "color", 3, "dSprites with a random RGB tint per image (reference variant)"),
    ("noisy_dsprites", "noisy", 3, "dSprites on a uniform-noise background per image (reference variant)"),
    (
        "scream_dsprites",
        "scream",
        3,
        f"dSprites on a random patch of The Scream, sprite inverted (reference variant; needs {SCREAM_FILE})",
    ),
):
    register(
        DatasetSpec(
            name=_name,
            description=_desc,
            factor_names=render.NAMES,
            factor_sizes=render.SIZES,
            latent=(GRID_NOSHAPE if _variant == "noshape" else GRID).latent,
            channels=_ch,
            official_files=_FILES,
            procedural=True,
            needs_files=(SCREAM_FILE,) if _variant == "scream" else (),
            load=_variant_loader(_variant),
        )
    )
register(
    DatasetSpec(
        name="dsprites_mini",
        description="procedural dSprites sub-grid (23,040 images) for tests and tiny runs",
        factor_names=render.NAMES,
        factor_sizes=MINI_GRID.sizes,
        latent=MINI_GRID.latent,
        channels=1,
        official_files=(),
        procedural=True,
        load=load_mini,
    )
)
