"""Contact sheets: one row per factor, varying only that factor around one random base image.

Used by ``python -m benchmark data show NAME`` and for the pictures in ``docs/datasets/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.io import atomic_write_bytes

MAX_COLUMNS = 10
LABEL_WIDTH = 150
GAP = 2
SCALE = 2
SHEET_GREY = (150, 150, 150)  # between tiles: white (chairs) and black (faces) backgrounds both show


def sheet_classes(grid, base: np.ndarray, max_columns: int = MAX_COLUMNS) -> list[np.ndarray]:
    """For each factor, full class rows ``(m, F)`` equal to ``base`` except that factor, which takes
    ``m = min(size, max_columns)`` evenly spaced classes (first and last included)."""
    rows = []
    for f, size in enumerate(grid.sizes):
        m = min(size, max_columns)
        cls = np.unique(np.round(np.linspace(0, size - 1, m)).astype(np.int64))
        r = np.repeat(base[None, :], len(cls), axis=0)
        r[:, f] = cls
        rows.append(r)
    return rows


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e4 else f"{v:.3g}"


def write_contact_sheet(
    dataset, path, rng: np.random.Generator, max_columns: int = MAX_COLUMNS, scale: int = SCALE
) -> Path:
    """Write a PNG: one row per factor (nuisance factors too), varying only that factor.

    Parameters
    ----------
    dataset : GroundTruthDataset
        Any dataset; images come from ``dataset.observe`` (so per-image variant noise is shown).
    path : path-like
        PNG to write (atomically; folders are created).
    rng : numpy.random.Generator
        Draws the base factor classes (and any variant noise).
    max_columns : int
        At most this many evenly spaced classes per factor.
    scale : int
        Nearest-neighbour magnification of each 64x64 image.

    Returns
    -------
    Path of the written file.
    """
    import io

    from PIL import Image, ImageDraw

    grid = dataset.grid
    base = np.array([rng.integers(s) for s in grid.sizes], dtype=np.int64)
    rows = sheet_classes(grid, base, max_columns)
    tile = dataset.image_size * scale
    ncols = max(len(r) for r in rows)
    width = LABEL_WIDTH + ncols * (tile + GAP) + GAP
    height = len(rows) * (tile + GAP) + GAP + 18
    sheet = Image.new("RGB", (width, height), SHEET_GREY)
    ImageDraw.Draw(sheet).rectangle((0, 0, LABEL_WIDTH, height), fill=(255, 255, 255))
    ImageDraw.Draw(sheet).rectangle((0, 0, width, 17), fill=(255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), f"{dataset.name}: {dataset.provenance.describe()}"[: width // 6], fill=(0, 0, 0))
    for r, cls in enumerate(rows):
        x = dataset.observe(grid.index(cls), rng=rng)  # (m, C, 64, 64) float in [0, 1]
        img = np.clip(np.round(x.numpy() * 255.0), 0, 255).astype(np.uint8)
        if img.shape[1] == 1:
            img = np.repeat(img, 3, axis=1)
        img = img.transpose(0, 2, 3, 1)
        top = 18 + GAP + r * (tile + GAP)
        name = grid.names[r] + ("" if r in grid.latent else " (nuisance)")
        vals = grid.values[r][cls[:, r]]
        draw.text((4, top + 4), name, fill=(0, 0, 0))
        draw.text((4, top + 18), f"{grid.sizes[r]} values", fill=(90, 90, 90))
        draw.text((4, top + 32), f"{_fmt(vals[0])} .. {_fmt(vals[-1])}", fill=(90, 90, 90))
        for c in range(img.shape[0]):
            im = Image.fromarray(img[c]).resize((tile, tile), Image.NEAREST)
            sheet.paste(im, (LABEL_WIDTH + GAP + c * (tile + GAP), top))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    return atomic_write_bytes(Path(path), buf.getvalue())
