"""A procedural dSprites renderer: the official 737,280-image grid without the official file.

Geometry (calibrated on six real images, ``tests/data/dsprites_calibration.npz``; intersection
over union 1.0 for the square, >= 0.99 for the ellipses, ~0.95 for the hearts):

* the sprite's centre moves over the middle half of the image: in pixel-index coordinates (pixel
  ``i`` has its centre at ``i``), ``column = 15.5 + 32 * posX`` and ``row = 15.5 + 32 * posY``;
* a pixel is on when its centre lies inside the shape (point sampling, no anti-aliasing: the real
  images are binary);
* orientation rotates the shape counter-clockwise as seen on screen;
* at scale 1: square with half-side 9.6 px; ellipse with semi-axes 12.8 x 7.2 px (major axis
  horizontal at orientation 0); heart = a 45-degree-rotated square (side 11.4 px, lower corner
  pointing down) plus two discs of diameter 11.4 px on its upper edges, centred 0.25 px below the
  sprite centre. Every length scales with ``scale``.

Rendering is vectorised (no Python loop per image): each image is evaluated only inside a 30 x 30
window around its centre (the largest sprite has radius < 14 px), in float64 so that pixel-boundary
decisions are the same on every machine.
"""

from __future__ import annotations

import math

import numpy as np
import torch

GENERATOR = "benchmark.data.dsprites_render"
VERSION = "1"

SIZES = (1, 3, 6, 40, 32, 32)
NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")
VALUES = (
    np.array([1.0]),
    np.array([1.0, 2.0, 3.0]),
    np.linspace(0.5, 1.0, 6),
    np.linspace(0.0, 2 * math.pi, 40),
    np.linspace(0.0, 1.0, 32),
    np.linspace(0.0, 1.0, 32),
)

SQUARE_HALF_SIDE = 9.6
ELLIPSE_AXES = (12.8, 7.2)
HEART_SIDE = 11.4
HEART_OFFSET = -0.25
_WINDOW = 30


def _inside(shape: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Point-in-shape test in sprite coordinates (pixels at scale 1, v pointing up)."""
    if shape == 0:  # square
        return (u.abs() <= SQUARE_HALF_SIDE) & (v.abs() <= SQUARE_HALF_SIDE)
    if shape == 1:  # ellipse
        a, b = ELLIPSE_AXES
        return (u * (1.0 / a)) ** 2 + (v * (1.0 / b)) ** 2 <= 1.0
    # heart: diamond plus two discs on its upper edges
    y = v - HEART_OFFSET
    half_diag = HEART_SIDE / math.sqrt(2.0)
    m = half_diag / 2.0
    r2 = (HEART_SIDE / 2.0) ** 2
    inside = u.abs() + y.abs() <= half_diag
    ym2 = (y - m) ** 2
    inside |= (u - m) ** 2 + ym2 <= r2
    inside |= (u + m) ** 2 + ym2 <= r2
    return inside


def _mask(shape: int, cos_t, sin_t, scale, dx, dy_up) -> torch.Tensor:
    """Inside-mask of pixel offsets: ``dx`` (..., 1, W) along columns, ``dy_up`` (..., W, 1) along rows.

    The pixel offsets are rotated by -theta (the shape is rotated by +theta) and divided by the
    scale. Both the generic and the full-grid path call this, so they agree bit for bit.
    """
    u = (cos_t * dx + sin_t * dy_up) / scale
    v = (cos_t * dy_up - sin_t * dx) / scale
    return _inside(shape, u, v)


def _window(center: np.ndarray):
    """First window pixel and the float offsets of the window's pixel centres from ``center``."""
    first = np.floor(center).astype(np.int64) - (_WINDOW // 2 - 1)
    pix = first[:, None] + np.arange(_WINDOW)[None, :]
    return first, torch.from_numpy(pix - center[:, None])


def render(shape, scale, orientation, pos_x, pos_y) -> torch.Tensor:
    """Render sprites from factor *values* (arrays of equal length n).

    Parameters
    ----------
    shape : array of int
        0 square, 1 ellipse, 2 heart (class indices, not the 1-based official values).
    scale, orientation, pos_x, pos_y : array of float
        Scale in [0.5, 1], orientation in radians, positions in [0, 1].

    Returns
    -------
    torch.Tensor
        uint8 ``(n, 64, 64)`` with values 0/1.
    """
    shape = np.asarray(shape, dtype=np.int64)
    n = shape.shape[0]
    out = np.zeros((n, 64, 64), dtype=np.uint8)
    if n == 0:
        return torch.from_numpy(out)
    theta = np.asarray(orientation, np.float64)
    c0, dx = _window(15.5 + 32.0 * np.asarray(pos_x, np.float64))
    r0, dy = _window(15.5 + 32.0 * np.asarray(pos_y, np.float64))
    dy = -dy
    mask = np.zeros((n, _WINDOW, _WINDOW), dtype=bool)
    for sh in range(3):
        sel = np.nonzero(shape == sh)[0]
        if len(sel):
            t = torch.from_numpy
            col = lambda a: t(a[sel])[:, None, None]  # noqa: E731
            mask[sel] = _mask(
                sh,
                col(np.cos(theta)),
                col(np.sin(theta)),
                col(np.asarray(scale, np.float64)),
                dx[sel][:, None, :],
                dy[sel][:, :, None],
            ).numpy()
    rows = r0[:, None, None] + np.arange(_WINDOW)[None, :, None]
    cols = c0[:, None, None] + np.arange(_WINDOW)[None, None, :]
    nn = np.broadcast_to(np.arange(n)[:, None, None], mask.shape)
    out[nn[mask], np.broadcast_to(rows, mask.shape)[mask], np.broadcast_to(cols, mask.shape)[mask]] = 1
    return torch.from_numpy(out)


def render_classes(classes) -> torch.Tensor:
    """Render official-grid factor classes ``(n, 6)`` (color, shape, scale, orientation, posX, posY)."""
    classes = np.asarray(classes, dtype=np.int64)
    return render(
        classes[:, 1],
        VALUES[2][classes[:, 2]],
        VALUES[3][classes[:, 3]],
        VALUES[4][classes[:, 4]],
        VALUES[5][classes[:, 5]],
    )


def render_grid(chunk: int = 8192, progress=None) -> np.ndarray:
    """Render the complete official grid, row-major over (color, shape, scale, orientation, posX, posY).

    Returns a uint8 array ``(737280, 64, 64)``; ``progress`` is an optional callable taking the
    number of images finished after each chunk (for a tqdm bar).
    """
    sizes = np.asarray(SIZES, dtype=np.int64)
    n = int(sizes.prod())
    bases = np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]])
    out = np.empty((n, 64, 64), dtype=np.uint8)
    for start in range(0, n, chunk):
        idx = np.arange(start, min(start + chunk, n))
        out[start : start + len(idx)] = render_classes((idx[:, None] // bases) % sizes).numpy()
        if progress is not None:
            progress(len(idx))
    return out
