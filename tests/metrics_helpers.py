"""Small real factor grids, datasets and encoders shared by the metrics tests (tests/test_metrics_*.py)."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid


def small_grid() -> FactorGrid:
    """A nuisance factor of 2 classes and latent factors of 3, 4 and 5 classes (120 images)."""
    return FactorGrid.build(["tint", "a", "b", "c"], [2, 3, 4, 5], latent=(1, 2, 3))


def medium_grid() -> FactorGrid:
    """Latent factors 3 x 6 x 8 x 8 plus a nuisance of 2 (2,304 images): room for chance-level tests."""
    return FactorGrid.build(["tint", "shape", "scale", "x", "y"], [2, 3, 6, 8, 8], latent=(1, 2, 3, 4))


def ground_truth(grid) -> np.ndarray:
    return grid.latent_classes(np.arange(grid.num_images)).astype(np.float32)


def bar_images(grid, size: int = 16) -> torch.Tensor:
    """uint8 images (N, 1, size, size): factor f sets the brightness of row band f (a real, decodable picture)."""
    classes = grid.classes(np.arange(grid.num_images))
    imgs = np.zeros((grid.num_images, 1, size, size), np.uint8)
    band = size // len(grid.sizes)
    for f, s in enumerate(grid.sizes):
        level = (classes[:, f] + 1) * (255 // (s + 1))
        imgs[:, 0, f * band : (f + 1) * band, :] = level[:, None, None]
    return torch.from_numpy(imgs)


def dataset(grid=None, stochastic: bool = False, size: int = 16) -> GroundTruthDataset:
    grid = grid or small_grid()

    def tint(x, rng):  # per-image random brightness, like color_dsprites' tint
        return x * torch.from_numpy(rng.uniform(0.5, 1.0, size=(x.shape[0], 1, 1, 1)).astype(np.float32))

    return GroundTruthDataset(
        "bars",
        grid,
        Provenance("procedural", generator="tests.bars", version="1"),
        images=bar_images(grid, size),
        max_value=255,
        channels=1,
        transform=tint if stochastic else None,
    )


class LinearEncoder(torch.nn.Module):
    """A real (seeded, untrained) Gaussian encoder: mean and log-variance heads on the flat image."""

    def __init__(self, pixels: int, dim: int = 4, seed: int = 0, logvar: bool = True):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.mu = torch.nn.Linear(pixels, dim)
        self.lv = torch.nn.Linear(pixels, dim)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        self.with_logvar = logvar
        self.calls = 0

    def encode(self, x):
        self.calls += 1
        h = x.flatten(1)
        return (self.mu(h), self.lv(h)) if self.with_logvar else self.mu(h)


class LinearVAE(LinearEncoder):
    """Adds a linear decoder to logits: the encode/decode protocol of benchmark.metrics.generative."""

    def __init__(self, pixels: int, dim: int = 4, seed: int = 0, logvar: bool = True, shape=(1, 16, 16)):
        super().__init__(pixels, dim, seed, logvar)
        self.dec = torch.nn.Linear(dim, pixels)
        self.shape = shape

    def decode(self, z):
        return self.dec(z).reshape(len(z), *self.shape)
