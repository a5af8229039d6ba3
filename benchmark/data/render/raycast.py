"""Vectorised analytic ray casting: pixel grids, cameras, quadrics and boxes.

Conventions
-----------
World frame: ``y`` up. A camera at azimuth ``az`` and elevation ``el`` (radians) sits in direction
``e = (cos el sin az, sin el, cos el cos az)`` from its target, looks along ``-e``, has ``right =
(cos az, 0, -sin az)`` and ``up = (-sin el sin az, cos el, -sin el cos az)``. Image pixel (row i,
column j) of an ``S x S`` image has screen coordinates ``u = (2j + 1)/S - 1`` (right) and
``v = 1 - (2i + 1)/S`` (up).

Every ray is ``origin + t * direction`` with origin and direction *affine* in ``(u, v)``:
orthographic cameras have ``origin = A + u B + v C`` and a constant direction ``D``; perspective
cameras have a constant origin ``A`` and ``direction = D + u B + v C``. Moving those four vectors
into a primitive's local frame (where it is the unit sphere, the unit cylinder or a box) keeps them
affine, so the quadratic a ray-quadric test solves has coefficients that are polynomials of degree
<= 2 in ``(u, v)``. We evaluate such a polynomial over the image as

    row_term(v)[:, :, None] + col_term(u)[:, None, :] + c_uv * (u v)

(two tiny ``(n, S)`` tensors and one full-size product), which is what makes the renderers fast.

Per-image coefficients are computed in float64 numpy (small arrays) and converted to float32; all
per-pixel work is element-wise float32 (see the package docstring on determinism).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

F32 = torch.float32
INF = float("inf")
_NAN = torch.tensor(float("nan"))


@dataclass(frozen=True)
class Pixels:
    """Screen coordinates of an ``S x S`` pixel grid (``S = size * supersample``)."""

    u: torch.Tensor  # (S,) left -> right
    v: torch.Tensor  # (S,) top -> bottom (v decreasing)
    uv: torch.Tensor  # (S, S) u * v, indexed [row, col]
    size: int

    @staticmethod
    def make(size: int) -> "Pixels":
        k = np.arange(size, dtype=np.float64)
        u = (2.0 * k + 1.0) / size - 1.0
        v = -u
        ut = torch.from_numpy(u.astype(np.float32))
        vt = torch.from_numpy(v.astype(np.float32))
        return Pixels(ut, vt, torch.from_numpy((v[:, None] * u[None, :]).astype(np.float32)), size)


_PIXELS: dict[int, Pixels] = {}


def pixels(size: int) -> Pixels:
    """Cached :class:`Pixels` of an ``size x size`` grid."""
    if size not in _PIXELS:
        _PIXELS[size] = Pixels.make(size)
    return _PIXELS[size]


# ------------------------------------------------------------------------------------------------
# Cameras (float64 numpy, one row per image)
# ------------------------------------------------------------------------------------------------
def trig(angles) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of an array of angles, element by element with libm (same digits everywhere)."""
    a = np.asarray(angles, dtype=np.float64).ravel()
    return (np.array([math.cos(x) for x in a], dtype=np.float64), np.array([math.sin(x) for x in a], dtype=np.float64))


def camera_basis(az, el) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ``eye`` (target -> camera), ``right`` and ``up`` vectors, each ``(n, 3)``."""
    ca, sa = trig(az)
    ce, se = trig(el)
    eye = np.stack([ce * sa, se, ce * ca], axis=1)
    right = np.stack([ca, np.zeros_like(ca), -sa], axis=1)
    up = np.stack([-se * sa, ce, -se * ca], axis=1)
    return eye, right, up


def ortho_rays(az, el, target, half_width: float, distance: float = 10.0):
    """Orthographic rays ``origin = A + u B + v C``, direction ``D`` (all ``(n, 3)`` float64)."""
    eye, right, up = camera_basis(az, el)
    target = np.broadcast_to(np.asarray(target, np.float64), eye.shape)
    return target + distance * eye, half_width * right, half_width * up, -eye


def perspective_rays(az, el, target, distance: float, fov_deg: float):
    """Perspective rays from ``A`` with direction ``D + u B + v C`` (``D`` unit, towards the target)."""
    eye, right, up = camera_basis(az, el)
    target = np.broadcast_to(np.asarray(target, np.float64), eye.shape)
    h = math.tan(math.radians(fov_deg) / 2.0)
    return target + distance * eye, h * right, h * up, -eye


def to_local(rays, center, rot, scale):
    """Express rays in a primitive's local frame ``x_local = diag(1/scale) rot^T (x - center)``.

    ``rays`` = (A, B, C, D) with the usual meaning (points: A; vectors: B, C, D, or for perspective
    rays A is the point and B, C, D vectors). ``center`` (n, 3), ``rot`` (n, 3, 3) (columns = local
    axes in world coordinates), ``scale`` (n, 3). Returns the four transformed (n, 3) arrays.
    ``point_first`` rays only: the first array is a point, the rest are directions.
    """
    A, B, C, D = rays
    inv = 1.0 / np.asarray(scale, np.float64)
    rt = np.swapaxes(np.asarray(rot, np.float64), 1, 2)

    def vec(x):
        return np.einsum("nij,nj->ni", rt, x) * inv

    return vec(A - center), vec(B), vec(C), vec(D)


def rot_y(angle) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` about ``y`` by ``angle`` (radians)."""
    c, s = trig(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, z, s], 1), np.stack([z, o, z], 1), np.stack([-s, z, c], 1)], 1)


