"""Contact sheets: one row per factor, only that factor varying."""

import numpy as np
import torch
from PIL import Image

from benchmark.data import FactorGrid, GroundTruthDataset, Provenance, load_dataset
from benchmark.data import contact_sheet as cs


def coded_dataset():
    """Each image's pixels hold its factor classes, so the sheet can be decoded back."""
    grid = FactorGrid.build(("a", "b", "c"), (3, 12, 2), latent=(0, 1))
    cl = grid.classes(np.arange(grid.num_images))
    imgs = torch.zeros((grid.num_images, 3, 64, 64), dtype=torch.uint8)
    for f in range(3):
        imgs[:, f] = torch.from_numpy(cl[:, f] * 20 + 10).to(torch.uint8)[:, None, None]
    return GroundTruthDataset("coded", grid, Provenance("procedural", generator="test", version="0"), images=imgs)


def test_sheet_classes_vary_one_factor():
    grid = FactorGrid.build(("a", "b"), (3, 40))
    rows = cs.sheet_classes(grid, np.array([1, 7]), max_columns=10)
    assert rows[0].tolist() == [[0, 7], [1, 7], [2, 7]]
    assert rows[1][:, 0].tolist() == [1] * 10 and rows[1][[0, -1], 1].tolist() == [0, 39]


def test_sheet_layout_and_content(tmp_path):
    ds = coded_dataset()
    path = cs.write_contact_sheet(ds, tmp_path / "sub" / "s.png", rng=np.random.default_rng(3), scale=1)
    im = np.asarray(Image.open(path).convert("RGB"))
    tile = 64
    assert im.shape == (3 * (tile + cs.GAP) + cs.GAP + 18, cs.LABEL_WIDTH + 10 * (tile + cs.GAP) + cs.GAP, 3)
    base = None
    for r in range(3):
        top = 18 + cs.GAP + r * (tile + cs.GAP)
        cols = [
            im[top + 32, cs.LABEL_WIDTH + cs.GAP + c * (tile + cs.GAP) + 32] for c in range(min(10, ds.grid.sizes[r]))
        ]
        classes = np.array([(np.asarray(p, int) - 10) // 20 for p in cols])  # (m, 3)
        others = [f for f in range(3) if f != r]
        assert (classes[:, others] == classes[0, others]).all()  # only factor r varies
        assert classes[0, r] == 0 and classes[-1, r] == ds.grid.sizes[r] - 1
        if base is None:
            base = classes[0, others[0]]


def test_procedural_sheet_renders(tmp_path):
    ds = load_dataset("chairs3d-procedural")
    p = cs.write_contact_sheet(ds, tmp_path / "c.png", rng=np.random.default_rng(0))
    im = Image.open(p)
    assert im.size[1] == 7 * (128 + cs.GAP) + cs.GAP + 18
