"""Shapes3D: the official HDF5 layout (written small here), every bad-file case, the procedural scenes."""

import hashlib

import h5py
import numpy as np
import pytest
import torch

from benchmark.data import FactorGrid, load_dataset
from benchmark.data import shapes3d as s3
from benchmark.data.render import scenes
from benchmark.errors import DatasetError

# A sub-grid with official values: 2 floor hues, 2 wall hues, 2 object hues, 2 scales, 4 shapes, 3 orientations.
PICK = ([0, 5], [1, 9], [2, 7], [0, 7], [0, 1, 2, 3], [0, 7, 14])
SUB = FactorGrid.build(s3.NAMES, [len(p) for p in PICK], [v[p] for v, p in zip(scenes.VALUES, PICK)])


def sub_images():
    cl = SUB.classes(np.arange(SUB.num_images))
    return scenes.render(*(SUB.values[i][cl[:, i]] for i in range(6)))  # (N, 3, 64, 64)


def write_h5(path, images=None, labels=None, grid=SUB, **kw):
    if images is None:
        images = sub_images().permute(0, 2, 3, 1).numpy()
    if labels is None:
        cl = grid.classes(np.arange(grid.num_images))
        labels = np.stack([grid.values[i][cl[:, i]] for i in range(6)], 1)
    with h5py.File(path, "w") as f:
        if images is not False:
            f.create_dataset("images", data=images, **kw)
        if labels is not False:
            f.create_dataset("labels", data=labels)
    return path


@pytest.fixture(scope="module")
def h5file(tmp_path_factory):
    return write_h5(tmp_path_factory.mktemp("s3") / "3dshapes.h5", chunks=(1, 64, 64, 3))


def test_grid_matches_official_layout():
    g = s3.GRID
    assert g.sizes == (10, 10, 10, 8, 4, 15) and g.num_images == 480000
    assert g.bases.tolist() == [48000, 4800, 480, 60, 15, 1]
    idx = np.random.default_rng(0).integers(0, g.num_images, 1000)
    assert np.array_equal(g.index(g.classes(idx)), idx)
    np.testing.assert_allclose(g.values[3], np.linspace(0.75, 1.25, 8))
    np.testing.assert_allclose(g.values[5], np.linspace(-30, 30, 15))
    np.testing.assert_allclose(g.values[0], np.arange(10) / 10)


@pytest.mark.parametrize("lazy", [False, True])
def test_official_file_round_trip(h5file, lazy):
    ds = s3.load_official(h5file, lazy=lazy, grid=SUB)
    want = sub_images()
    assert ds.provenance.source == "official" and len(ds.provenance.sha256) == 64
    idx = np.array([5, 3, 3, 0, SUB.num_images - 1])  # unsorted, repeated: lazy reads sort and dedupe
    assert torch.equal(ds.uint8(idx), want[idx])
    assert torch.equal(ds.images, want)
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (SUB.num_images, 3, 64, 64)
    x = ds.observe(idx)
    assert x.dtype == torch.float32 and float(x.max()) <= 1.0
    # the file's own label values become the grid values
    np.testing.assert_allclose(ds.grid.values[3], SUB.values[3])


def _load(path):
    return s3.load_official(path, grid=SUB, checksum=False)


