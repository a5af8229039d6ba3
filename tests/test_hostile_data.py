"""Crafted, truncated and foreign dataset files: every reader refuses them with one DatasetError line.

The files are written here in the real formats (npz = zip of .npy members, HDF5 through h5py, the
NYU binary matrix of smallNORB, the caches' .npy + JSON sidecar) with headers that lie: object
dtypes, wrong shapes, sizes no file holds. Each case must end in one line naming the file and the
problem, before any data is read; the object-dtype dSprites file once crashed the interpreter
(rc 139), so that case runs in a subprocess.
"""

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from benchmark.data import FactorGrid, npy
from benchmark.data import cache as array_cache
from benchmark.data import dsprites as ds
from benchmark.data import dsprites_render as render
from benchmark.data import mpi3d, smallnorb
from benchmark.data.render import common
from benchmark.errors import DatasetError

REPO = Path(__file__).resolve().parents[1]
# A small grid in the official layout (2 x 3 x 1 x 1 x 2 x 2 = 24 images).
SUB = FactorGrid.build(
    render.NAMES,
    [1, 2, 3, 1, 2, 2],
    [
        render.VALUES[0],
        render.VALUES[1][:2],
        render.VALUES[2][:3],
        render.VALUES[3][:1],
        render.VALUES[4][:2],
        render.VALUES[5][:2],
    ],
    latent=(1, 2, 3, 4, 5),
)


