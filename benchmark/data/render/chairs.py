"""Parametric chairs: a stand-in for the rendered 3D chairs of Aubry et al. (2014).

A chair is built from axis-aligned boxes and vertical cylinders: a seat, a backrest, four legs
(square boxes or round cylinders) and optionally two armrests on posts. Its style parameters are
labelled factors (something no real chairs data has): back height (4), seat width (3), leg length
(3), leg style (square, round) and arms (none, with arms), 144 chairs in all. Each is seen at 31
azimuths (linspace(0, 360, 31, endpoint=False) degrees, as the real renders' ``t`` field) and 2
elevations (20 and 30 degrees, the real ``p`` field), in orthographic projection: a grey chair with
Lambertian shading on a white background, 64 x 64, like the real renders after the usual centred
crop and resize.

Factor order: back_height, seat_width, leg_length, leg_style, arms, azimuth, elevation.
"""

from __future__ import annotations


import numpy as np
import torch

from benchmark.data.render import raycast as rc

GENERATOR = "benchmark.data.render.chairs"
VERSION = "1"

NAMES = ("back_height", "seat_width", "leg_length", "leg_style", "arms", "azimuth", "elevation")
SIZES = (4, 3, 3, 2, 2, 31, 2)
VALUES = (
    np.array([0.30, 0.42, 0.54, 0.66]),
    np.array([0.40, 0.55, 0.70]),
    np.array([0.34, 0.42, 0.50]),
    np.array([0.0, 1.0]),  # 0 square legs (boxes), 1 round legs (cylinders)
    np.array([0.0, 1.0]),  # 0 none, 1 armrests
    np.linspace(0.0, 360.0, 31, endpoint=False),
    np.array([20.0, 30.0]),
)

SEAT_DEPTH = 0.50
SEAT_THICK = 0.06
BACK_THICK = 0.05
LEG = 0.035  # half-width (square) or radius (round) of a leg
ARM_HEIGHT = 0.22  # armrest above the seat
HALF_WIDTH = 0.72
TARGET_Y = 0.60
ALBEDO = 0.62
BACKGROUND = 1.0
AMBIENT, DIFFUSE = 0.42, 0.58
# the key light turns with the camera (from the viewer's upper left), as in the real renders,
# where every view of a chair is evenly lit: (right, world up, towards the viewer) weights
LIGHT_CAM = (-0.45, 0.75, 0.50)
BLUR = 0.15


def _shade(c):
    if isinstance(c, torch.Tensor):
        return c.clamp(min=0.0).mul_(DIFFUSE).add_(AMBIENT)
    return AMBIENT + DIFFUSE * np.maximum(c, 0.0)


def _boxes(back, width, leg_len, arms):
    """Axis-aligned boxes ``(lo, hi)`` of a chair, each ``(n, 3)``; legs excluded."""
    n = back.shape[0]
    hw, hd = width / 2, np.full(n, SEAT_DEPTH / 2)
    top = leg_len + SEAT_THICK
    boxes = [
        (np.stack([-hw, leg_len, -hd], 1), np.stack([hw, top, hd], 1)),  # seat
        (np.stack([-hw, top, -hd], 1), np.stack([hw, top + back, -hd + BACK_THICK], 1)),  # backrest
    ]
    if arms:
        for s in (-1.0, 1.0):
            x0, x1 = s * hw - 0.03, s * hw + 0.03
            lo_x, hi_x = np.minimum(x0, x1), np.maximum(x0, x1)
            boxes.append(
                (np.stack([lo_x, top + ARM_HEIGHT - 0.04, -hd], 1), np.stack([hi_x, top + ARM_HEIGHT, hd], 1))
            )  # armrest
            boxes.append(
                (np.stack([lo_x + 0.01, top, hd - 0.06], 1), np.stack([hi_x - 0.01, top + ARM_HEIGHT, hd - 0.02], 1))
            )  # front post
    return boxes


def _leg_positions(width):
    hw, hd = width / 2 - LEG - 0.01, np.full_like(width, SEAT_DEPTH / 2 - LEG - 0.01)
    return [(sx * hw, sz * hd) for sx in (-1, 1) for sz in (-1, 1)]


