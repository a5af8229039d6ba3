"""Helpers of the 3D dataset modules: procedural caches, checksum sidecars, run-wise reads, npz maps."""

import hashlib
import json
import os

import numpy as np
import pytest
import torch

from benchmark.data import FactorGrid, npy
from benchmark.data.render import common
from benchmark.errors import DatasetError

GRID = FactorGrid.build(("a", "b"), (3, 4))
CALLS = []


def render_classes(classes):
    CALLS.append(len(classes))
    c = torch.from_numpy(np.asarray(classes))
    return (c[:, 0] * 10 + c[:, 1]).to(torch.uint8)[:, None, None, None].expand(-1, 1, 64, 64).clone()


def test_procedural_on_demand_and_cache(tmp_path, capsys):
    ds = common.procedural_dataset("toy", GRID, render_classes, "gen", "1", 1, tmp_path)
    assert not ds.is_materialised and ds.provenance.file is None
    assert ds.uint8([5, 0])[:, 0, 0, 0].tolist() == [11, 0]
    cached = common.procedural_dataset("toy", GRID, render_classes, "gen", "1", 1, tmp_path, cache=True, progress=False)
    path = tmp_path / "procedural" / "toy_v1.npy"
    assert cached.is_materialised and path.exists() and cached.provenance.file == str(path)
    side = json.loads((tmp_path / "procedural" / "toy_v1.json").read_text())
    assert side == {
        "generator": "gen",
        "version": "1",
        "format": 1,
        "shape": [12, 1, 64, 64],
        "dtype": "uint8",
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    assert np.array_equal(np.load(path, mmap_mode="r"), ds.images.numpy())  # a plain .npy any numpy can map
    assert torch.equal(cached.images, ds.images)
    CALLS.clear()
    again = common.procedural_dataset("toy", GRID, render_classes, "gen", "1", 1, tmp_path)
    assert again.is_materialised and CALLS == []  # read from the cache, nothing rendered
    # a cache of another generator version is ignored (with a notice), not trusted
    other = common.procedural_dataset("toy", GRID, render_classes, "gen", "2", 1, tmp_path)
    assert not other.is_materialised
    path.write_bytes(b"truncated")
    broken = common.procedural_dataset("toy", GRID, render_classes, "gen", "1", 1, tmp_path)
    assert not broken.is_materialised and "unreadable cache" in capsys.readouterr().err


def test_an_old_npz_cache_is_ignored_with_one_notice(tmp_path, capsys):
    old = tmp_path / "procedural" / "toy_v1.npz"
    old.parent.mkdir()
    np.savez(old, images=np.zeros((12, 1, 64, 64), np.uint8), generator=np.str_("gen"), version=np.str_("1"))
    ds = common.procedural_dataset("toy", GRID, render_classes, "gen", "1", 1, tmp_path, cache=True, progress=False)
    err = capsys.readouterr().err
    assert err == (
        f"notice: {old}: a cache in the former npz format, ignored; it is rendered again "
        "(delete the npz to free space)\n"
    )
    assert ds.uint8([5])[0, 0, 0, 0] == 11 and (tmp_path / "procedural" / "toy_v1.npy").exists()


def test_checksum_sidecar(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    d = common.checksum(p)
    assert d == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    side = json.loads((tmp_path / "f.bin.sha256").read_text())
    assert side["sha256"] == d and side["size"] == 3
    # the sidecar is trusted only for the same size and mtime
    side["sha256"] = "0" * 64
    (tmp_path / "f.bin.sha256").write_text(json.dumps(side))
    assert common.checksum(p) == "0" * 64
    p.write_bytes(b"abcd")
    os.utime(p, ns=(1, 1))
    assert common.checksum(p) != "0" * 64


def test_read_runs_and_sorted_unique_read():
    arr = np.arange(40).reshape(20, 2)
    reads = []

    class Sliceable:
        shape, dtype = arr.shape, arr.dtype

        def __getitem__(self, s):
            reads.append(s)
            return arr[s]

    rows = np.array([1, 2, 3, 7, 8, 15])
    assert np.array_equal(common.read_runs(Sliceable(), rows), arr[rows])
    assert reads == [slice(1, 4), slice(7, 9), slice(15, 16)]  # one slice per run
    idx = np.array([8, 1, 8, 15, 2])
    assert np.array_equal(common.sorted_unique_read(lambda u: common.read_runs(Sliceable(), u), idx), arr[idx])


def test_npz_member_maps_stored_members_and_reads_compressed_ones(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.savez(tmp_path / "s.npz", x=a)
    m = npy.npz_member(tmp_path / "s.npz", "x", dtype=np.uint8, shape=(None, 3, 4), fix="fix", mmap=True)
    assert isinstance(m, np.memmap) and np.array_equal(m, a)
    np.savez_compressed(tmp_path / "c.npz", x=a)
    c = npy.npz_member(tmp_path / "c.npz", "x", dtype=np.uint8, shape=(2, 3, 4), fix="fix", mmap=True)
    assert not isinstance(c, np.memmap) and np.array_equal(c, a)
    with pytest.raises(DatasetError, match="no array 'y'"):
        npy.npz_member(tmp_path / "s.npz", "y", dtype=np.uint8, shape=(2, 3, 4), fix="fix")


def test_listing_key_tracks_names_and_sizes(tmp_path):
    (tmp_path / "a").write_bytes(b"1")
    (tmp_path / "b").write_bytes(b"22")
    files = [tmp_path / "a", tmp_path / "b"]
    k = common.listing_key(files, tmp_path)
    assert common.listing_key(files, tmp_path) == k
    (tmp_path / "b").write_bytes(b"333")
    assert common.listing_key(files, tmp_path) != k
    cache = tmp_path / "c.npy"
    common.save_cache(cache, k, np.zeros((2, 1, 64, 64), np.uint8))
    assert common.load_cache(cache, k, (2, 1, 64, 64)) is not None
    assert common.load_cache(cache, "other", (2, 1, 64, 64)) is None
    assert common.load_cache(cache, k, (3, 1, 64, 64)) is None
