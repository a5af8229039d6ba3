"""3D faces: the beta-TCVAE .pth layout (written small here), bad files, the procedural heads."""

import numpy as np
import pytest
import torch

from benchmark.data import load_dataset
from benchmark.data import faces3d as f3
from benchmark.data.render import faces
from benchmark.errors import DatasetError

N1 = 21 * 11 * 11  # images of one identity


def pattern(n):
    """Distinct, checkable images: image i holds (i * 7 + pixel) % 256."""
    i = torch.arange(n, dtype=torch.int64)[:, None, None]
    pix = torch.arange(4096, dtype=torch.int64).view(64, 64)[None]
    return ((i * 7 + pix) % 256).to(torch.uint8)


def test_grid_is_the_beta_tcvae_layout():
    g = f3.GRID
    assert g.names == ("identity", "azimuth", "elevation", "lighting")
    assert g.sizes == (50, 21, 11, 11) and g.num_images == 127050
    assert g.bases.tolist() == [2541, 121, 11, 1]
    idx = np.random.default_rng(1).integers(0, g.num_images, 500)
    assert np.array_equal(g.index(g.classes(idx)), idx)


@pytest.mark.parametrize("form", ["uint8_flat", "uint8_6d", "float255"])
def test_official_file_round_trip(tmp_path, form):
    imgs = pattern(2 * N1)
    obj = {"uint8_flat": imgs, "uint8_6d": imgs.view(2, 21, 11, 11, 64, 64), "float255": imgs.float()}[form]
    torch.save(obj, tmp_path / f3.FILE_NAME)
    ds = f3.load_official(tmp_path / f3.FILE_NAME, identities=2)
    assert ds.grid.sizes == (2, 21, 11, 11) and ds.images.shape == (2 * N1, 1, 64, 64)
    assert torch.equal(ds.images[:, 0], imgs)
    # index (identity 1, azimuth 3, elevation 4, lighting 5) is row 1*2541 + 3*121 + 4*11 + 5
    i = ds.grid.index([[1, 3, 4, 5]])[0]
    assert i == 2541 + 363 + 44 + 5 and torch.equal(ds.uint8([i])[0, 0], imgs[i])
    assert ds.provenance.source == "official" and len(ds.provenance.sha256) == 64


def test_bad_files(tmp_path):
    p = tmp_path / "f.pth"
    cases = [
        ({"images": pattern(N1)}, "holds a dict"),
        (pattern(N1 - 1), "values"),
        (pattern(N1).float() / 255.0, r"\[0, 1\]"),
        (pattern(N1).float() * 2.0, "0-255"),
        (pattern(N1).to(torch.bool), "dtype"),
    ]
    for obj, match in cases:
        torch.save(obj, p)
        with pytest.raises(DatasetError, match=match) as e:
            f3.read_file(p, identities=1)
        assert str(p) in str(e.value) and "\n" not in str(e.value)
    p.write_bytes(b"garbage, not a torch file")
    with pytest.raises(DatasetError, match="weights_only"):
        f3.read_file(p, identities=1)
    # arbitrary pickled objects are refused by weights_only=True, as one clear error
    import collections

    torch.save(collections.Counter(a=1), p)
    with pytest.raises(DatasetError):
        f3.read_file(p, identities=1)
    torch.save(pattern(N1), p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(DatasetError):
        f3.read_file(p, identities=1)


def test_source_selection(tmp_path, capsys):
    with pytest.raises(DatasetError, match=f3.FILE_NAME):
        load_dataset("faces3d", data_dir=tmp_path, source="official")
    ds = load_dataset("faces3d", data_dir=tmp_path)
    assert ds.provenance.source == "procedural" and ds.grid.sizes == f3.SIZES
    assert "notice" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# Procedural heads
# ------------------------------------------------------------------------------------------------
def _head(identity=3, az=10, el=5, light=5, blur=faces.BLUR):
    return faces.render([identity], [faces.VALUES[1][az]], [faces.VALUES[2][el]], [faces.VALUES[3][light]], blur=blur)[
        0, 0
    ]


def test_procedural_dataset_round_trip():
    ds = load_dataset("faces3d-procedural")
    assert ds.grid.sizes == (50, 21, 11, 11) and ds.channels == 1 and not ds.is_materialised
    idx = np.array([0, 77777, 127049])
    assert torch.equal(ds.uint8(idx), faces.render_classes(ds.grid.classes(idx)))


def test_lighting_changes_shading_not_silhouette():
    a, b = _head(light=0, blur=0), _head(light=10, blur=0)
    assert torch.equal(a > 0, b > 0)  # same silhouette (background is exactly 0)
    assert (a != b).float().mean() > 0.2
    # the light from the viewer's left makes the left half brighter
    left, right = slice(0, 32), slice(32, 64)
    assert a[:, left].float().mean() > a[:, right].float().mean() + 10
    assert b[:, right].float().mean() > b[:, left].float().mean() + 10


def test_pose_and_identity_change_the_silhouette():
    base = _head(blur=0) > 0
    for kw in (dict(az=0), dict(el=0), dict(identity=17)):
        assert (base != (_head(blur=0, **kw) > 0)).sum() > 20, kw
    # a frontal head is left-right symmetric under frontal light (mirror-symmetric identities)
    front = _head(az=10, el=5, light=5, blur=0)
    assert (front.flip(1).int() - front.int()).abs().float().mean() < 3.0


def test_head_fills_the_frame_on_black():
    img = _head()
    assert img[0, :].max() < 40 or img[:, 0].max() == 0  # background black at the borders
    assert 0.3 < (img > 0).float().mean() < 0.8


def test_identities_are_seeded_and_distinct():
    a = faces.identity_params()
    b = faces.identity_params()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    centres = a[0]
    assert len({c.tobytes() for c in centres}) == 50
