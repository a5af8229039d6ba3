"""dSprites loaders (official npz / HDF5 layouts, written small here), renderer, variants."""

import hashlib
import io
import pickle
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from benchmark.data import FactorGrid, load_dataset
from benchmark.data import dsprites as ds
from benchmark.data import dsprites_render as render
from benchmark.errors import DatasetError

# Six real dSprites images (Apache-2.0; see tests/data/README.md), shipped with the tests.
CALIBRATION = Path(__file__).resolve().parent / "data" / "dsprites_calibration.npz"

# A sub-grid in the official layout: every factor keeps its official values, fewer of them.
SUB = FactorGrid.build(
    render.NAMES,
    [1, 3, 2, 3, 4, 4],
    [
        render.VALUES[0],
        render.VALUES[1],
        render.VALUES[2][[0, 5]],
        render.VALUES[3][[0, 10, 20]],
        render.VALUES[4][[0, 10, 20, 31]],
        render.VALUES[5][[0, 10, 20, 31]],
    ],
    latent=(1, 2, 3, 4, 5),
)


def sub_images():
    cl = SUB.classes(np.arange(SUB.num_images))
    return render.render(
        cl[:, 1], SUB.values[2][cl[:, 2]], SUB.values[3][cl[:, 3]], SUB.values[4][cl[:, 4]], SUB.values[5][cl[:, 5]]
    ).numpy()


