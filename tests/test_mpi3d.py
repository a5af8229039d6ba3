"""MPI3D: the npz layout (memory-mapped or compressed), release detection by size, bad files."""

import zipfile

import numpy as np
import pytest
import torch

from benchmark.data import get_spec, load_dataset
from benchmark.data import mpi3d
from benchmark.errors import DatasetError

SMALL = (2, 2, 2, 3, 3, 2, 2)  # a declared small grid for the tests (same factor order)
N = int(np.prod(SMALL))


def images(n=N):
    i = np.arange(n, dtype=np.int64)[:, None, None, None]
    y = np.arange(64)[None, :, None, None]
    c = np.arange(3)[None, None, None, :]
    return ((i * 5 + y + 50 * c) % 256).astype(np.uint8) * np.ones((1, 1, 64, 1), np.uint8)


def test_release_grids():
    g = mpi3d.grid_for_count(1036800, "x", "mpi3d_toy")
    assert g.sizes == (6, 6, 2, 3, 3, 40, 40) and g.names[0] == "object_color"
    g = mpi3d.grid_for_count(460800, "x", "mpi3d_toy")
    assert g.sizes == (4, 4, 2, 3, 3, 40, 40)
    assert g.bases.tolist() == [115200, 28800, 14400, 4800, 1600, 40, 1]
    with pytest.raises(DatasetError, match="neither MPI3D release"):
        mpi3d.grid_for_count(1000, "x", "mpi3d_toy")
    for name in mpi3d.VARIANTS:
        assert get_spec(name).factor_sizes == (6, 6, 2, 3, 3, 40, 40)


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("lazy", [False, True])
def test_round_trip(tmp_path, compressed, lazy):
    p = tmp_path / "mpi3d_toy.npz"
    imgs = images()
    (np.savez_compressed if compressed else np.savez)(p, images=imgs)
    ds = mpi3d.load_file(p, "mpi3d_toy", lazy=lazy, extra_sizes=(SMALL,))
    assert ds.grid.sizes == SMALL and ds.channels == 3 and ds.provenance.source == "official"
    idx = np.array([7, 0, 7, N - 1])
    assert torch.equal(ds.uint8(idx), torch.from_numpy(imgs[idx]).permute(0, 3, 1, 2))
    assert ds.is_materialised == (not lazy or compressed)


def test_registry_loader_finds_both_places(tmp_path):
    with pytest.raises(DatasetError, match="mpi3d_real.npz"):
        load_dataset("mpi3d_real", data_dir=tmp_path)
    (tmp_path / "mpi3d_real").mkdir()
    np.savez(tmp_path / "mpi3d_real" / "mpi3d_real.npz", images=images(10))
    with pytest.raises(DatasetError, match="10 images fit neither"):
        load_dataset("mpi3d_real", data_dir=tmp_path)


def test_bad_files(tmp_path):
    def expect(path, match):
        with pytest.raises(DatasetError, match=match) as e:
            mpi3d.load_file(path, "mpi3d_toy", extra_sizes=(SMALL,), checksum=False)
        assert str(path) in str(e.value) and "\n" not in str(e.value)

    p = tmp_path / "a.npz"
    np.savez(p, imgs=images())
    expect(p, "no array 'images'")
    np.savez(p, images=images().astype(np.float32))
    expect(p, "expected \\(N, 64, 64, 3\\) uint8")
    np.savez(p, images=images()[:, :32])
    expect(p, "expected \\(N, 64, 64, 3\\) uint8")
    np.savez_compressed(p, imgs=images())
    expect(p, "no array 'images'")
    p.write_bytes(b"not a zip")
    expect(p, "cannot read")
    np.savez(p, images=images())
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    expect(p, "truncated|cannot read")
    with zipfile.ZipFile(tmp_path / "b.npz", "w") as z:  # a member that is not an npy file
        z.writestr("images.npy", b"garbage")
    expect(tmp_path / "b.npz", "cannot read")
