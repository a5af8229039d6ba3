"""``FactorGrid``: the factor space of a ground-truth dataset, and the index arithmetic on it.

A ground-truth dataset is a complete Cartesian grid of factor classes stored in row-major order
(the last factor varies fastest), exactly like dSprites and Shapes3D. Some factors are *latent*
(they are what the metrics try to recover) and the others are *nuisance* factors, which the
reference implementation (disentanglement_lib, ``ground_truth/util.py`` ``SplitDiscreteStateSpace``)
resamples uniformly for every image, even inside the fixed-factor batches of the BetaVAE and
FactorVAE scores. ``FactorGrid`` reproduces that sampling order exactly:

1. ``sample_latents``: one ``rng.integers(size, size=n)`` call per latent factor, in index order;
2. ``complete``: one call per nuisance factor, in index order, to fill in the rest.

The order is the reference's; the random stream is not: a ``numpy.random.Generator`` (PCG64) where
the reference uses ``numpy.random.RandomState`` (Mersenne Twister), so the same seed draws other
(equally distributed) samples and scores agree with the reference's to sampling noise, not bitwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from benchmark.errors import BenchmarkError


@dataclass(frozen=True)
class FactorGrid:
    """Names, sizes and values of every factor, and which of them are latent.

    Parameters
    ----------
    names : tuple of str
        All factor names in storage order (nuisance factors included).
    sizes : tuple of int
        Number of classes of each factor.
    values : tuple of ndarray
        The real value of each class of each factor (e.g. dSprites' orientation in radians).
    latent : tuple of int
        Positions (into ``names``) of the latent factors, in increasing order.
    """

    names: tuple[str, ...]
    sizes: tuple[int, ...]
    values: tuple[np.ndarray, ...] = field(compare=False)
    latent: tuple[int, ...]

    def __post_init__(self):
        n = len(self.names)
        if len(self.sizes) != n or len(self.values) != n:
            raise ValueError("names, sizes and values must have one entry per factor")
        for name, size, vals in zip(self.names, self.sizes, self.values):
            if size < 1 or len(vals) != size:
                raise ValueError(f"factor {name!r}: size {size} but {len(vals)} values")
        if list(self.latent) != sorted(set(self.latent)) or not all(0 <= i < n for i in self.latent):
            raise ValueError(f"latent positions must be sorted, unique and < {n}: {self.latent}")

    @classmethod
    def build(cls, names: Sequence[str], sizes: Sequence[int], values=None, latent=None) -> "FactorGrid":
        """Convenience constructor: values default to ``arange(size)``, latent to all factors."""
        sizes = tuple(int(s) for s in sizes)
        if values is None:
            values = [np.arange(s, dtype=np.float64) for s in sizes]
        values = tuple(np.asarray(v, dtype=np.float64) for v in values)
        latent = tuple(range(len(sizes))) if latent is None else tuple(int(i) for i in latent)
        return cls(tuple(names), sizes, values, latent)

    # -- shape of the grid ----------------------------------------------------------------------
    @property
    def num_images(self) -> int:
        return int(np.prod(self.sizes, dtype=np.int64))

    @property
    def bases(self) -> np.ndarray:
        """Row-major strides: index = sum_i class_i * bases_i (last factor fastest)."""
        sizes = np.asarray(self.sizes, dtype=np.int64)
        return np.concatenate([np.cumprod(sizes[::-1])[::-1][1:], [1]]).astype(np.int64)

    @property
    def nuisance(self) -> tuple[int, ...]:
        return tuple(i for i in range(len(self.sizes)) if i not in self.latent)

    @property
    def num_latents(self) -> int:
        """K, the number of latent (evaluated) factors."""
        return len(self.latent)

    @property
    def latent_sizes(self) -> tuple[int, ...]:
        return tuple(self.sizes[i] for i in self.latent)

    @property
    def latent_names(self) -> tuple[str, ...]:
        return tuple(self.names[i] for i in self.latent)

    # -- index <-> factor classes (vectorised) --------------------------------------------------
    def index(self, classes) -> np.ndarray:
        """Flat image indices of full factor-class rows ``(n, F)`` (all factors, storage order)."""
        classes = np.asarray(classes)
        if classes.ndim != 2 or classes.shape[1] != len(self.sizes):
            raise BenchmarkError(f"factor classes must have shape (n, {len(self.sizes)}), got {classes.shape}")
        classes = classes.astype(np.int64, copy=False)
        if np.any(classes < 0) or np.any(classes >= np.asarray(self.sizes)):
            raise BenchmarkError(f"factor classes out of range for sizes {self.sizes}")
        return classes @ self.bases

    def classes(self, index) -> np.ndarray:
        """Full factor-class rows ``(n, F)`` of flat image indices (inverse of :meth:`index`)."""
        index = np.asarray(index, dtype=np.int64)
        if np.any(index < 0) or np.any(index >= self.num_images):
            raise BenchmarkError(f"image indices must lie in [0, {self.num_images})")
        return (index[:, None] // self.bases[None, :]) % np.asarray(self.sizes, dtype=np.int64)[None, :]

    def latent_classes(self, index) -> np.ndarray:
        """Latent factor classes ``(n, K)`` of flat image indices."""
        return self.classes(index)[:, list(self.latent)]

    # -- sampling, in the reference's RNG order ---------------------------------------------------
    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` latent factor rows ``(n, K)``, each factor uniform and independent."""
        out = np.empty((n, self.num_latents), dtype=np.int64)
        for j, i in enumerate(self.latent):
            out[:, j] = rng.integers(self.sizes[i], size=n)
        return out

    def complete(self, latents, rng: np.random.Generator) -> np.ndarray:
        """Full factor rows from latent rows, nuisance factors drawn fresh per row."""
        latents = np.asarray(latents, dtype=np.int64)
        if latents.ndim != 2 or latents.shape[1] != self.num_latents:
            raise BenchmarkError(f"latent classes must have shape (n, {self.num_latents}), got {latents.shape}")
        n = latents.shape[0]
        full = np.empty((n, len(self.sizes)), dtype=np.int64)
        full[:, list(self.latent)] = latents
        for i in self.nuisance:
            full[:, i] = rng.integers(self.sizes[i], size=n)
        return full

    def latents_to_index(self, latents, rng: np.random.Generator) -> np.ndarray:
        """Flat indices of images with the given latent classes (nuisance factors random)."""
        return self.index(self.complete(latents, rng))

    def sample_index(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform random image indices with replacement (uniform over the factor grid)."""
        return rng.integers(self.num_images, size=n)
