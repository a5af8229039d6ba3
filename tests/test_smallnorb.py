"""smallNORB: the NYU binary matrix format (full header, tiny payloads), grid assembly, bad files."""

import numpy as np
import pytest
import torch

from benchmark.data import FactorGrid, get_spec, load_dataset
from benchmark.data import smallnorb as sn
from benchmark.errors import DatasetError

# A declared small grid: category 2, instance 3, elevation 2, azimuth 2, lighting 2 (instance nuisance).
SMALL = FactorGrid.build(sn.NAMES, (2, 3, 2, 2, 2), latent=sn.LATENT)


def halves(grid=SMALL, size=24):
    """Two parts in the official layout, rows shuffled, each image a constant level of its grid index."""
    rows = grid.classes(np.arange(grid.num_images))
    perm = np.random.default_rng(0).permutation(len(rows))
    rows = rows[perm]
    parts = []
    for sel in (slice(0, len(rows) // 2), slice(len(rows) // 2, None)):
        r = rows[sel]
        idx = r @ grid.bases
        dat = np.zeros((len(r), 2, size, size), np.uint8)
        dat[:, 0] = (idx * 5 % 256)[:, None, None]
        dat[:, 1] = 255  # camera 1 must be ignored
        cat = r[:, 0].astype(np.int32)
        info = np.stack([r[:, 1], r[:, 2], r[:, 3] * 2, r[:, 4]], 1).astype(np.int32)
        parts.append((dat, cat, info))
    return parts


def write(root, parts):
    for prefix, (dat, cat, info) in zip(sn.PREFIXES, parts):
        d = root / sn.SUBDIR
        sn.write_matrix(d / f"{prefix}-dat.mat", dat)
        sn.write_matrix(d / f"{prefix}-cat.mat", cat)
        sn.write_matrix(d / f"{prefix}-info.mat", info)
    return root


def test_official_grid():
    g = sn.GRID
    assert g.sizes == (5, 10, 9, 18, 6) and g.num_images == 48600
    assert g.latent == (0, 2, 3, 4) and g.latent_sizes == (5, 9, 18, 6)
    spec = get_spec("smallnorb")
    assert spec.latent == (0, 2, 3, 4)
    # instance is redrawn for every observation
    rng = np.random.default_rng(0)
    full = g.complete(np.zeros((2000, 4), np.int64), rng)
    assert len(np.unique(full[:, 1])) == 10


def test_header_format_bytes(tmp_path):
    p = sn.write_matrix(tmp_path / "x.mat", np.arange(6, dtype=np.int32))
    raw = p.read_bytes()
    # magic 0x1E3D4C54 (int32), ndim 1, three dims (6, 1, 1), then the payload
    assert np.frombuffer(raw[:20], "<i4").tolist() == [0x1E3D4C54, 1, 6, 1, 1]
    assert sn.read_matrix(p).tolist() == list(range(6))
    p = sn.write_matrix(tmp_path / "y.mat", np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4))
    raw = p.read_bytes()
    assert np.frombuffer(raw[:24], "<i4").tolist() == [0x1E3D4C55, 4, 1, 2, 3, 4]
    np.testing.assert_array_equal(sn.read_matrix(p), np.arange(24).reshape(1, 2, 3, 4))


def test_round_trip(tmp_path):
    root = write(tmp_path, halves())
    ds = sn.load(root, grid=SMALL, progress=False)
    assert ds.grid.sizes == SMALL.sizes and ds.images.shape == (SMALL.num_images, 1, 64, 64)
    want = np.arange(SMALL.num_images) * 5 % 256
    np.testing.assert_array_equal(ds.images[:, 0, 32, 32].numpy(), want)
    assert int(ds.images.max()) < 255  # camera 0 only
    assert (root / sn.SUBDIR / sn.CACHE_NAME).exists()
    again = sn.load(root, grid=SMALL, progress=False)
    assert torch.equal(again.images, ds.images)


def test_resize_is_antialiased():
    img = np.zeros((96, 96), np.uint8)
    img[:, ::2] = 255  # 1-pixel stripes average out instead of aliasing
    out = sn.common.resize_grey(img, 64)
    assert out.shape == (64, 64) and 100 < out[10:-10, 10:-10].mean() < 155


def test_bad_files(tmp_path):
    p = tmp_path / "m.mat"

    def expect(match):
        with pytest.raises(DatasetError, match=match) as e:
            sn.read_matrix(p)
        assert str(p) in str(e.value) and "\n" not in str(e.value)

    p.write_bytes(b"\x00\x01")
    expect("too short")
    p.write_bytes(np.array([12345, 1, 3, 1, 1], "<i4").tobytes() + b"abc")
    expect("magic number 12345")
    p.write_bytes(b"\x1f\x8b" + b"\x00" * 30)
    expect("gunzip")
    p.write_bytes(np.array([0x1E3D4C55, 2, 3, 4, 1], "<i4").tobytes() + b"x" * 11)
    expect("truncated or corrupt")
    p.write_bytes(np.array([0x1E3D4C55, 99], "<i4").tobytes())
    expect("99 dimensions")
    p.write_bytes(np.array([0x1E3D4C55, 2, 3], "<i4").tobytes())
    expect("truncated header")


def test_bad_sets(tmp_path):
    with pytest.raises(DatasetError, match="no official file for smallnorb .*data download smallnorb"):
        load_dataset("smallnorb", data_dir=tmp_path)
    (tmp_path / sn.SUBDIR).mkdir()
    sn.files(tmp_path)[0][0].write_bytes(b"")  # one file of six: the others are named
    with pytest.raises(DatasetError, match="missing 5 smallNORB"):
        load_dataset("smallnorb", data_dir=tmp_path)
    parts = halves()
    # a duplicated grid cell (and so a gap)
    dat, cat, info = parts[1]
    info = info.copy()
    info[0] = parts[0][2][0]
    cat = cat.copy()
    cat[0] = parts[0][1][0]
    with pytest.raises(DatasetError, match=r"smallNORB files in .*small_norb hold .*duplicates or gaps"):
        sn.load(write(tmp_path / "a", [parts[0], (dat, cat, info)]), grid=SMALL, progress=False)
    # odd azimuth
    info = parts[0][2].copy()
    info[0, 2] = 3
    with pytest.raises(DatasetError, match="odd azimuth"):
        sn.load(write(tmp_path / "b", [(parts[0][0], parts[0][1], info), parts[1]]), grid=SMALL, progress=False)
    # category outside the grid
    cat = parts[0][1].copy()
    cat[0] = 7
    with pytest.raises(DatasetError, match="outside the grid"):
        sn.load(write(tmp_path / "c", [(parts[0][0], cat, parts[0][2]), parts[1]]), grid=SMALL, progress=False)
    # wrong dtypes / shapes
    with pytest.raises(DatasetError, match="int32 categories"):
        sn.load(
            write(tmp_path / "d", [(parts[0][0], parts[0][1][:-1], parts[0][2]), parts[1]]), grid=SMALL, progress=False
        )
    with pytest.raises(DatasetError, match=r"\(n, 2, 96, 96\)"):
        sn.load(
            write(tmp_path / "e", [(parts[0][0][:, :1], parts[0][1], parts[0][2]), parts[1]]),
            grid=SMALL,
            progress=False,
        )
