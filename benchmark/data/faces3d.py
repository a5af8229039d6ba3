"""3D faces: the Basel-face renders of the beta-VAE / beta-TCVAE papers, and a procedural stand-in.

Registered names
----------------
``faces3d``
    ``basel_face_renders.pth`` as read by the beta-TCVAE code (rtqichen/beta-tcvae
    ``lib/datasets.py``): one tensor saved with ``torch.save`` holding 127,050 grey 64x64 images
    with values 0-255, in the order identity 50 x azimuth 21 x elevation 11 x lighting 11 (the
    code reshapes it with ``view(50, 21, 11, 11, ...)``). Read with ``torch.load(weights_only=True)``.
    The file was never public (Basel Face Model licence: ask the beta-TCVAE authors). Without it,
    ``source="auto"`` falls back to the procedural stand-in with a notice.
``faces3d-procedural``
    :mod:`benchmark.data.render.faces`: 50 parametric heads, same grid, rendered on the fly.
"""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, register, resolve_source
from benchmark.data.render import common
from benchmark.data.render import faces as render
from benchmark.errors import DatasetError
from benchmark.data.render.common import checksum as sha256_file

FILE_NAME = "basel_face_renders.pth"
SUBDIR = "faces3d"
NAMES = render.NAMES
SIZES = render.SIZES
# The real renders' angle values are not published: the official grid carries class indices.
GRID = FactorGrid.build(NAMES, SIZES)
PROCEDURAL_GRID = FactorGrid.build(NAMES, SIZES, render.VALUES)
FIX = (
    f"put the beta-TCVAE {FILE_NAME} (not public: request it from the authors of rtqichen/beta-tcvae) "
    f"into <data root>/{SUBDIR}/, or use faces3d-procedural"
)
LAYOUT = "one tensor of 127050 x 64 x 64 grey values 0-255 (any shape with that many elements, e.g. (127050, 64, 64))"


def official_candidates(root: Path) -> list[Path]:
    return [Path(root) / SUBDIR / FILE_NAME, Path(root) / FILE_NAME]


def grid_for(identities: int) -> FactorGrid:
    """The faces grid with ``identities`` identities (50 in the official file)."""
    if identities == SIZES[0]:
        return GRID
    return FactorGrid.build(NAMES, (identities,) + SIZES[1:])


def read_file(path: Path, identities: int = 50) -> torch.Tensor:
    """Load and validate the renders: uint8 ``(N, 1, 64, 64)`` in grid order."""
    path = Path(path)
    grid = grid_for(identities)
    n = grid.num_images
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise DatasetError(
            f"{path}: cannot load it with torch.load(weights_only=True) ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}); expected {LAYOUT} — {FIX}"
        ) from None
    if not isinstance(obj, torch.Tensor):
        raise DatasetError(f"{path}: holds a {type(obj).__name__}, expected {LAYOUT} — {FIX}")
    if obj.numel() != n * 64 * 64:
        raise DatasetError(
            f"{path}: tensor of shape {tuple(obj.shape)} has {obj.numel()} values, expected "
            f"{n} x 64 x 64 = {n * 4096} ({LAYOUT}) — {FIX}"
        )
    if obj.dtype == torch.uint8:
        return obj.reshape(n, 1, 64, 64).contiguous()
    if not (obj.dtype.is_floating_point or obj.dtype in (torch.int16, torch.int32, torch.int64)):
        raise DatasetError(f"{path}: tensor dtype {obj.dtype}, expected uint8 or float values 0-255 — {FIX}")
    lo, hi = float(obj.min()), float(obj.max())
    if lo < 0 or hi > 255:
        raise DatasetError(f"{path}: values range over [{lo:g}, {hi:g}], expected 0-255 grey levels — {FIX}")
    if obj.dtype.is_floating_point and hi <= 1.0:
        raise DatasetError(
            f"{path}: values lie in [0, 1]; the beta-TCVAE file stores 0-255 grey levels "
            f"(it divides by 255 on load) — {FIX}"
        )
    return torch.round(obj.reshape(n, 1, 64, 64).to(torch.float64)).to(torch.uint8)


def load_official(path: Path, identities: int = 50, name: str = "faces3d") -> GroundTruthDataset:
    images = read_file(path, identities)
    prov = Provenance("official", file=str(path), sha256=sha256_file(path))
    return GroundTruthDataset(name, grid_for(identities), prov, images=images, max_value=255, channels=1)


def load_procedural(root: Path | None = None, cache: bool = False) -> GroundTruthDataset:
    return common.procedural_dataset(
        "faces3d-procedural",
        PROCEDURAL_GRID,
        render.render_classes,
        render.GENERATOR,
        render.VERSION,
        1,
        root,
        cache=cache,
    )


def load(root: Path | None = None, source: str = "auto") -> GroundTruthDataset:
    """``source``: ``official`` (error without the file), ``procedural``, or ``auto`` (see
    :func:`benchmark.data.registry.resolve_source`)."""
    root = data_root(root)
    if resolve_source("faces3d", root, source, notice=True) == "procedural":
        ds = load_procedural(root)
        ds.name = "faces3d"
        return ds
    return load_official(common.first_existing(official_candidates(root)))


def load_stand_in(root: Path | None = None, source: str = "auto", *, cache: bool = False) -> GroundTruthDataset:
    """The registered ``faces3d-procedural`` (its only source is ``procedural``)."""
    resolve_source("faces3d-procedural", root, source)
    return load_procedural(root, cache)


register(
    DatasetSpec(
        name="faces3d",
        description="3D faces (Basel Face Model renders as in beta-TCVAE): grey 64x64",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=GRID.latent,
        channels=1,
        official_files=(f"{SUBDIR}/{FILE_NAME}", FILE_NAME),
        procedural=True,
        load=load,
    )
)
register(
    DatasetSpec(
        name="faces3d-procedural",
        description="procedural parametric heads (same grid), rendered on the fly",
        factor_names=NAMES,
        factor_sizes=SIZES,
        latent=GRID.latent,
        channels=1,
        official_files=(),
        procedural=True,
        load=load_stand_in,
    )
)