class _Py2Pickler(pickle._Pickler):
    """Writes str as Python 2 byte strings (SHORT_BINSTRING) and numpy globals under numpy.core."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj.encode("latin1")
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + len(data).to_bytes(4, "little") + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def write_official_npz(path, imgs, metadata=None, classes=None, values=None, py2=True):
    """The official file: imgs, latents_classes, latents_values, metadata (Python-2 pickle)."""
    cl = SUB.classes(np.arange(SUB.num_images)) if classes is None else classes
    vals = np.stack([SUB.values[i][cl[:, i]] for i in range(6)], 1) if values is None else values
    meta = ds.official_metadata(SUB) if metadata is None else metadata
    buf = io.BytesIO()
    np.savez_compressed(buf, imgs=imgs, latents_classes=cl, latents_values=vals)
    with zipfile.ZipFile(buf, "a") as zf:  # add metadata as a Python 2 pickled 0-d object array
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": ()})
        body = py2_pickle(np.array(meta, dtype=object)) if py2 else pickle.dumps(np.array(meta, dtype=object))
        magic = b"\x93NUMPY\x01\x00"
        zf.writestr("metadata.npy", magic + header.getvalue()[len(magic) :] + body)
    Path(path).write_bytes(buf.getvalue())


def test_py2_pickle_really_uses_byte_strings():
    blob = py2_pickle({"title": "dSprites dataset"})
    assert pickle.SHORT_BINSTRING in blob
    with pytest.raises(UnicodeDecodeError):  # what allow-pickle-without-latin1 users hit with Python 2 files
        pickle.loads(py2_pickle({"x": "\xe9"}), encoding="ascii")


def test_official_npz_layout_with_python2_metadata(tmp_path):
    imgs = sub_images()
    p = tmp_path / ds.NPZ_NAME
    write_official_npz(p, imgs)
    out, meta = ds.read_npz(p, grid=SUB)
    np.testing.assert_array_equal(out, imgs)
    assert meta["title"] == "dSprites dataset"
    assert list(meta["latents_sizes"]) == [1, 3, 2, 3, 4, 4]
    assert isinstance(meta["latents_possible_values"]["orientation"], np.ndarray)


def test_metadata_pickle_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    p = tmp_path / "evil.npz"
    buf = io.BytesIO()
    np.savez(
        buf,
        imgs=sub_images(),
        latents_classes=np.zeros((1, 6)),
        latents_values=np.zeros((1, 6)),
        metadata=np.array(Evil(), dtype=object),
    )
    p.write_bytes(buf.getvalue())
    with pytest.raises(DatasetError, match="refusing to unpickle builtins.print"):
        ds.read_npz(p, grid=SUB)


def test_hdf5_twin_layout(tmp_path):
    imgs = sub_images()
    cl = SUB.classes(np.arange(SUB.num_images))
    p = tmp_path / ds.HDF5_NAME
    with h5py.File(p, "w") as f:
        f["imgs"] = imgs
        f["latents/classes"] = cl
        f["latents/values"] = np.stack([SUB.values[i][cl[:, i]] for i in range(6)], 1)
    out, meta = ds.read_hdf5(p, grid=SUB)
    np.testing.assert_array_equal(out, imgs)


@pytest.mark.parametrize(
    "case, match",
    [
        ("truncated", "truncated"),
        ("not_zip", "not an npz"),
        ("wrong_shape", "expected"),
        ("not_binary", "0/1"),
        ("shuffled", "complete grid"),
        ("wrong_values", "latents_values"),
        ("wrong_sizes", "latents_sizes"),
        ("no_metadata", r"missing keys \['metadata'\]"),
    ],
)
def test_bad_npz_files_give_one_clear_error(tmp_path, case, match):
    imgs = sub_images()
    p = tmp_path / ds.NPZ_NAME
    if case == "wrong_shape":
        write_official_npz(p, imgs[:, :32, :32])
    elif case == "not_binary":
        write_official_npz(p, imgs * 255)
    elif case == "shuffled":
        cl = SUB.classes(np.arange(SUB.num_images))[::-1].copy()
        write_official_npz(p, imgs, classes=cl)
    elif case == "wrong_values":
        cl = SUB.classes(np.arange(SUB.num_images))
        write_official_npz(p, imgs, values=np.zeros((len(cl), 6)))
    elif case == "no_metadata":  # was "truncated or corrupt (KeyError)"
        cl = SUB.classes(np.arange(SUB.num_images))
        np.savez(
            p, imgs=imgs, latents_classes=cl, latents_values=np.stack([SUB.values[i][cl[:, i]] for i in range(6)], 1)
        )
    elif case == "wrong_sizes":
        meta = ds.official_metadata(SUB)
        meta["latents_sizes"] = np.array([1, 3, 6, 40, 32, 32])
        write_official_npz(p, imgs, metadata=meta)
    else:
        write_official_npz(p, imgs)
        blob = p.read_bytes()
        p.write_bytes(blob[: len(blob) // 2] if case == "truncated" else b"not a zip file at all")
    with pytest.raises(DatasetError, match=match) as e:
        ds.read_npz(p, grid=SUB)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and "download" in msg and "allow_pickle" not in msg


def test_bad_hdf5_files(tmp_path):
    p = tmp_path / ds.HDF5_NAME
    with h5py.File(p, "w") as f:
        f["imgs"] = sub_images()
    with pytest.raises(DatasetError, match="missing HDF5 dataset 'latents/classes'"):
        ds.read_hdf5(p, grid=SUB)
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        ds.read_hdf5(p, grid=SUB)


def test_missing_official_file_names_file_and_fix(tmp_path):
    with pytest.raises(DatasetError) as e:
        load_dataset("dsprites", data_dir=tmp_path, source="official")
    assert ds.NPZ_NAME in str(e.value) and "download" in str(e.value)


def test_official_file_preferred_and_checksummed(tmp_path, monkeypatch):
    # a (small) official file present under the data root is used with its sha256 in the provenance
    monkeypatch.setattr(ds, "GRID", SUB)
    monkeypatch.setattr(ds, "NUM_IMAGES", SUB.num_images)
    monkeypatch.setattr(ds, "_LOADED", {})
    (tmp_path / ds.SUBDIR).mkdir()
    p = tmp_path / ds.SUBDIR / ds.NPZ_NAME
    write_official_npz(p, sub_images())
    images, prov = ds.load_images(tmp_path, "auto")
    assert prov.source == "official" and prov.file == str(p)
    assert prov.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    assert images.shape == (SUB.num_images, 1, 64, 64)


def test_procedural_cache_is_a_plain_npy_with_a_sidecar(tmp_path, monkeypatch, capsys):
    # a small grid stands for the 737,280 images: the cache is read, never rendered, in this test
    from benchmark.data import cache as array_cache

    monkeypatch.setattr(ds, "NUM_IMAGES", SUB.num_images)
    monkeypatch.setattr(ds, "_LOADED", {})
    path = tmp_path / ds.SUBDIR / ds.CACHE_NAME
    assert ds.CACHE_NAME == f"dsprites_procedural_v{render.VERSION}.npy"
    imgs = sub_images()
    array_cache.write(path, imgs, {"generator": render.GENERATOR, "version": render.VERSION})
    np.savez(path.with_suffix(".npz"), imgs=imgs)  # an old-format cache beside it is not read
    images, prov = ds.load_images(tmp_path, "procedural")
    assert torch.equal(images[:, 0], torch.from_numpy(imgs)) and images.is_contiguous()
    assert prov.source == "procedural" and prov.file == str(path) and prov.version == render.VERSION
    assert np.array_equal(np.load(path, mmap_mode="r"), imgs) and capsys.readouterr().err == ""


# ------------------------------------------------------------------------------------------------
# procedural renderer
# ------------------------------------------------------------------------------------------------
def iou(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return (a & b).sum() / (a | b).sum()


def test_procedural_images_match_the_real_calibration_images():
    ref = np.load(CALIBRATION, allow_pickle=False)
    lv = ref["latents_values"]
    # find each image's classes on the official grid from its latent values, then render the class
    classes = np.stack([np.abs(render.VALUES[i][None, :] - lv[:, i : i + 1]).argmin(1) for i in range(6)], 1)
    ours = render.render_classes(classes).numpy()
    scores = [iou(a, b) for a, b in zip(ours, ref["imgs"])]
    assert min(scores) >= 0.90, scores
    assert ours.max() == 1 and ours.dtype == np.uint8


def test_rendering_is_deterministic_and_matches_a_fixed_digest():
    idx = np.arange(0, 737280, 1440)
    cl = ds.GRID.classes(idx)
    a, b = render.render_classes(cl).numpy(), render.render_classes(cl).numpy()
    np.testing.assert_array_equal(a, b)
    # digest of this renderer version's pixels: changes only if the geometry changes (then bump VERSION)
    assert hashlib.sha256(a.tobytes()).hexdigest() == DIGEST_V1


DIGEST_V1 = (
    "5c90587e4e269c755873bd923f5bb1d0a3c8b03d58e7a15d22ca921fbc10b6d6"  # renderer v1, 512 images spread over the grid
)


def test_factor_semantics():
    base = np.array([[0, 1, 5, 0, 10, 10]])
    img = lambda **kw: render.render_classes(
        np.array(
            [
                [
                    0,
                    kw.get("shape", 1),
                    kw.get("scale", 5),
                    kw.get("o", 0),  # noqa: E731
                    kw.get("x", 10),
                    kw.get("y", 10),
                ]
            ]
        )
    ).numpy()[0]
    a = render.render_classes(base).numpy()[0]
    # posX moves columns, posY moves rows, by 32/31 px per class
    b = img(x=20)
    assert abs(np.nonzero(b)[1].mean() - np.nonzero(a)[1].mean() - 320 / 31) < 0.3
    c = img(y=20)
    assert abs(np.nonzero(c)[0].mean() - np.nonzero(a)[0].mean() - 320 / 31) < 0.3
    # scale 0.5 has a quarter of the area; orientation 0 and 2*pi render identically
    assert abs(img(scale=0).sum() / a.sum() - 0.25) < 0.03
    np.testing.assert_array_equal(img(o=0, shape=2), img(o=39, shape=2))


# ------------------------------------------------------------------------------------------------
# variants and the mini grid
# ------------------------------------------------------------------------------------------------
def test_color_and_noisy_variants():
    images = torch.from_numpy(sub_images()).unsqueeze(1)
    x = images[:8].float()
    rng = np.random.default_rng(0)
    col = ds.color_transform(x, rng)
    assert col.shape == (8, 3, 64, 64)
    on = x.expand(-1, 3, -1, -1) > 0
    assert (col[~on] == 0).all() and col[on].min() >= 0.5 and col[on].max() <= 1.0
    # one colour per image: all sprite pixels of an image share it
    for i in range(8):
        vals = col[i][:, x[i, 0] > 0]
        assert torch.allclose(vals, vals[:, :1].expand_as(vals))
    noisy = ds.noise_transform(x, rng)
    assert (noisy[on] == 1).all() and noisy[~on].max() < 1 and noisy[~on].std() > 0.2


def test_mini_dataset():
    d = load_dataset("dsprites_mini")
    assert len(d) == 23040 and d.images.shape == (23040, 1, 64, 64)
    assert d.grid.latent_sizes == (3, 3, 10, 16, 16)
    rng = np.random.default_rng(0)
    lat, x = d.sample(16, rng)
    assert x.shape == (16, 1, 64, 64) and set(np.unique(x.numpy())) <= {0.0, 1.0}
    # image i of the mini grid is the official image of the same factor values
    i = 12345
    full = d.grid.classes([i])[0]
    official = [int(np.abs(render.VALUES[f] - d.grid.values[f][full[f]]).argmin()) for f in range(6)]
    np.testing.assert_array_equal(d.images[i, 0].numpy(), render.render_classes(np.array([official])).numpy()[0])


# ------------------------------------------------------------------------------------------------
# scream_dsprites: the painting is a real JPEG written here (a gradient stands in for Munch)
# ------------------------------------------------------------------------------------------------
def write_painting(root, size=(400, 500)):
    from PIL import Image

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 255 // (w + h - 2)], -1).astype(np.uint8)
    (root / "scream").mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(root / ds.SCREAM_FILE, quality=95)
    return rgb


def test_scream_painting_is_shrunk_like_the_reference(tmp_path):
    write_painting(tmp_path, size=(400, 500))  # portrait, like the painting: height limits the thumbnail
    scream, path = ds.load_scream(tmp_path)
    assert path == tmp_path / ds.SCREAM_FILE
    assert scream.shape == (3, 274, 219) and scream.dtype == torch.float32  # 400 x 500 fitted into 350 x 274
    assert 0 <= scream.min() and scream.max() <= 1
    # the red channel is the column gradient: left edge dark, right edge bright
    assert scream[0, :, :5].mean() < 0.05 and scream[0, :, -5:].mean() > 0.95


def test_scream_painting_is_shrunk_as_pillow_6_did_for_the_reference(tmp_path):
    # The reference called thumbnail((350, 274, 3)) on the undecoded JPEG under Pillow < 7: size by
    # truncation, JPEG draft (decode at 1/2^k scale), then a bicubic resize. A large noisy JPEG makes
    # the draft step matter: decoding at full size first moves pixels by several grey levels.
    from PIL import Image

    h, w = 2000, 1600
    rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    (tmp_path / "scream").mkdir()
    Image.fromarray(rgb).save(tmp_path / ds.SCREAM_FILE, quality=90)
    with Image.open(tmp_path / ds.SCREAM_FILE) as im:  # Pillow 6's thumbnail, step by step
        tw, th = 350, int(max(h * 350 / w, 1))
        tw, th = int(max(tw * 274 / th, 1)), 274
        im.draft(None, (tw, th))
        assert im.size == (w // 4, h // 4)  # the decoder shrinks 4x (8x would undershoot 219 x 274)
        want = np.asarray(im.resize((tw, th), Image.BICUBIC), dtype=np.float32) / 255
    scream, _ = ds.load_scream(tmp_path)
    assert scream.shape == (3, 274, 219)
    np.testing.assert_array_equal(scream.numpy().transpose(1, 2, 0), want)
    with Image.open(tmp_path / ds.SCREAM_FILE) as im:  # decoded first: not what the reference saw
        full = im.convert("RGB").resize((tw, th), Image.BICUBIC)
    assert np.abs(np.asarray(full, dtype=np.float32) / 255 - want).max() > 2 / 255


def test_scream_transform_crops_tints_and_inverts(tmp_path):
    write_painting(tmp_path)
    scream, _ = ds.load_scream(tmp_path)
    t = ds.scream_transform(scream)
    x = torch.from_numpy(sub_images()[:6]).unsqueeze(1).float()
    out = t(x, np.random.default_rng(0))
    assert out.shape == (6, 3, 64, 64) and 0 <= out.min() and out.max() <= 1
    # redo the reference's recipe with the same draws: crop at (row, col), (crop + tint) / 2, invert on the sprite
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(0, 274 - 64, 6), rng.integers(0, 219 - 64, 6)
    tint = rng.uniform(0, 1, (6, 3)).astype(np.float32)
    for i in range(6):
        bg = (scream[:, rows[i] : rows[i] + 64, cols[i] : cols[i] + 64] + torch.from_numpy(tint[i])[:, None, None]) / 2
        want = torch.where(x[i].expand(3, -1, -1) == 1, 1 - bg, bg)
        torch.testing.assert_close(out[i], want, rtol=0, atol=1e-7)
    # crops start anywhere in [0, H - 64) x [0, W - 64): over many draws both ends are reached
    r = np.random.default_rng(1)
    many = t(torch.zeros(2000, 1, 64, 64), r)
    r = np.random.default_rng(1)
    rows = r.integers(0, 274 - 64, 2000)
    assert rows.min() == 0 and rows.max() == 274 - 65 and many.shape == (2000, 3, 64, 64)


def test_scream_dsprites_dataset_records_the_painting(tmp_path, monkeypatch):
    monkeypatch.setattr(ds, "GRID", SUB)
    monkeypatch.setattr(ds, "NUM_IMAGES", SUB.num_images)
    monkeypatch.setattr(ds, "_LOADED", {})
    (tmp_path / ds.SUBDIR).mkdir()
    write_official_npz(tmp_path / ds.SUBDIR / ds.NPZ_NAME, sub_images())
    write_painting(tmp_path)
    d = load_dataset("scream_dsprites", data_dir=tmp_path)
    assert d.name == "scream_dsprites" and d.channels == 3
    sha = hashlib.sha256((tmp_path / ds.SCREAM_FILE).read_bytes()).hexdigest()
    assert d.info()["data_auxiliary"] == f"{ds.SCREAM_FILE} sha256 {sha}"
    _, x = d.sample(8, np.random.default_rng(0))
    assert x.shape == (8, 3, 64, 64) and x.std() > 0.05


def test_dsprites_noshape_draws_shape_per_image_and_dsprites_full_is_an_alias(tmp_path, monkeypatch):
    # the reference's DSprites([2, 3, 4, 5]): shape leaves the latent factors and is resampled like colour
    monkeypatch.setattr(ds, "GRID", SUB)
    monkeypatch.setattr(ds, "GRID_NOSHAPE", FactorGrid.build(SUB.names, SUB.sizes, SUB.values, latent=(2, 3, 4, 5)))
    monkeypatch.setattr(ds, "NUM_IMAGES", SUB.num_images)
    monkeypatch.setattr(ds, "_LOADED", {})
    (tmp_path / ds.SUBDIR).mkdir()
    write_official_npz(tmp_path / ds.SUBDIR / ds.NPZ_NAME, sub_images())
    d = load_dataset("dsprites_noshape", data_dir=tmp_path)
    assert d.name == "dsprites_noshape" and d.grid.latent_names == ("scale", "orientation", "posX", "posY")
    latents = np.tile([1, 2, 3, 3], (300, 1))  # one fixed cell of the four latent factors
    idx = d.grid.latents_to_index(latents, np.random.default_rng(0))
    cl = d.grid.classes(idx)
    assert (cl[:, 2:] == latents).all() and set(cl[:, 1]) == {0, 1, 2}
    assert load_dataset("dsprites_full", data_dir=tmp_path).name == "dsprites"


@pytest.mark.parametrize(
    "content, match",
    [
        (None, "needs the painting at .*scream.jpg: save https://"),
        (b"not a jpeg at all", "not a readable image"),
        ("tiny", "too small for 64x64 crops"),
    ],
)
def test_scream_painting_missing_or_bad_gives_one_clear_error(tmp_path, content, match):
    if content == "tiny":
        write_painting(tmp_path, size=(60, 60))
    elif content is not None:
        (tmp_path / "scream").mkdir()
        (tmp_path / ds.SCREAM_FILE).write_bytes(content)
    with pytest.raises(DatasetError, match=match):
        load_dataset("scream_dsprites", data_dir=tmp_path)
