"""Parametric heads: a stand-in for the Basel-face renders of the beta-VAE / beta-TCVAE papers.

Each head is a union of ellipsoids (cranium, face, jaw, chin, cheeks, brow, nose bridge and tip,
eyes, lips, ears, neck) whose centres, semi-axes and albedo are perturbed per identity from
seeded shape parameters (``numpy.random.default_rng(SEED)``; 50 identities). It is rendered in
orthographic projection under 21 azimuths x 11 elevations x 11 light directions with Lambertian
shading, grey on black, 64 x 64, like the real renders.

Factor values: azimuth linspace(-90, 90, 21) degrees (profile to profile; the head turns),
elevation linspace(-30, 30, 11) degrees (camera above/below), lighting linspace(-90, 90, 11)
degrees (the light's azimuth in the camera frame, from the viewer's left to right, 15 degrees
above the horizon). Storage order (identity, azimuth, elevation, lighting) as in the beta-TCVAE
code's ``view(50, 21, 11, 11, ...)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from benchmark.data.render import raycast as rc

GENERATOR = "benchmark.data.render.faces"
VERSION = "1"
SEED = 20170301

NAMES = ("identity", "azimuth", "elevation", "lighting")
SIZES = (50, 21, 11, 11)
VALUES = (
    np.arange(50, dtype=np.float64),
    np.linspace(-90.0, 90.0, 21),
    np.linspace(-30.0, 30.0, 11),
    np.linspace(-90.0, 90.0, 11),
)

HALF_WIDTH = 0.90  # orthographic half-width of the view in head units
TARGET = (0.0, -0.04, 0.0)
AMBIENT, DIFFUSE = 0.18, 0.82
LIGHT_EL = math.radians(15.0)
SUPERSAMPLE = 1
BLUR = 0.12  # a light [w, 1-2w, w] blur stands in for the real renders' anti-aliasing

# name: centre (x, y, z), semi-axes (x, y, z), tilt about x (degrees, + tips the top forward), albedo.
# Paired parts are mirrored in x. Head frame: x to the head's left on screen at azimuth 0, y up,
# z out of the face (towards a camera at azimuth 0).
PARTS = (
    ("cranium", (0.0, 0.22, -0.10), (0.60, 0.66, 0.70), 0.0, 0.80),
    ("face", (0.0, -0.05, 0.12), (0.52, 0.62, 0.55), 0.0, 0.80),
    ("jaw", (0.0, -0.40, 0.10), (0.40, 0.32, 0.46), 0.0, 0.80),
    ("chin", (0.0, -0.62, 0.33), (0.18, 0.12, 0.16), 0.0, 0.80),
    ("cheek", (0.26, -0.16, 0.30), (0.21, 0.19, 0.22), 0.0, 0.80),
    ("brow", (0.19, 0.19, 0.44), (0.21, 0.085, 0.17), 0.0, 0.78),
    ("eye", (0.19, 0.07, 0.47), (0.09, 0.06, 0.07), 0.0, 0.18),
    ("bridge", (0.0, 0.0, 0.60), (0.075, 0.19, 0.09), -22.0, 0.82),
    ("nose", (0.0, -0.12, 0.64), (0.10, 0.12, 0.13), 10.0, 0.82),
    ("lips", (0.0, -0.38, 0.54), (0.18, 0.06, 0.08), 0.0, 0.50),
    ("ear", (0.56, -0.02, -0.08), (0.07, 0.17, 0.11), 0.0, 0.76),
    ("neck", (0.0, -0.74, -0.16), (0.27, 0.32, 0.28), 0.0, 0.72),
)


def _expand_parts():
    """Mirror paired parts: list of (name, centre, axes, tilt_deg, albedo)."""
    out = []
    for name, c, a, tilt, alb in PARTS:
        if c[0] != 0.0:
            out.append((name + "_r", (-c[0], c[1], c[2]), a, tilt, alb))
            out.append((name + "_l", c, a, tilt, alb))
        else:
            out.append((name, c, a, tilt, alb))
    return out


PRIMS = _expand_parts()
K = len(PRIMS)


def identity_params(num: int = 50, seed: int = SEED):
    """Per-identity centres ``(num, K, 3)``, semi-axes ``(num, K, 3)``, tilts ``(num, K)``, albedo ``(num, K)``.

    Global head width/height/depth factors and per-part jitter, drawn once from ``seed``; paired
    parts stay mirror-symmetric.
    """
    rng = np.random.default_rng(seed)
    base_c = np.array([p[1] for p in PRIMS])
    base_a = np.array([p[2] for p in PRIMS])
    base_t = np.array([p[3] for p in PRIMS])
    base_alb = np.array([p[4] for p in PRIMS])
    names = [p[0].rsplit("_", 1)[0] if p[0].endswith(("_l", "_r")) else p[0] for p in PRIMS]
    parts = list(dict.fromkeys(names))
    centres = np.empty((num, K, 3))
    axes = np.empty((num, K, 3))
    tilts = np.empty((num, K))
    albedo = np.empty((num, K))
    for i in range(num):
        head = rng.uniform([0.90, 0.92, 0.92], [1.10, 1.08, 1.08])  # global width, height, depth
        jitter_a = {p: rng.uniform(0.88, 1.12, size=3) for p in parts}
        jitter_c = {p: rng.normal(0.0, 0.018, size=3) for p in parts}
        jitter_t = {p: rng.normal(0.0, 6.0) for p in parts}
        tone = rng.uniform(0.85, 1.12)
        for k, p in enumerate(names):
            jc = jitter_c[p].copy()
            if PRIMS[k][0].endswith("_r"):
                jc[0] = -jc[0]
            if base_c[k, 0] == 0.0:
                jc[0] = 0.0  # keep midline parts on the midline
            centres[i, k] = (base_c[k] + jc) * head
            axes[i, k] = base_a[k] * jitter_a[p] * head
            tilts[i, k] = base_t[k] + jitter_t[p]
            albedo[i, k] = min(base_alb[k] * tone, 0.95) if base_alb[k] > 0.5 else base_alb[k]
    return centres, axes, tilts, albedo


_PARAMS = None


def _params():
    global _PARAMS
    if _PARAMS is None:
        _PARAMS = identity_params()
    return _PARAMS


def light_dirs(lighting_deg) -> np.ndarray:
    """Unit light directions ``(n, 3)`` in camera coordinates (right, up, towards the viewer)."""
    ca, sa = rc.trig(np.radians(lighting_deg))
    ce, se = math.cos(LIGHT_EL), math.sin(LIGHT_EL)
    return np.stack([sa * ce, np.full_like(ca, se), ca * ce], axis=1)


def render(
    identity,
    azimuth_deg,
    elevation_deg,
    lighting_deg,
    supersample: int = SUPERSAMPLE,
    size: int = 64,
    blur: float = BLUR,
) -> torch.Tensor:
    """Render heads from factor values (arrays of length n). Returns uint8 ``(n, 1, size, size)``.

    ``blur=0`` gives the unfiltered render (tests use it to compare silhouettes exactly).
    """
    identity = np.asarray(identity).astype(np.int64)
    n = identity.shape[0]
    if n == 0:
        return torch.empty((0, 1, size, size), dtype=torch.uint8)
    px = rc.pixels(size * supersample)
    centres, axes, tilts, albedo = (p[identity] for p in _params())
    # the head turns by -azimuth (so positive azimuth shows the head's left side)
    az = np.radians(np.asarray(azimuth_deg, np.float64))
    el = np.radians(np.asarray(elevation_deg, np.float64))
    A, B, C, D = rc.ortho_rays(az, el, TARGET, HALF_WIDTH)
    eye, right, up = rc.camera_basis(az, el)
    Lc = light_dirs(lighting_deg)
    Lw = Lc[:, :1] * right + Lc[:, 1:2] * up + Lc[:, 2:3] * eye  # world light direction
    # every primitive's depth; row 0 is "no hit" (inf), primitive k is row k + 1
    ts = torch.empty((K + 1, n, px.size, px.size))
    ts[0].fill_(rc.INF)
    # per image-primitive shading coefficients: n.L numerator terms and normal components
    coef = np.zeros((n, K + 1, 12))
    for k in range(K):
        rot = rc.rot_x(np.radians(tilts[:, k]))
        loc = rc.to_local((A, B, C, D), centres[:, k], rot, axes[:, k])
        origin, direction = rc.ray_polys(*loc, perspective=False)
        # a miss is +inf, so it never wins the min below
        rc.quadric_hit(origin, direction, (0, 1, 2), px, perspective=False, miss=rc.INF, out=ts[k + 1])
        # world normal ~ rot diag(1/axes) q with q = A' + u B' + v C' + t D' the unit-sphere point
        m = rot / axes[:, k][:, None, :]  # (n, 3, 3): rot @ diag(1/axes)
        for j, vec in enumerate(loc):  # A', B', C', D'
            coef[:, k + 1, 3 * j : 3 * j + 3] = np.einsum("nij,nj->ni", m, vec)
    # gather the winning primitive's normal terms per pixel and shade
    table = torch.from_numpy(coef.astype(np.float32))  # (n, K+1, 12)
    # nearest hit per pixel: min over rows returns the first of equal depths, so earlier primitives
    # win exact ties, and pixels that no primitive hits get row 0 (all depths inf)
    best_t, best_k = torch.min(ts, dim=0)
    flat = best_k.view(n, -1)
    g = torch.gather(table, 1, flat[:, :, None].expand(-1, -1, 12)).view(n, px.size, px.size, 12)
    t = torch.where(best_k > 0, best_t, torch.tensor(0.0))
    u = px.u[None, None, :]
    v = px.v[None, :, None]
    nrm = [g[..., i] + u * g[..., 3 + i] + v * g[..., 6 + i] + t * g[..., 9 + i] for i in range(3)]
    Lt = torch.from_numpy(Lw.astype(np.float32))
    ndotl = nrm[0] * Lt[:, 0, None, None] + nrm[1] * Lt[:, 1, None, None] + nrm[2] * Lt[:, 2, None, None]
    norm2 = nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]
    lam = ndotl.clamp(min=0.0) / torch.sqrt(norm2.clamp(min=1e-12))
    alb = torch.from_numpy(np.concatenate([np.zeros((n, 1)), albedo], 1).astype(np.float32))
    a = torch.gather(alb, 1, flat).view(n, px.size, px.size)
    img = a * (lam * DIFFUSE + AMBIENT)
    img = rc.downsample(img, supersample)
    if supersample == 1 and blur > 0:
        img = rc.blur3(img, blur)
    return rc.to_uint8(img).unsqueeze(1)


def render_classes(classes) -> torch.Tensor:
    """Render full factor-class rows ``(n, 4)``: identity, azimuth, elevation, lighting."""
    classes = np.asarray(classes, dtype=np.int64)
    return render(classes[:, 0], VALUES[1][classes[:, 1]], VALUES[2][classes[:, 2]], VALUES[3][classes[:, 3]])
