"""3D chairs: the rendered_chairs tree (written small here), bad trees, the procedural chairs."""

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.data import load_dataset
from benchmark.data import chairs3d as c3
from benchmark.data.render import chairs
from benchmark.errors import DatasetError

AZ = [round(k * 360 / 31) for k in range(31)]


def level(chair, a, e):
    return (chair * 97 + a * 5 + e * 3 + 11) % 256


def write_tree(root, names=("1a2b", "0c3d", "9f00"), size=30, skip=None, extra=None):
    """A rendered_chairs tree: each render is a constant grey level encoding (chair, azimuth, elevation)
    on a white border (outside the centred 2/3 crop)."""
    for c, name in enumerate(sorted(names)):
        d = root / c3.DIR_NAME / name / "renders"
        d.mkdir(parents=True)
        k = 0
        for a, t in enumerate(AZ):
            for e, p in enumerate((20, 30)):
                k += 1
                if skip == (c, a, e):
                    continue
                img = np.full((size, size, 3), 255, np.uint8)
                img[5:25, 5:25] = level(c, a, e)
                Image.fromarray(img).save(d / f"image_{k:03d}_p{p:03d}_t{t:03d}_r096.png")
        if extra and c == 0:
            extra(d)
    (root / c3.DIR_NAME / "all_chair_names.mat").write_bytes(b"ignored")
    return root


def test_tree_round_trip(tmp_path):
    root = write_tree(tmp_path)
    ds = c3.load_official(root, num_chairs=3, progress=False)
    assert ds.grid.sizes == (3, 31, 2) and ds.images.shape == (186, 1, 64, 64)
    assert ds.chair_names == ["0c3d", "1a2b", "9f00"]
    np.testing.assert_array_equal(ds.grid.values[1], AZ)
    np.testing.assert_array_equal(ds.grid.values[2], [20, 30])
    for c in range(3):
        for a in (0, 13, 30):
            for e in (0, 1):
                img = ds.uint8(ds.grid.index([[c, a, e]]))[0, 0]
                # the centred 2/3 crop keeps only the grey square: a constant image after resizing
                assert abs(int(img[32, 32]) - level(c, a, e)) <= 1 and int(img.max()) - int(img.min()) <= 2
    assert (root / c3.CACHE_NAME).exists()
    # second load reads the cache (decoding is skipped) and gives the same bytes
    again = c3.load_official(root, num_chairs=3, progress=False)
    assert torch.equal(again.images, ds.images)
    # a changed file (different size) invalidates the cache
    f = root / c3.DIR_NAME / "0c3d" / "renders" / f"image_001_p020_t{AZ[0]:03d}_r096.png"
    img = np.full((36, 36, 3), 255, np.uint8)
    img[6:30, 6:30] = 200
    Image.fromarray(img).save(f)
    third = c3.load_official(root, num_chairs=3, progress=False)
    assert abs(int(third.uint8([0])[0, 0, 32, 32]) - 200) <= 1
    assert torch.equal(third.images[1:], ds.images[1:])


def test_bad_trees(tmp_path):
    def expect(root, match, num=3):
        with pytest.raises(DatasetError, match=match) as e:
            c3.load_official(root, num_chairs=num, progress=False)
        assert "\n" not in str(e.value)

    expect(tmp_path / "nothing", "not a folder")
    expect(write_tree(tmp_path / "a"), "expected 1393", num=1393)
    expect(write_tree(tmp_path / "b", skip=(1, 4, 0)), "61 renders")
    expect(
        write_tree(tmp_path / "c", extra=lambda d: (d / "image_999_p045_t000_r096.png").write_bytes(b"x")), "elevations"
    )
    expect(write_tree(tmp_path / "d", extra=lambda d: (d / "weird.png").write_bytes(b"x")), "unexpected file name")
    root = write_tree(tmp_path / "e")
    bad = next((root / c3.DIR_NAME / "1a2b" / "renders").glob("*.png"))
    bad.write_bytes(b"\x89PNG truncated")
    expect(root, "cannot decode")
    root = write_tree(tmp_path / "f")
    (root / c3.DIR_NAME / "0c3d" / "renders").rename(root / c3.DIR_NAME / "0c3d" / "other")
    expect(root, "renders: missing")
    with pytest.raises(DatasetError, match="chairs3d-procedural"):
        load_dataset("chairs3d", data_dir=tmp_path / "empty")


# ------------------------------------------------------------------------------------------------
# Procedural chairs
# ------------------------------------------------------------------------------------------------
def _chair(**over):
    base = dict(back_height=2, seat_width=1, leg_length=1, leg_style=0, arms=0, azimuth=4, elevation=0)
    base.update(over)
    return chairs.render_classes(np.array([[base[n] for n in chairs.NAMES]]))[0, 0]


def test_procedural_grid_and_round_trip():
    ds = load_dataset("chairs3d-procedural")
    assert ds.grid.names == chairs.NAMES and ds.grid.sizes == (4, 3, 3, 2, 2, 31, 2)
    assert ds.grid.num_images == 144 * 62
    np.testing.assert_allclose(ds.grid.values[6], [20, 30])
    np.testing.assert_allclose(ds.grid.values[5], np.arange(31) * 360 / 31)
    idx = np.array([0, 4000, ds.grid.num_images - 1])
    assert torch.equal(ds.uint8(idx), chairs.render_classes(ds.grid.classes(idx)))


def test_every_factor_changes_the_chair_on_white():
    base = _chair()
    assert int(base[0, 0]) == 255 and int(base[-1, -1]) == 255  # white background
    assert 0.08 < (base < 250).float().mean() < 0.6
    for name, value in (
        ("back_height", 3),
        ("seat_width", 2),
        ("leg_length", 2),
        ("leg_style", 1),
        ("arms", 1),
        ("azimuth", 10),
        ("elevation", 1),
    ):
        other = _chair(**{name: value})
        assert (other != base).sum() > 5, name
    # a taller back reaches higher in the image; arms add pixels
    top = lambda img: int(torch.nonzero((img < 250).any(1))[0])  # noqa: E731
    assert top(_chair(back_height=3)) < top(_chair(back_height=0))
    assert (_chair(arms=1) < 250).sum() > (base < 250).sum()
