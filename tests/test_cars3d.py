"""Cars3D: the .mat layout (written small here), sorted object order, grid index, bad files."""

import numpy as np
import pytest
import scipy.io
import torch

from benchmark.data import get_spec, load_dataset
from benchmark.data import cars3d
from benchmark.errors import DatasetError

NAMES = ["car_b_mesh.mat", "car_a_mesh.mat", "car_c_mesh.mat"]  # sorted: a, b, c


def level(obj, az, el):
    return (obj * 61 + az * 7 + el * 3 + 1) % 256


def write_cars(root, names=NAMES, size=32, mutate=None):
    folder = root / cars3d.SUBDIR
    folder.mkdir(parents=True)
    for name in names:
        obj = sorted(names).index(name)
        im = np.zeros((size, size, 3, 24, 4), np.uint8)
        for az in range(24):
            for el in range(4):
                im[:, :, 0, az, el] = level(obj, az, el)
                im[:, :, 1, az, el] = 255 - level(obj, az, el)
                im[:, :, 2, az, el] = 17
        m = {"im": im}
        if mutate:
            m = mutate(m)
        scipy.io.savemat(folder / name, m)
    (folder / "README.txt").write_text("ignored")
    return root


def test_grid():
    spec = get_spec("cars3d")
    assert spec.factor_names == ("elevation", "azimuth", "object_type") and spec.factor_sizes == (4, 24, 183)
    from benchmark.data import FactorGrid

    grid = FactorGrid.build(spec.factor_names, spec.factor_sizes)
    assert grid.num_images == 17568 and grid.bases.tolist() == [4392, 183, 1]


def test_round_trip(tmp_path):
    root = write_cars(tmp_path)
    ds = cars3d.load(root, num_objects=3, progress=False)
    assert ds.grid.sizes == (4, 24, 3) and ds.images.shape == (288, 3, 64, 64) and ds.channels == 3
    for el, az, obj in [(0, 0, 0), (3, 23, 2), (1, 5, 1), (2, 11, 0)]:
        i = ds.grid.index([[el, az, obj]])[0]
        assert i == el * 72 + az * 3 + obj
        img = ds.uint8([i])[0]
        assert abs(int(img[0, 32, 32]) - level(obj, az, el)) <= 1
        assert abs(int(img[1, 32, 32]) - (255 - level(obj, az, el))) <= 1 and abs(int(img[2, 5, 5]) - 17) <= 1
    assert (root / cars3d.SUBDIR / cars3d.CACHE_NAME).exists()
    assert torch.equal(cars3d.load(root, num_objects=3, progress=False).images, ds.images)


def test_bad_files(tmp_path):
    def expect(root, match, num=3):
        with pytest.raises(DatasetError, match=match) as e:
            cars3d.load(root, num_objects=num, progress=False)
        assert "\n" not in str(e.value)

    with pytest.raises(DatasetError, match=r"no official file for cars3d .*/cars\); run: .* data download cars3d"):
        load_dataset("cars3d", data_dir=tmp_path)
    expect(write_cars(tmp_path / "a"), "3 .mat files, expected 183", num=183)
    expect(write_cars(tmp_path / "b", mutate=lambda m: {"img": m["im"]}), "no variable 'im'")
    expect(write_cars(tmp_path / "c", mutate=lambda m: {"im": m["im"][..., :3]}), r"expected \(128, 128, 3, 24, 4\)")
    expect(write_cars(tmp_path / "d", mutate=lambda m: {"im": m["im"].astype(np.float64)}), "uint8")
    root = write_cars(tmp_path / "e")
    p = root / cars3d.SUBDIR / NAMES[0]
    p.write_bytes(p.read_bytes()[:100])
    expect(root, "cannot read it as a MATLAB file")
    (tmp_path / "f" / cars3d.SUBDIR).mkdir(parents=True)
    expect(tmp_path / "f", "no .mat files")