def _render_group(leg_style, arms, back, width, leg_len, az, el, px):
    n = back.shape[0]
    rays = rc.ortho_rays(az, el, (0.0, TARGET_Y, 0.0), HALF_WIDTH)
    A, B, C, D = rays
    origin, direction = rc.ray_polys(A, B, C, D, perspective=False)
    best_t = torch.full((n, px.size, px.size), rc.INF)
    shade = torch.full((n, px.size, px.size), BACKGROUND)
    # the face of a box seen on axis i faces the camera: normal -sign(D_i) e_i
    eye, right, _ = rc.camera_basis(az, el)
    light = LIGHT_CAM[0] * right + LIGHT_CAM[1] * np.array([0.0, 1.0, 0.0]) + LIGHT_CAM[2] * eye
    light /= np.linalg.norm(light, axis=1, keepdims=True)
    face_shade = [rc._t(_shade(-np.sign(D[:, i]) * light[:, i]) * ALBEDO)[:, None, None] for i in range(3)]
    boxes = _boxes(back, width, leg_len, arms)
    if leg_style == 0:
        for x, z in _leg_positions(width):
            boxes.append((np.stack([x - LEG, np.zeros(n), z - LEG], 1), np.stack([x + LEG, leg_len, z + LEG], 1)))
    for lo, hi in boxes:
        t, axis = rc.box_hit(origin, direction, lo, hi, px)
        closer = t < best_t
        best_t = torch.where(closer, t, best_t)
        s = torch.where(axis == 0, face_shade[0], torch.where(axis == 1, face_shade[1], face_shade[2]))
        shade = torch.where(closer, s, shade)
    if leg_style == 1:
        ident = np.broadcast_to(np.eye(3), (n, 3, 3))
        for x, z in _leg_positions(width):
            centre = np.stack([x, np.zeros(n), z], 1)
            loc = rc.to_local(rays, centre, ident, np.full((n, 3), LEG))
            o_l, d_l = rc.ray_polys(*loc, perspective=False)
            t = rc.quadric_hit(o_l, d_l, (0, 2), px, perspective=False)
            y = rc.eval_lin(o_l[1], px) + t * rc._t(d_l[1][:, 0])[:, None, None]
            t = torch.where((y >= 0) & (y <= rc._t(leg_len / LEG)[:, None, None]), t, torch.tensor(rc.INF))
            closer = t < best_t
            best_t = torch.where(closer, t, best_t)
            # local normal (x, 0, z) of the unit cylinder: affine in (u, v, t)
            nx = rc.eval_lin(o_l[0], px) + t * rc._t(d_l[0][:, 0])[:, None, None]
            nz = rc.eval_lin(o_l[2], px) + t * rc._t(d_l[2][:, 0])[:, None, None]
            s = _shade(nx * rc._t(light[:, 0])[:, None, None] + nz * rc._t(light[:, 2])[:, None, None]).mul_(ALBEDO)
            shade = torch.where(closer, s, shade)
    return shade


def render(
    back_height, seat_width, leg_length, leg_style, arms, azimuth_deg, elevation_deg, size: int = 64
) -> torch.Tensor:
    """Render chairs from factor values (arrays of length n). Returns uint8 ``(n, 1, size, size)``."""
    leg_style = np.asarray(leg_style).astype(np.int64)
    arms = np.asarray(arms).astype(np.int64)
    n = leg_style.shape[0]
    out = torch.empty((n, 1, size, size), dtype=torch.uint8)
    if n == 0:
        return out
    px = rc.pixels(size)
    args = [np.asarray(a, np.float64) for a in (back_height, seat_width, leg_length)]
    az = np.radians(np.asarray(azimuth_deg, np.float64))
    el = np.radians(np.asarray(elevation_deg, np.float64))
    for ls in (0, 1):
        for ar in (0, 1):
            sel = np.nonzero((leg_style == ls) & (arms == ar))[0]
            if len(sel) == 0:
                continue
            img = _render_group(ls, ar, *(a[sel] for a in args), az[sel], el[sel], px)
            out[torch.from_numpy(sel)] = rc.to_uint8(rc.blur3(img, BLUR)).unsqueeze(1)
    return out


def render_classes(classes) -> torch.Tensor:
    """Render full factor-class rows ``(n, 7)`` in :data:`NAMES` order."""
    classes = np.asarray(classes, dtype=np.int64)
    return render(*(VALUES[i][classes[:, i]] for i in range(7)))
