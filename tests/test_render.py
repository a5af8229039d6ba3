"""Ray-casting core (known answers) and the pinned bytes of all three procedural renderers."""

import hashlib
import math

import numpy as np
import pytest
import torch

from benchmark.data.render import chairs, faces, raycast as rc, scenes

# sha256 of render_classes(idx) for idx[:, i] = (arange(8) * (i + 3)) % size_i. A change here means
# the procedural data changed: bump the renderer's VERSION (caches and result rows record it).
DIGESTS = {
    scenes: "d0f50275139bb7e1f638258003fdf36bbe495dad657a3826628689236e36b467",
    faces: "2568898a776fb565eb3619265f142a5a14d65742a9025af8be6f1700a0209273",
    chairs: "9e555f9377202b561a3dd3b119a662afc9191f6fd441c2fc9f7a310fee85e62d",
}


@pytest.mark.parametrize("mod", [scenes, faces, chairs], ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_pinned_bytes_and_batch_independence(mod):
    idx = np.stack([(np.arange(8) * (i + 3)) % s for i, s in enumerate(mod.SIZES)], 1)
    out = mod.render_classes(idx)
    assert hashlib.sha256(out.numpy().tobytes()).hexdigest() == DIGESTS[mod]
    # rendering an image alone or inside a batch gives the same bytes
    assert torch.equal(mod.render_classes(idx[3:4])[0], out[3])
    assert len(mod.NAMES) == len(mod.SIZES) == len(mod.VALUES)
    assert all(len(v) == s for v, s in zip(mod.VALUES, mod.SIZES))


def test_pixel_grid():
    px = rc.pixels(4)
    assert px.u.tolist() == [-0.75, -0.25, 0.25, 0.75]
    assert px.v.tolist() == [0.75, 0.25, -0.25, -0.75]
    assert px.uv[0, 3] == pytest.approx(0.75 * 0.75)


def test_camera_basis_is_orthonormal():
    eye, right, up = rc.camera_basis([0.3, -1.0, 2.0], [0.2, 0.5, -0.4])
    for a in (eye, right, up):
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(np.einsum("ni,ni->n", eye, right), 0, atol=1e-12)
    np.testing.assert_allclose(np.einsum("ni,ni->n", eye, up), 0, atol=1e-12)
    np.testing.assert_allclose(np.cross(right, up), eye, atol=1e-12)  # right-handed: right x up = towards viewer


def test_sphere_depth_known_answer():
    # unit sphere at the origin, orthographic camera at distance 10 with half-width 2: t = 10 - sqrt(1 - r^2)
    size = 32
    px = rc.pixels(size)
    A, B, C, D = rc.ortho_rays([0.0], [0.0], (0, 0, 0), 2.0, 10.0)
    o, d = rc.ray_polys(A, B, C, D, perspective=False)
    t = rc.quadric_hit(o, d, (0, 1, 2), px, perspective=False)[0]
    u, v = np.meshgrid(px.u.numpy() * 2, px.v.numpy() * 2)
    r2 = u**2 + v**2
    inside = r2 < 1
    assert torch.equal(torch.isfinite(t), torch.from_numpy(inside))
    np.testing.assert_allclose(t.numpy()[inside], 10 - np.sqrt(1 - r2[inside]), atol=1e-4)


def test_perspective_sphere_and_box_known_answer():
    px = rc.pixels(16)
    # camera on +z at distance 5 looking at the origin: the centre ray hits the unit sphere at t = 4
    A, B, C, D = rc.perspective_rays([0.0], [0.0], (0, 0, 0), 5.0, 30.0)
    o, d = rc.ray_polys(A, B, C, D, perspective=True)
    t = rc.quadric_hit(o, d, (0, 1, 2), px, perspective=True)[0]
    centre = t[7:9, 7:9]
    dirs = np.sqrt(1 + 2 * (math.tan(math.radians(15)) / 16) ** 2)
    assert torch.allclose(centre, torch.full((2, 2), 4.0), atol=0.02 * dirs)
    assert not torch.isfinite(t[0, 0])  # corner ray misses
    # a cube [-1, 1]^3 from the same camera: entry through the +z face (axis 2) at t = 4 on the centre
    lo, hi = np.array([[-1.0, -1, -1]]), np.array([[1.0, 1, 1]])
    tb, axis = rc.box_hit(o, d, lo, hi, px)
    assert torch.allclose(tb[0, 7:9, 7:9], torch.full((2, 2), 4.0), atol=0.02)
    assert int(axis[0, 8, 8]) == 2


def test_ortho_box_faces():
    px = rc.pixels(32)
    # looking down from above (elevation 90 deg - tiny): the top face (axis 1) is what is seen
    A, B, C, D = rc.ortho_rays([0.0], [math.radians(89.0)], (0, 0, 0), 2.0)
    o, d = rc.ray_polys(A, B, C, D, perspective=False)
    t, axis = rc.box_hit(o, d, np.array([[-0.5, -0.5, -0.5]]), np.array([[0.5, 0.5, 0.5]]), px)
    hit = torch.isfinite(t[0])
    assert hit.sum() > 0 and (axis[0][hit] == 1).float().mean() > 0.9
    assert not hit[0, 0] and hit[16, 16]


def test_downsample_blur_quantise():
    x = torch.arange(16.0).view(1, 4, 4)
    assert rc.downsample(x, 2).tolist() == [[[2.5, 4.5], [10.5, 12.5]]]
    y = torch.rand(2, 8, 8)
    assert torch.allclose(rc.blur3(y, 0.0), y)
    assert rc.blur3(torch.ones(1, 5, 5), 0.2).allclose(torch.ones(1, 5, 5))
    q = rc.to_uint8(torch.tensor([-1.0, 0.0, 0.5 / 255, 1.5 / 255 - 1e-6, 1.0, 3.0]))
    assert q.tolist() == [0, 0, 1, 1, 255, 255]


def test_sqrt_of_nonpositive_is_avoided():
    # a miss is NaN, never a sqrt of a negative number (slow on x86); hits are finite and positive
    px = rc.pixels(8)
    A, B, C, D = rc.ortho_rays([0.0], [0.0], (0, 0, 0), 4.0)
    o, d = rc.ray_polys(A, B, C, D, perspective=False)
    t = rc.quadric_hit(o, d, (0, 1, 2), px, perspective=False)
    assert torch.isnan(t).sum() == 64 - 4 and (t[torch.isfinite(t)] > 0).all()