def test_bad_files(tmp_path):
    imgs = sub_images().permute(0, 2, 3, 1).numpy()
    n = SUB.num_images
    cases = {
        "no_images": dict(images=False),
        "no_labels": dict(labels=False),
        "float_images": dict(images=imgs.astype(np.float32)),
        "wrong_shape": dict(images=imgs[:, :32]),
        "short": dict(images=imgs[:-1]),
        "labels_int_shape": dict(labels=np.zeros((n, 5))),
        "labels_too_few_values": dict(labels=np.zeros((n, 6))),
    }
    for name, kw in cases.items():
        p = write_h5(tmp_path / f"{name}.h5", **kw)
        with pytest.raises(DatasetError) as e:
            _load(p)
        msg = str(e.value)
        assert str(p) in msg and "3d-shapes" in msg and "\n" not in msg, name
    # labels permuted: right values, wrong order
    cl = SUB.classes(np.arange(n))
    labels = np.stack([SUB.values[i][cl[:, i]] for i in range(6)], 1)[::-1].copy()
    with pytest.raises(DatasetError, match="row-major"):
        _load(write_h5(tmp_path / "perm.h5", labels=labels))
    # not HDF5 at all, and a truncated file
    (tmp_path / "junk.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(DatasetError, match="cannot open"):
        _load(tmp_path / "junk.h5")
    good = write_h5(tmp_path / "good.h5")
    data = good.read_bytes()
    (tmp_path / "trunc.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated|corrupt"):
        _load(tmp_path / "trunc.h5")


def test_source_selection(tmp_path, capsys):
    with pytest.raises(DatasetError, match="3dshapes.h5"):
        load_dataset("shapes3d", data_dir=tmp_path, source="official")
    ds = load_dataset("shapes3d", data_dir=tmp_path)  # auto: procedural with a notice
    assert ds.provenance.source == "procedural" and "notice" in capsys.readouterr().err
    with pytest.raises(DatasetError, match="unknown data source 'nope' for shapes3d"):
        load_dataset("shapes3d", data_dir=tmp_path, source="nope")


# ------------------------------------------------------------------------------------------------
# Procedural scenes
# ------------------------------------------------------------------------------------------------
def _scene(**over):
    base = dict(floor_hue=0, wall_hue=3, object_hue=6, scale=4, shape=0, orientation=7)
    base.update(over)
    cl = np.array([[base[n] for n in s3.NAMES]])
    return scenes.render_classes(cl)[0]


def test_procedural_dataset_index_round_trip():
    ds = load_dataset("shapes3d-procedural")
    assert ds.grid.sizes == s3.SIZES and ds.channels == 3 and not ds.is_materialised
    idx = np.array([0, 123456, 479999])
    cl = ds.grid.classes(idx)
    assert torch.equal(ds.uint8(idx), scenes.render_classes(cl))
    assert ds.uint8(idx).shape == (3, 3, 64, 64)


def test_procedural_is_deterministic():
    idx = np.arange(0, 480000, 4801)
    ds = load_dataset("shapes3d-procedural")
    a, b = ds.uint8(idx), ds.uint8(idx[::-1])
    assert torch.equal(a, b.flip(0))  # same bytes regardless of batch composition
    assert (
        hashlib.sha256(a.numpy().tobytes()).hexdigest() == hashlib.sha256(ds.uint8(idx).numpy().tobytes()).hexdigest()
    )


def test_each_colour_factor_changes_only_its_region():
    base = _scene()
    floor = (_scene(floor_hue=5) != base).any(0)
    wall = (_scene(wall_hue=8) != base).any(0)
    obj = (_scene(object_hue=1) != base).any(0)
    for m in (floor, wall, obj):
        assert m.sum() > 100
    # colour regions are disjoint apart from anti-aliased boundary pixels
    assert (floor & wall).sum() < 70 and (floor & obj).sum() < 70 and (wall & obj).sum() < 70
    # the floor is below the wall; the object is in the middle
    rows = torch.arange(64)[:, None].expand(64, 64).float()
    assert rows[floor].mean() > rows[wall].mean() + 15
    assert 16 < rows[obj].mean() < 56 and obj[:, :8].sum() == 0 and obj[:, -8:].sum() == 0


def test_scale_shape_orientation_change_object_not_colours():
    base = _scene()
    big = _scene(scale=7)

    # a bigger object covers more pixels of the object colour (hue 0.6 -> blue dominant)
    def obj_px(img):
        return ((img[2].int() - img[0].int() > 60) & (img[2].int() - img[1].int() > 60)).sum()

    assert obj_px(big) > obj_px(base) * 1.3
    shapes = [_scene(shape=k) for k in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.equal(shapes[i], shapes[j])
    # orientation turns the room: the wall/floor boundary moves
    assert (_scene(orientation=0) != _scene(orientation=14)).any(0).float().mean() > 0.05


def test_hue_colours_are_saturated():
    rgb = scenes.rc.hue_rgb(np.array([0.0, 1 / 3, 2 / 3, 0.5]))
    np.testing.assert_allclose(rgb, [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1]], atol=1e-12)
