"""Shapes3D-like scenes: a floor, the walls of a room corner, and one object, seen in perspective.

The six factors and their values are those of DeepMind's 3dshapes (Kim & Mnih 2018):
floor hue, wall hue, object hue (10 values each, 0.0 ... 0.9, HSV colours at full saturation and
value), scale (8 values, linspace(0.75, 1.25)), shape (cube, cylinder, sphere, capsule) and
orientation (15 values, linspace(-30, 30) degrees: the camera's azimuth around the object, so the
whole room turns, as in the official images).

Scene (world units, y up): the object stands at the origin on the floor ``y = 0``; the room has a
back wall at ``z = -WALL`` and side walls at ``x = +-WALL``; the camera looks at
``(0, TARGET_Y, 0)`` from ``CAM_DIST`` away at elevation ``CAM_EL``. One directional light plus
ambient light (Lambert shading; each wall has its own constant shade, so the room's corners show);
the object casts a soft blob shadow on the floor. Rendered with 2x2 supersampling.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from benchmark.data.render import raycast as rc

GENERATOR = "benchmark.data.render.scenes"
VERSION = "1"

NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
SIZES = (10, 10, 10, 8, 4, 15)
VALUES = (
    np.round(np.linspace(0.0, 0.9, 10), 10),
    np.round(np.linspace(0.0, 0.9, 10), 10),
    np.round(np.linspace(0.0, 0.9, 10), 10),
    np.linspace(0.75, 1.25, 8),
    np.arange(4, dtype=np.float64),
    np.linspace(-30.0, 30.0, 15),
)
SHAPE_NAMES = ("cube", "cylinder", "sphere", "capsule")

WALL = 2.6  # walls at z = -WALL and x = +-WALL
CAM_DIST = 5.2
CAM_EL = math.radians(14.0)
TARGET_Y = 0.9
FOV = 44.0
BASE = 0.52  # half-width of the object at scale 1
AMBIENT, DIFFUSE = 0.50, 0.50
_L = np.array([-0.45, 0.80, 0.55])
LIGHT = _L / np.linalg.norm(_L)
SUPERSAMPLE = 2


def _shade(cos_angle):
    """Lambert: ambient + diffuse * max(0, n.L) (per-pixel tensor or numpy)."""
    if isinstance(cos_angle, torch.Tensor):
        return cos_angle.clamp(min=0.0).mul_(DIFFUSE).add_(AMBIENT)
    return AMBIENT + DIFFUSE * np.maximum(cos_angle, 0.0)


def _nan_to_inf(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > 0, t, torch.tensor(rc.INF))


def _room(A, B, C, D, px):
    """Nearest room surface per pixel: ``(t, shade, material)`` with material 0 floor, 1 wall."""
    n = A.shape[0]
    zero = np.zeros(n)
    ux = rc.eval_lin(rc.lin_terms(D[:, 0], B[:, 0], C[:, 0]), px)
    uy = rc.eval_lin(rc.lin_terms(D[:, 1], B[:, 1], C[:, 1]), px)
    uz = rc.eval_lin(rc.lin_terms(D[:, 2], B[:, 2], C[:, 2]), px)
    col = lambda a: rc._t(a)[:, None, None]  # noqa: E731
    t_floor = _nan_to_inf(col(-A[:, 1]) / uy)
    t_back = _nan_to_inf(col(-WALL - A[:, 2]) / uz)
    t_left = _nan_to_inf(col(-WALL - A[:, 0]) / ux)
    t_right = _nan_to_inf(col(WALL - A[:, 0]) / ux)
    s_back, s_left, s_right = (float(_shade(LIGHT[2])), float(_shade(LIGHT[0])), float(_shade(-LIGHT[0])))
    t = torch.minimum(t_back, t_left)
    shade = torch.where(t_back <= t_left, torch.tensor(s_back), torch.tensor(s_left))
    shade = torch.where(t_right < t, torch.tensor(s_right), shade)
    t = torch.minimum(t, t_right)
    floor = t_floor < t
    t = torch.where(floor, t_floor, t)
    # floor: constant Lambert shade, darkened by a soft blob shadow of the object
    fx = col(A[:, 0]) + t_floor * ux
    fz = col(A[:, 2]) + t_floor * uz
    return t, shade, floor, (fx, fz), zero


def _object(shape: int, A, B, C, D, scale, px):
    """Object hits: ``(t, shade)`` (t NaN/inf where missed) for one shape, perspective rays."""
    n = A.shape[0]
    h = BASE * np.asarray(scale, np.float64)
    ident = np.broadcast_to(np.eye(3), (n, 3, 3))
    rays = (A, B, C, D)
    L = LIGHT
    if shape == 0:  # cube: box [-h, h] x [0, 2h] x [-h, h]
        lo = np.stack([-h, np.zeros(n), -h], 1)
        hi = np.stack([h, 2 * h, h], 1)
        origin, direction = rc.ray_polys(*rays, perspective=True)
        t, axis = rc.box_hit(origin, direction, lo, hi, px)
        # the face seen on each axis is the one facing the camera (camera is outside the box)
        centre = np.stack([np.zeros(n), h, np.zeros(n)], 1)
        side = np.sign(A - centre)
        s = [rc._t(_shade(side[:, i] * L[i]))[:, None, None] for i in range(3)]
        shade = torch.where(axis == 0, s[0], torch.where(axis == 1, s[1], s[2]))
        return t, shade
    if shape == 2:  # sphere of radius h resting on the floor
        centre = np.stack([np.zeros(n), h, np.zeros(n)], 1)
        return _sphere(rays, centre, np.stack([h, h, h], 1), ident, px)
    # cylinder / capsule: vertical axis, local frame scaled by the radius
    r = h if shape == 1 else 0.62 * h
    y0, y1 = (0.0 * h, 2.0 * h) if shape == 1 else (r, 2.3 * h - r)
    loc = rc.to_local(rays, np.zeros((n, 3)), ident, np.stack([r, r, r], 1))
    origin, direction = rc.ray_polys(*loc, perspective=True)
    t_side = rc.quadric_hit(origin, direction, (0, 2), px, perspective=True)
    dx, dy, dz = (rc.eval_lin(direction[i], px) for i in range(3))
    ox, oy, oz = (rc._t(loc[0][:, i])[:, None, None] for i in range(3))
    yl0, yl1 = rc._t(y0 / r)[:, None, None], rc._t(y1 / r)[:, None, None]
    y_hit = oy + t_side * dy
    t_side = torch.where((y_hit >= yl0) & (y_hit <= yl1), t_side, torch.tensor(rc.INF))
    # side normal (x, 0, z) in the local (uniformly scaled) frame
    shade = _shade((ox + t_side * dx) * float(L[0]) + (oz + t_side * dz) * float(L[2]))
    t = t_side
    if shape == 1:  # flat top cap at y = y1
        t_cap = (yl1 - oy) / dy
        cx, cz = ox + t_cap * dx, oz + t_cap * dz
        on_cap = (cx * cx + cz * cz <= 1.0) & (t_cap > 0)
        use = on_cap & (t_cap < t)
        t = torch.where(use, t_cap, t)
        shade = torch.where(use, torch.tensor(float(_shade(L[1]))), shade)
        return t, shade
    for yc in (y1, y0):  # hemispherical ends
        centre = np.stack([np.zeros(n), yc, np.zeros(n)], 1)
        ts, ss = _sphere(rays, centre, np.stack([r, r, r], 1), ident, px)
        use = ts < t
        t = torch.where(use, ts, t)
        shade = torch.where(use, ss, shade)
    return t, shade


def _sphere(rays, centre, scale, rot, px):
    loc = rc.to_local(rays, centre, rot, scale)
    origin, direction = rc.ray_polys(*loc, perspective=True)
    t = rc.quadric_hit(origin, direction, (0, 1, 2), px, perspective=True)
    # unit-sphere hit point = normal; n.L = o.L + t d.L, with d.L affine in (u, v)
    oL = loc[0] @ LIGHT
    dL = rc.eval_lin(rc.lin_terms(loc[3] @ LIGHT, loc[1] @ LIGHT, loc[2] @ LIGHT), px)
    return t, _shade(rc._t(oL)[:, None, None] + t * dL)


def render(
    floor_hue, wall_hue, object_hue, scale, shape, orientation_deg, supersample: int = SUPERSAMPLE, size: int = 64
) -> torch.Tensor:
    """Render scenes from factor values (arrays of length n). Returns uint8 ``(n, 3, size, size)``."""
    shape = np.asarray(shape).astype(np.int64)
    n = shape.shape[0]
    out = torch.empty((n, 3, size, size), dtype=torch.uint8)
    if n == 0:
        return out
    px = rc.pixels(size * supersample)
    az = np.radians(np.asarray(orientation_deg, np.float64))
    A, B, C, D = rc.perspective_rays(az, np.full(n, CAM_EL), (0.0, TARGET_Y, 0.0), CAM_DIST, FOV)
    colours = [rc.hue_rgb(floor_hue), rc.hue_rgb(wall_hue), rc.hue_rgb(object_hue)]
    scale = np.asarray(scale, np.float64)
    for k in range(4):
        sel = np.nonzero(shape == k)[0]
        if len(sel) == 0:
            continue
        a, b, c, d = A[sel], B[sel], C[sel], D[sel]
        t_room, s_room, floor, (fx, fz), _ = _room(a, b, c, d, px)
        # soft blob shadow: displaced from the object away from the light
        h = BASE * scale[sel]
        sx = -LIGHT[0] / LIGHT[1] * h
        sz = -LIGHT[2] / LIGHT[1] * h
        col = lambda x: rc._t(x)[:, None, None]  # noqa: E731
        ex, ez = fx - col(sx), fz - col(sz)
        dist2 = (ex * ex + ez * ez) * col(1.0 / (1.5 * h) ** 2)
        shadow = (1.0 - dist2).clamp_(0.0, 1.0).mul_(0.45)
        s_floor = float(_shade(LIGHT[1])) * (1.0 - shadow)
        shade = torch.where(floor, s_floor, s_room)
        t_obj, s_obj = _object(k, a, b, c, d, scale[sel], px)
        obj = t_obj < t_room
        shade = torch.where(obj, s_obj, shade)
        img = []
        for ch in range(3):
            fc, wc, oc = (col(cc[sel, ch]) for cc in colours)
            base = torch.where(obj, oc, torch.where(floor, fc, wc))
            img.append(base * shade)
        x = torch.stack(img, 1)
        out[torch.from_numpy(sel)] = rc.to_uint8(rc.downsample(x, supersample))
    return out


def render_classes(classes) -> torch.Tensor:
    """Render full factor-class rows ``(n, 6)`` in :data:`NAMES` order."""
    classes = np.asarray(classes, dtype=np.int64)
    v = [VALUES[i][classes[:, i]] for i in range(6)]
    return render(*v)