def rot_x(angle) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` about ``x`` by ``angle`` (radians)."""
    c, s = trig(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([o, z, z], 1), np.stack([z, c, -s], 1), np.stack([z, s, c], 1)], 1)


def rot_z(angle) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` about ``z`` by ``angle`` (radians)."""
    c, s = trig(angle)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.stack([np.stack([c, -s, z], 1), np.stack([s, c, z], 1), np.stack([z, z, o], 1)], 1)


# ------------------------------------------------------------------------------------------------
# Polynomials in (u, v): coefficient order [1, u, v, uu, uv, vv]
# ------------------------------------------------------------------------------------------------
def _t(x) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).astype(np.float32))


def eval_quad(coef: np.ndarray, px: Pixels) -> torch.Tensor:
    """Evaluate ``(n, 6)`` quadratic coefficients over the grid: ``(n, S, S)`` float32."""
    c = _t(coef)
    u, v = px.u[None, :], px.v[None, :]
    col = c[:, 0:1] + u * (c[:, 1:2] + u * c[:, 3:4])  # (n, S) over columns
    row = v * (c[:, 2:3] + v * c[:, 5:6])  # (n, S) over rows
    return (row[:, :, None] + col[:, None, :]) + c[:, 4, None, None] * px.uv


def eval_lin(coef: np.ndarray, px: Pixels) -> torch.Tensor:
    """Evaluate ``(n, 3)`` affine coefficients ``[1, u, v]`` over the grid: ``(n, S, S)``."""
    c = _t(coef)
    col = c[:, 0:1] + px.u[None, :] * c[:, 1:2]
    row = px.v[None, :] * c[:, 2:3]
    return row[:, :, None] + col[:, None, :]


def lin_terms(a0, a1, a2) -> np.ndarray:
    """Stack affine coefficients ``a0 + a1 u + a2 v`` into ``(n, 3)``."""
    return np.stack([a0, a1, a2], axis=1)


def mul_lin(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Product of two affine polynomials as quadratic coefficients ``(n, 6)``."""
    return np.stack(
        [
            p[:, 0] * q[:, 0],
            p[:, 0] * q[:, 1] + p[:, 1] * q[:, 0],
            p[:, 0] * q[:, 2] + p[:, 2] * q[:, 0],
            p[:, 1] * q[:, 1],
            p[:, 1] * q[:, 2] + p[:, 2] * q[:, 1],
            p[:, 2] * q[:, 2],
        ],
        axis=1,
    )


def dot_lin(P: list[np.ndarray], Q: list[np.ndarray]) -> np.ndarray:
    """Sum over components of products of affine polynomials (lists of (n, 3))."""
    return sum(mul_lin(p, q) for p, q in zip(P, Q))


def ray_polys(A, B, C, D, perspective: bool):
    """Per-component affine polynomials of the ray origin and direction in local coordinates.

    Returns ``(origin, direction)``, each a list of three ``(n, 3)`` arrays (x, y, z components):
    orthographic: origin ``A + uB + vC``, direction ``D``; perspective: origin ``A``, direction
    ``D + uB + vC``.
    """
    zero = np.zeros(A.shape[0])
    if perspective:
        origin = [lin_terms(A[:, i], zero, zero) for i in range(3)]
        direction = [lin_terms(D[:, i], B[:, i], C[:, i]) for i in range(3)]
    else:
        origin = [lin_terms(A[:, i], B[:, i], C[:, i]) for i in range(3)]
        direction = [lin_terms(D[:, i], zero, zero) for i in range(3)]
    return origin, direction


