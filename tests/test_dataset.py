import numpy as np
import pytest
import torch

from benchmark.data import FactorGrid, GroundTruthDataset, Provenance
from benchmark.errors import BenchmarkError


def make(render=False):
    g = FactorGrid.build(["a", "b"], [3, 4])
    imgs = torch.arange(12, dtype=torch.uint8).view(12, 1, 1, 1).expand(12, 1, 64, 64).contiguous()
    prov = Provenance("procedural", generator="test", version="0")
    if render:
        return GroundTruthDataset("t", g, prov, render=lambda idx: imgs[torch.from_numpy(idx)], max_value=255)
    return GroundTruthDataset("t", g, prov, images=imgs, max_value=255)


@pytest.mark.parametrize("lazy", [False, True])
def test_observe_returns_float_in_unit_range_in_index_order(lazy):
    ds = make(lazy)
    x = ds.observe(np.array([11, 0, 5]))
    assert x.dtype == torch.float32 and x.shape == (3, 1, 64, 64)
    np.testing.assert_allclose(x[:, 0, 0, 0].numpy(), np.array([11, 0, 5]) / 255, rtol=1e-6)
    assert ds.images.shape == (12, 1, 64, 64)


def test_grey_levels_become_the_correctly_rounded_float32_quotient():
    # the reference divides float32 images by 255; every one of the 256 levels must match it bitwise
    g = FactorGrid.build(["level"], [256])
    imgs = torch.arange(256, dtype=torch.uint8).view(256, 1, 1, 1).expand(256, 1, 64, 64).contiguous()
    ds = GroundTruthDataset("t", g, Provenance("procedural", generator="test", version="0"), images=imgs, max_value=255)
    got = ds.observe(np.arange(256))[:, 0, 0, 0].numpy()
    np.testing.assert_array_equal(got, np.arange(256, dtype=np.float32) / np.float32(255))


def test_bad_indices_and_images_refused():
    ds = make()
    with pytest.raises(BenchmarkError, match="indices"):
        ds.observe(np.array([12]))
    with pytest.raises(BenchmarkError, match="uint8"):
        GroundTruthDataset("t", ds.grid, ds.provenance, images=torch.zeros(12, 1, 64, 64))
    with pytest.raises(BenchmarkError, match="grid of 12"):
        GroundTruthDataset("t", ds.grid, ds.provenance, images=torch.zeros(5, 1, 64, 64, dtype=torch.uint8))


def test_info_records_provenance():
    info = make().info()
    assert info["data_source"] == "procedural" and info["data_generator"] == "test"
    assert info["factor_sizes"] == [3, 4]