# ------------------------------------------------------------------------------------------------
# crafting helpers: .npy members with any header, zipped as np.savez does
# ------------------------------------------------------------------------------------------------
def npy_bytes(descr, shape: tuple, payload: bytes = b"", fortran: bool = False) -> bytes:
    """A .npy stream whose header says ``descr`` and ``shape``, followed by ``payload`` (any length)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buf.getvalue() + payload


def real_npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def write_zip(path: Path, members: dict, compress: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compress) as zf:
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)
    return path


def write_cache(path: Path, blob: bytes, identity: dict, shape: tuple, **sidecar) -> Path:
    """A cache ``.npy`` holding ``blob`` and a sidecar that vouches for it (``sidecar`` overrides fields)."""
    path.write_bytes(blob)
    meta = dict(identity, format=array_cache.FORMAT, shape=list(shape), dtype="uint8", bytes=len(blob), sha256="")
    array_cache.sidecar(path).write_text(json.dumps({**meta, **sidecar}))
    return path


def official_members(grid: FactorGrid = SUB, metadata=None, **replace) -> dict:
    """Members of the official dSprites npz for ``grid`` (imgs blank, metadata pickled); ``replace``
    swaps members before the others are built (the full grid's blank images would take 3 GB)."""
    meta = np.empty((), dtype=object)
    meta[()] = ds.official_metadata(grid) if metadata is None else metadata
    members = {"metadata": real_npy(meta), **replace}
    classes = grid.classes(np.arange(grid.num_images)) if "latents_classes" not in members else None
    if classes is not None:
        members["latents_classes"] = real_npy(classes)
    if "latents_values" not in members:
        classes = grid.classes(np.arange(grid.num_images)) if classes is None else classes
        members["latents_values"] = real_npy(np.stack([grid.values[i][classes[:, i]] for i in range(6)], 1))
    if "imgs" not in members:
        members["imgs"] = real_npy(np.zeros((grid.num_images, 64, 64), np.uint8))
    return members


def one_line(e) -> str:
    msg = str(e.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


# ------------------------------------------------------------------------------------------------
# dSprites npz (the official file) and its procedural cache
# ------------------------------------------------------------------------------------------------
def test_the_crafted_object_dtype_file_gives_one_line_not_a_crash(tmp_path):
    # 12 KB: imgs.npy declares object dtype over bytes that would be dereferenced as pointers
    (tmp_path / ds.SUBDIR).mkdir()
    members = official_members(
        ds.GRID,
        imgs=npy_bytes("|O", (1000,), b"\x41" * 8000),
        latents_classes=real_npy(np.zeros((2, 6))),
        latents_values=real_npy(np.zeros((2, 6))),
    )
    path = write_zip(tmp_path / ds.SUBDIR / ds.NPZ_NAME, members)
    assert path.stat().st_size < 16_000
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run(
        [sys.executable, "-m", "benchmark", "data", "prepare", "dsprites", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in run.stderr
    assert f"{path}: array 'imgs' holds Python objects (dtype object)" in lines[0] and "download" in lines[0]


def test_a_crafted_procedural_cache_is_refused_before_any_read(tmp_path, capsys):
    # the dSprites procedural cache: an object-dtype .npy whose sidecar matches is noticed, never mapped
    path = tmp_path / ds.SUBDIR / ds.CACHE_NAME
    path.parent.mkdir()
    write_cache(
        path,
        npy_bytes("|O", (ds.NUM_IMAGES, 64, 64), b"\0" * 64),
        {"generator": render.GENERATOR, "version": render.VERSION},
        (ds.NUM_IMAGES, 64, 64),
    )
    assert (
        array_cache.read(path, {"generator": render.GENERATOR, "version": render.VERSION}, (ds.NUM_IMAGES, 64, 64))
        is None
    )
    err = capsys.readouterr().err
    assert err.startswith("notice: unreadable cache (") and "holds Python objects" in err and err.count("\n") == 1


N = SUB.num_images
SIZES_NEST = [[1] * 1000] * 1000  # pickled with memo references: a few KB standing for a million items


@pytest.mark.parametrize(
    "member, data, match",
    [
        (
            "imgs",
            npy_bytes("|O", (N, 64, 64)),
            r"array 'imgs' holds Python objects \(dtype object\).*expected \(24, 64, 64\) uint8",
        ),
        (
            "imgs",
            npy_bytes("<f4", (N, 64, 64), b"\0" * (N * 4096 * 4)),
            r"array 'imgs' is \(24, 64, 64\) float32, expected \(24, 64, 64\) uint8",
        ),
        (
            "imgs",
            npy_bytes("|u1", (N, 32, 32), b"\0" * (N * 1024)),
            r"array 'imgs' is \(24, 32, 32\) uint8, expected \(24, 64, 64\) uint8",
        ),
        (
            "imgs",
            npy_bytes("|u1", (N, 64, 64), b"\0" * 100),
            r"array 'imgs' declares \(24, 64, 64\) uint8 \(98,304 bytes\) but the file holds 100; it is truncated",
        ),
        (
            "imgs",
            npy_bytes("|u1", (2**40, 64, 64)),
            r"array 'imgs' is \(1099511627776, 64, 64\) uint8, expected \(24, 64, 64\)",
        ),
        ("imgs", npy_bytes("|u1", (N, -64, -64)), r"array 'imgs' is \(24, -64, -64\) uint8"),
        (
            "imgs",
            npy_bytes([("a", "<i8")], (N, 64, 64)),
            r"is \(24, 64, 64\) \[\('a', '<i8'\)\], expected \(24, 64, 64\) uint8",
        ),
        (
            "imgs",
            b"\x93NUMPY\x01\x00\xff",
            r"array 'imgs': cannot read it \(ValueError: .*\); the file is truncated or corrupt",
        ),
        ("imgs", b"", r"array 'imgs': cannot read it \(ValueError: .*\); the file is truncated or corrupt"),
        ("latents_classes", npy_bytes("|O", (N, 6)), r"array 'latents_classes' holds Python objects"),
        (
            "latents_classes",
            real_npy(np.zeros((N, 6, 1), np.int64)),
            r"array 'latents_classes' is \(24, 6, 1\) int64, expected \(24, 6\) integer",
        ),
        (
            "latents_values",
            real_npy(np.array([["a"] * 6] * N)),
            r"array 'latents_values' is \(24, 6\) <U1, expected \(24, 6\) floating-point or integer",
        ),
    ],
    ids=[
        "object",
        "float32",
        "32x32",
        "truncated",
        "2**40 images",
        "negative",
        "structured",
        "bad header",
        "empty member",
        "object classes",
        "3-d classes",
        "string values",
    ],
)
def test_npz_members_with_lying_headers(tmp_path, member, data, match):
    path = write_zip(tmp_path / "d.npz", official_members(**{member: data}))
    with pytest.raises(DatasetError, match=match) as e:
        ds.read_npz(path, grid=SUB)
    assert one_line(e).startswith(str(path)) and "download" in str(e.value)


@pytest.mark.parametrize(
    "sizes, match",
    [
        ("1,2,3,1,2,2", r"latents_sizes is the str '1,2,3,1,2,2', expected 6 integers \[1, 2, 3, 1, 2, 2\]"),
        (np.array([[1, 2, 3], [1, 2, 2]]), r"latents_sizes is a int64 array of shape \(2, 3\), expected 6 integers"),
        (np.array([1.0, 2, 3, 1, 2, 2]), r"latents_sizes is a float64 array of shape \(6,\)"),
        (SIZES_NEST, r"latents_sizes is a list of 1000 items, expected 6 integers"),
        ([1, 2, 3, 1, 2, [2]], r"latents_sizes is a list of 6 items, expected 6 integers"),
        ((1, 2, 3, 1, 2, 3), r"latents_sizes \[1, 2, 3, 1, 2, 3\] != \[1, 2, 3, 1, 2, 2\]; not dSprites"),
        (None, r"latents_sizes is a NoneType"),
    ],
    ids=["string", "2-d", "float", "shared nest", "nested item", "other sizes", "None"],
)
def test_latents_sizes_of_any_type_give_one_line(tmp_path, sizes, match):
    meta = ds.official_metadata(SUB)
    meta["latents_sizes"] = sizes
    path = write_zip(tmp_path / "d.npz", official_members(metadata=meta))
    with pytest.raises(DatasetError, match=match) as e:
        ds.read_npz(path, grid=SUB)
    assert one_line(e).startswith(str(path))


def test_metadata_that_is_no_dict_or_too_big(tmp_path):
    path = write_zip(tmp_path / "d.npz", official_members(metadata=[1, 2, 3]))
    with pytest.raises(DatasetError, match="metadata has no latents_sizes"):
        ds.read_npz(path, grid=SUB)
    big = {**ds.official_metadata(SUB), "pad": "x" * (2 << 20)}
    path = write_zip(tmp_path / "big.npz", official_members(metadata=big), zipfile.ZIP_DEFLATED)
    with pytest.raises(
        DatasetError, match=r"cannot read its metadata \(ValueError: metadata declares [\d,]+ bytes, more than"
    ) as e:
        ds.read_npz(path, grid=SUB)
    one_line(e)
    path = write_zip(tmp_path / "p.npz", {**official_members(), "metadata": real_npy(np.zeros(3))})
    with pytest.raises(
        DatasetError, match=r"cannot read its metadata \(ValueError: metadata is not a pickled object array\)"
    ):
        ds.read_npz(path, grid=SUB)


def test_a_truncated_stored_member_is_refused_before_mapping(tmp_path):
    path = write_zip(tmp_path / "d.npz", official_members())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("imgs.npy")
    # keep the zip directory valid but claim more data than the member holds: overwrite its header
    blob = bytearray(path.read_bytes())
    start = blob.index(b"\x93NUMPY", info.header_offset)
    fake = npy_bytes("|u1", (N, 64, 64))
    assert len(fake) == len(npy_bytes("|u1", (N, 64, 64)))
    good = real_npy(np.zeros((N, 64, 64), np.uint8))[: len(fake)]
    assert blob[start : start + len(good)] == good
    path.write_bytes(bytes(blob[: start + len(good) + 1000]))  # cut the file inside imgs
    with pytest.raises(DatasetError, match="truncated|not an npz") as e:
        ds.read_npz(path, grid=SUB)
    one_line(e)


# ------------------------------------------------------------------------------------------------
# dSprites HDF5 twin
# ------------------------------------------------------------------------------------------------
def write_h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            if isinstance(value, str):
                f.create_group(key)
            elif isinstance(value, tuple):  # (shape, dtype): declared, chunked, never written
                f.create_dataset(key, shape=value[0], dtype=value[1], chunks=True)
            else:
                f[key] = value
    return path


@pytest.mark.parametrize(
    "imgs, match",
    [
        (
            ((2**31, 64, 64), np.uint8),
            r"HDF5 dataset 'imgs' is \(2147483648, 64, 64\) uint8, expected \(24, 64, 64\) uint8",
        ),
        (
            ((N, 64, 64), h5py.string_dtype()),
            r"HDF5 dataset 'imgs' is \(24, 64, 64\) object, expected \(24, 64, 64\) uint8",
        ),
        (((N, 64, 64), np.float32), r"HDF5 dataset 'imgs' is \(24, 64, 64\) float32"),
        ("group", r"missing HDF5 dataset 'imgs'"),
    ],
    ids=["2**31 images", "strings", "float32", "group"],
)
def test_hdf5_datasets_are_checked_before_reading(tmp_path, imgs, match):
    cl = SUB.classes(np.arange(N))
    path = write_h5(tmp_path / "d.hdf5", imgs=imgs, **{"latents/classes": cl, "latents/values": cl.astype(float)})
    with pytest.raises(DatasetError, match=match) as e:
        ds.read_hdf5(path, grid=SUB)
    assert one_line(e).startswith(str(path))


def test_hdf5_latents_as_a_dataset_not_a_group(tmp_path):
    path = write_h5(tmp_path / "d.hdf5", imgs=np.zeros((N, 64, 64), np.uint8), latents=np.zeros(3))
    with pytest.raises(DatasetError, match="missing HDF5 dataset 'latents/classes'") as e:
        ds.read_hdf5(path, grid=SUB)
    one_line(e)


@pytest.mark.parametrize(
    "images, labels, match",
    [
        ("group", np.zeros((4, 6)), r"no HDF5 dataset 'images' \(found \['images', 'labels'\]\)"),
        (
            ((4, 64, 64, 3), h5py.string_dtype()),
            np.zeros((4, 6)),
            r"images is \(4, 64, 64, 3\) object, expected \(4, 64, 64, 3\) uint8",
        ),
        (
            ((2**40, 64, 64, 3), np.uint8),
            np.zeros((4, 6)),
            r"images is \(1099511627776, 64, 64, 3\) uint8, expected \(4, 64, 64, 3\)",
        ),
        (
            np.zeros((4, 64, 64, 3), np.uint8),
            ((2**40, 6), np.float64),
            r"labels is \(1099511627776, 6\) float64, expected \(4, 6\)",
        ),
    ],
    ids=["group", "strings", "2**40 images", "2**40 labels"],
)
def test_shapes3d_datasets_are_checked_before_reading(tmp_path, images, labels, match):
    from benchmark.data import shapes3d

    grid = FactorGrid.build(shapes3d.NAMES, (1, 1, 1, 1, 2, 2))
    path = write_h5(tmp_path / "3dshapes.h5", images=images, labels=labels)
    with pytest.raises(DatasetError, match=match) as e:
        shapes3d.validate_file(path, grid)
    assert one_line(e).startswith(str(path))


# ------------------------------------------------------------------------------------------------
# MPI3D npz, decoded-grid and procedural caches (.npy + sidecar)
# ------------------------------------------------------------------------------------------------
MPI_SMALL = (1, 1, 2, 1, 1, 2, 2)  # 8 images


@pytest.mark.parametrize(
    "data, match",
    [
        (npy_bytes("|O", (8, 64, 64, 3), b"\x41" * 4096), r"array 'images' holds Python objects"),
        (npy_bytes("|u1", (10**12, 64, 64, 3)), r"1000000000000 images fit neither MPI3D release"),
        (
            npy_bytes("|u1", (8, 64, 64, 3), b"\0" * 1000),
            r"array 'images' declares \(8, 64, 64, 3\) uint8 \(98,304 bytes\) but the file holds 1,000",
        ),
        (
            npy_bytes("|u1", (8, 64, 64, 3), b"\0" * 98304, fortran=True)[:0] + b"garbage",
            r"cannot read it \(ValueError",
        ),
    ],
    ids=["object", "10**12 images", "truncated", "garbage"],
)
def test_mpi3d_headers_are_checked_before_mapping(tmp_path, data, match):
    for compress in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = write_zip(tmp_path / f"m{compress}.npz", {"images": data}, compress)
        with pytest.raises(DatasetError, match=match) as e:
            mpi3d.load_file(path, "mpi3d_toy", extra_sizes=(MPI_SMALL,), checksum=False)
        assert one_line(e).startswith(str(path)) and "download mpi3d_toy.npz" in str(e.value)


def test_mpi3d_fortran_order_member_reads_the_same_images(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 255, (8, 64, 64, 3), dtype=np.uint8)
    path = write_zip(tmp_path / "f.npz", {"images": real_npy(np.asfortranarray(imgs))})
    data = mpi3d.load_file(path, "mpi3d_toy", extra_sizes=(MPI_SMALL,), checksum=False)
    assert np.array_equal(data.uint8(np.arange(8)).numpy(), imgs.transpose(0, 3, 1, 2))


GOOD = real_npy(np.zeros((4, 1, 64, 64), np.uint8))


@pytest.mark.parametrize(
    "blob, sidecar, message",
    [
        (npy_bytes("|O", (4, 1, 64, 64), b"\x41" * 64), {}, r"unreadable cache \(.*holds Python objects"),
        (
            npy_bytes("|u1", (2**40, 1, 64, 64)),
            {},
            r"unreadable cache \(.*is \(1099511627776, 1, 64, 64\) uint8, expected",
        ),
        (npy_bytes("|u1", (4, 1, 64, 64), b"\0" * 100), {}, r"unreadable cache \(.*declares"),
        (GOOD, {"key": "other"}, "stale cache"),
        (GOOD, {"dtype": "float32"}, "stale cache"),
        (GOOD, {"bytes": len(GOOD) + 1}, r"unreadable cache \(.*size differs"),
        (GOOD, None, r"unreadable cache \(.*sidecar c.json is missing or invalid"),
        (GOOD, "[1, 2", r"unreadable cache \(.*sidecar c.json is missing or invalid"),
        (GOOD, "x" * 100_000, r"unreadable cache \(.*sidecar c.json is missing or invalid"),
        (b"PK\x03\x04 an npz", {}, r"unreadable cache \(.*cannot read it as a .npy array"),
    ],
    ids=[
        "object",
        "2**40 images",
        "truncated",
        "stale key",
        "other shape",
        "size",
        "no sidecar",
        "bad json",
        "huge sidecar",
        "npz bytes",
    ],
)
def test_decoded_grid_cache_is_decoded_again_not_trusted(tmp_path, capsys, blob, sidecar, message):
    fields = sidecar if isinstance(sidecar, dict) else {}
    path = write_cache(tmp_path / "c.npy", blob, {"key": "k"}, (4, 1, 64, 64), **fields)
    if sidecar is None:
        array_cache.sidecar(path).unlink()
    elif isinstance(sidecar, str):
        array_cache.sidecar(path).write_text(sidecar)
    assert common.load_cache(path, "k", (4, 1, 64, 64)) is None
    err = capsys.readouterr().err
    assert err.startswith("notice: ") and err.count("\n") == 1 and re.search(message, err), err


def test_decoded_grid_cache_round_trip_still_works(tmp_path):
    imgs = np.arange(4 * 4096, dtype=np.uint8).reshape(4, 1, 64, 64)
    common.save_cache(tmp_path / "c.npy", "k", imgs)
    assert np.array_equal(common.load_cache(tmp_path / "c.npy", "k", (4, 1, 64, 64)), imgs)


def test_procedural_cache_with_lying_header_is_rendered_again(tmp_path, capsys):
    grid = FactorGrid.build(("a", "b"), (2, 3))

    def render_classes(cl):
        import torch

        return torch.from_numpy(np.repeat(cl[:, :1].astype(np.uint8), 4096, 1).reshape(-1, 1, 64, 64))

    path = tmp_path / "procedural" / "toy_v1.npy"
    path.parent.mkdir()
    write_cache(
        path, npy_bytes("|O", (6, 1, 64, 64), b"\x41" * 64), {"generator": "gen", "version": "1"}, (6, 1, 64, 64)
    )
    data = common.procedural_dataset("toy", grid, render_classes, "gen", "1", 1, tmp_path, cache=True, progress=False)
    assert "holds Python objects" in capsys.readouterr().err
    assert data.is_materialised and np.array_equal(
        data.images.numpy(), render_classes(grid.classes(np.arange(6))).numpy()
    )


@pytest.mark.parametrize(
    "case, match",
    [
        ("cell", r"im is \(1, 2\) object, expected \(128, 128, 3, 24, 4\) uint8"),
        ("struct", r"im is \(1, 1\) \[\('a', 'O'\)\], expected"),
        ("huge dims", r"cannot read it as a MATLAB file \(ValueError: cannot reshape"),
        ("truncated", r"cannot read it as a MATLAB file \(.*\); truncated or corrupt"),
    ],
)
def test_cars3d_mat_files_that_are_not_a_car(tmp_path, case, match):
    import struct

    import scipy.io

    from benchmark.data import cars3d

    path = tmp_path / "car.mat"
    cell = np.empty((2,), dtype=object)
    cell[:] = [np.zeros(3), "x"]
    im = {"cell": cell, "struct": {"a": 1}}.get(case, np.zeros((4, 4, 3, 24, 4), np.uint8))
    scipy.io.savemat(path, {"im": im})
    blob = bytearray(path.read_bytes())
    if case == "huge dims":  # the dims sub-element says 2**30 x 2**30 pixels over 4,608 bytes of data
        i = blob.index(struct.pack("<5i", 4, 4, 3, 24, 4))
        blob[i : i + 20] = struct.pack("<5i", 2**30, 2**30, 3, 24, 4)
    elif case == "truncated":
        blob = blob[: len(blob) // 2]
    path.write_bytes(bytes(blob))
    with pytest.raises(DatasetError, match=match) as e:
        cars3d.read_mat(path)
    assert one_line(e).startswith(str(path))


# ------------------------------------------------------------------------------------------------
# smallNORB binary matrices, plain .npy
# ------------------------------------------------------------------------------------------------
def test_smallnorb_dimensions_whose_product_wraps_around_int64(tmp_path):
    # 2**16 ** 4 * 5 = 5 * 2**64: np.prod in int64 wrapped to 0 and "matched" an empty file
    path = tmp_path / "x-dat.mat"
    path.write_bytes(np.array([507333717, 5, 2**16, 2**16, 2**16, 2**16, 5], dtype="<i4").tobytes())
    with pytest.raises(
        DatasetError, match=r"28 bytes, but the header \(65536, 65536, 65536, 65536, 5\) uint8 needs"
    ) as e:
        smallnorb.read_matrix(path)
    one_line(e)


@pytest.mark.parametrize(
    "blob, match",
    [
        (b"", r"is empty \(0 bytes\)"),
        (npy_bytes("|O", (3, 2), b"\0" * 48), r"holds Python objects"),
        (npy_bytes("<f4", (3, 2), b"\0" * 8), r"declares \(3, 2\) float32 \(24 bytes\) but the file holds 8"),
        (b"PK\x03\x04 an npz, not an npy", r"cannot read it as a .npy array \(ValueError"),
    ],
    ids=["empty", "object", "truncated", "npz bytes"],
)
def test_read_npy_refuses_before_reading(tmp_path, blob, match):
    path = tmp_path / "a.npy"
    path.write_bytes(blob)
    with pytest.raises(DatasetError, match=match) as e:
        npy.read_npy(path, dtype="f", shape=(None, 2), fix="save it again")
    assert one_line(e).startswith(str(path)) and e.value.args[0].endswith("save it again")


def test_read_npy_maps_a_good_file(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "a.npy", a)
    m = npy.read_npy(tmp_path / "a.npy", dtype="f", shape=(None, 2), fix="", mmap=True)
    assert isinstance(m, np.memmap) and np.array_equal(m, a)
    assert pickle.loads(pickle.dumps(npy.Header((3, 2), False, np.dtype("<f4"), 128))).nbytes == 24