def quadric_hit(
    origin, direction, axes, px: Pixels, perspective: bool, miss: float = float("nan"), out: torch.Tensor | None = None
):
    """Nearest entry ``t`` of rays into the unit sphere (axes (0,1,2)) or unit cylinder (axes (0,2)).

    Solves ``a t^2 + 2 b t + c = 0`` with ``a = |d|^2``, ``b = o.d``, ``c = |o|^2 - 1`` over the
    given components. Returns ``t`` ``(n, S, S)``: ``miss`` (NaN by default) where the ray misses,
    written into ``out`` if given.
    """
    Oc = [origin[i] for i in axes]
    Dd = [direction[i] for i in axes]
    a = dot_lin(Dd, Dd)
    b = dot_lin(Oc, Dd)  # degree <= 1 in (u, v) for both camera types
    c = dot_lin(Oc, Oc)
    c[:, 0] -= 1.0
    b_lin = b[:, :3]  # b is affine for both camera types (coefficients 3..5 are zero)
    if perspective:  # c is constant, a quadratic
        disc = mul_lin(b_lin, b_lin) - a * c[:, :1]
    else:  # a is constant, c quadratic
        disc = mul_lin(b_lin, b_lin) - c * a[:, :1]
        inv_a = -1.0 / a[:, 0]
    bb = eval_lin(b_lin, px)
    dd = eval_quad(disc, px)
    # sqrt of zero or negative floats takes a slow path on x86 (~30x): clamp to a tiny positive
    root = torch.sqrt(dd.clamp(min=1e-30))
    if perspective:
        t = -(bb + root) / eval_quad(a, px)
    else:
        t = (bb + root) * _t(inv_a)[:, None, None]
    fill = _NAN if miss != miss else torch.tensor(float(miss))
    if out is not None:
        return torch.where(dd > 0, t, fill, out=out)
    return torch.where(dd > 0, t, fill)


def box_hit(origin, direction, lo, hi, px: Pixels):
    """Slab test against the local box ``lo <= x <= hi`` (``(n, 3)`` each) for orthographic or
    perspective rays. Returns ``(t_near, axis_of_entry)``; ``t_near`` is NaN where the ray misses.

    ``axis_of_entry`` is a uint8 tensor (0, 1, 2): the slab that was entered last, i.e. the face hit.
    """
    t_near = t_far = axis = None
    for i in range(3):
        o, d = origin[i], direction[i].copy()
        tiny = np.abs(d[:, 0]) < 1e-9
        if d[:, 1:].any():  # perspective: direction varies per pixel
            dd = eval_lin(d, px)
            oo = _t(o[:, 0])[:, None, None]
            inv = 1.0 / dd
            t1 = (_t(lo[:, i])[:, None, None] - oo) * inv
            t2 = (_t(hi[:, i])[:, None, None] - oo) * inv
            near, far = torch.minimum(t1, t2), torch.maximum(t1, t2)
        else:
            # orthographic: (plane - o(u, v)) / d is affine in (u, v); the entry plane is lo when
            # d > 0, else hi (per image), and the exit is a constant slab width further on
            d0 = np.where(tiny, 1e-9, d[:, 0])
            entry = np.where(d0 > 0, lo[:, i], hi[:, i])
            near = eval_lin(np.stack([(entry - o[:, 0]) / d0, -o[:, 1] / d0, -o[:, 2] / d0], 1), px)
            far = near + _t((hi[:, i] - lo[:, i]) / np.abs(d0))[:, None, None]
        if t_near is None:
            t_near, t_far = near, far
            axis = torch.zeros(near.shape, dtype=torch.uint8)
        else:
            later = near > t_near
            axis = torch.where(later, torch.tensor(i, dtype=torch.uint8), axis)
            t_near = torch.maximum(t_near, near)
            t_far = torch.minimum(t_far, far)
    t_near = torch.where(t_near <= t_far, t_near, torch.tensor(float("nan")))
    return t_near, axis


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Box-filter ``(..., S*f, S*f)`` down by ``f`` with explicit adds (fixed summation order)."""
    if factor == 1:
        return x
    acc = None
    for i in range(factor):
        for j in range(factor):
            part = x[..., i::factor, j::factor]
            acc = part.clone() if acc is None else acc.add_(part)
    return acc.mul_(1.0 / (factor * factor))


def blur3(x: torch.Tensor, w: float = 0.25) -> torch.Tensor:
    """Separable [w, 1-2w, w] blur with edge replication (softens 1-sample-per-pixel edges)."""
    c = 1.0 - 2.0 * w
    p = torch.cat([x[..., :, :1], x, x[..., :, -1:]], dim=-1)
    x = p[..., :, 1:-1] * c + (p[..., :, :-2] + p[..., :, 2:]) * w
    p = torch.cat([x[..., :1, :], x, x[..., -1:, :]], dim=-2)
    return p[..., 1:-1, :] * c + (p[..., :-2, :] + p[..., 2:, :]) * w


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float intensities in [0, 1] -> uint8 with round-half-up (exact, no platform rounding mode)."""
    return torch.floor(x.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)


def hue_rgb(hue) -> np.ndarray:
    """RGB (n, 3) of HSV colours with the given hues in [0, 1) at full saturation and value."""
    h = (np.asarray(hue, np.float64) % 1.0) * 6.0
    k = np.stack([(5.0 + h) % 6.0, (3.0 + h) % 6.0, (1.0 + h) % 6.0], axis=1)  # R, G, B
    return 1.0 - np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
