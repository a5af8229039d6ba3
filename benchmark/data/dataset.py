"""``GroundTruthDataset``: images with exact factor labels, the one interface the rest of the package uses.

The trainer and the metrics only ever touch a dataset through this class:

* ``dataset.grid`` (:class:`~benchmark.data.grid.FactorGrid`): factor names, sizes, values, which are
  latent, index <-> factor maps, factor sampling from a ``numpy.random.Generator``;
* ``dataset.images``: all images as one uint8 tensor ``(N, C, 64, 64)`` in row-major grid order
  (materialised on first use for datasets rendered on the fly);
* ``dataset.uint8(indices)``: the uint8 images of a batch of indices (renders only that batch for lazy
  datasets);
* ``dataset.to_float(batch_uint8, rng)`` / ``dataset.observe(indices, device, rng)``: float images in
  [0, 1], with the per-image nuisance transform of a variant (colour tint, background noise) drawn
  from ``rng``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Optional

import numpy as np
import torch

from benchmark.data.grid import FactorGrid
from benchmark.errors import BenchmarkError


@dataclass(frozen=True)
class Provenance:
    """Where a dataset's pixels came from; copied into every result row.

    ``source`` is ``"official"`` (a published file; ``file`` and ``sha256`` identify it) or
    ``"procedural"`` (rendered by ``generator`` at ``version``; ``file`` is the cache, if any).
    ``auxiliary`` names any other file the observations depend on, with its checksum
    (``scream_dsprites``: the painting).
    """

    source: str
    file: Optional[str] = None
    sha256: Optional[str] = None
    generator: Optional[str] = None
    version: Optional[str] = None
    auxiliary: Optional[str] = None

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        aux = f"; with {self.auxiliary}" if self.auxiliary else ""
        if self.source == "official":
            return f"official file {self.file} (sha256 {self.sha256}){aux}"
        where = f", cached at {self.file}" if self.file else ""
        return f"procedural ({self.generator} v{self.version}){where}{aux}"


# A nuisance transform maps float images (n, C_stored, H, W) in [0, 1] and a numpy Generator to the
# observed images (n, C, H, W). It is where variants such as color_dsprites draw their per-image noise.
NuisanceTransform = Callable[[torch.Tensor, np.random.Generator], torch.Tensor]


class GroundTruthDataset:
    """A complete factor grid of 64x64 images.

    Parameters
    ----------
    name : str
        Registry name (``"dsprites"``, ``"shapes3d"``, ...).
    grid : FactorGrid
        The factor space; image ``i`` has factor classes ``grid.classes([i])``.
    provenance : Provenance
        Official file with checksum, or procedural generator and version.
    images : torch.Tensor, optional
        uint8 ``(N, C_stored, 64, 64)`` in grid order. Give this or ``render``.
    render : callable, optional
        ``render(indices: ndarray) -> uint8 tensor (n, C_stored, 64, 64)`` for datasets that are
        rendered on the fly; ``images`` then renders (and keeps) the whole grid on first access.
    max_value : int
        The stored value of full intensity: 1 for dSprites (stored as 0/1), 255 otherwise.
    channels : int
        Channels of the *observed* images (after ``transform``).
    transform : NuisanceTransform, optional
        Per-image random nuisance applied when images are converted to float.
    """

    def __init__(
        self,
        name: str,
        grid: FactorGrid,
        provenance: Provenance,
        *,
        images: Optional[torch.Tensor] = None,
        render: Optional[Callable[[np.ndarray], torch.Tensor]] = None,
        max_value: int = 255,
        channels: Optional[int] = None,
        transform: Optional[NuisanceTransform] = None,
        image_size: int = 64,
    ):
        if images is None and render is None:
            raise ValueError("give images or render")
        if images is not None:
            if images.dtype != torch.uint8 or images.ndim != 4:
                raise BenchmarkError(
                    f"{name}: images must be a uint8 tensor (N, C, H, W), got {images.dtype} {tuple(images.shape)}"
                )
            if images.shape[0] != grid.num_images:
                raise BenchmarkError(f"{name}: {images.shape[0]} images for a grid of {grid.num_images}")
            image_size = images.shape[-1]
        self.name = name
        self.grid = grid
        self.provenance = provenance
        self._images = images
        self._render = render
        self.max_value = int(max_value)
        self.transform = transform
        stored = images.shape[1] if images is not None else None
        self.channels = int(channels if channels is not None else (stored or 1))
        self.image_size = int(image_size)

    def __repr__(self) -> str:
        factors = ", ".join(
            f"{n}={s}{'' if i in self.grid.latent else ' (nuisance)'}"
            for i, (n, s) in enumerate(zip(self.grid.names, self.grid.sizes))
        )
        return (
            f"GroundTruthDataset({self.name!r}, {len(self)} images, C={self.channels}, {factors}; "
            f"{self.provenance.describe()})"
        )

    def __len__(self) -> int:
        return self.grid.num_images

    @property
    def stochastic(self) -> bool:
        """True if an image's pixels depend on random per-image nuisance (colour, noise)."""
        return self.transform is not None

    @property
    def is_materialised(self) -> bool:
        return self._images is not None

    @property
    def images(self) -> torch.Tensor:
        """All stored images, uint8 ``(N, C_stored, 64, 64)`` in grid order."""
        if self._images is None:
            chunks = []
            step = 4096
            for start in range(0, len(self), step):
                chunks.append(self._render(np.arange(start, min(start + step, len(self)))))
            self._images = torch.cat(chunks)
        return self._images

    def uint8(self, indices) -> torch.Tensor:
        """Stored uint8 images of the given flat indices (CPU)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1:
            raise BenchmarkError(f"indices must be 1-D, got shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise BenchmarkError(f"{self.name}: image indices must lie in [0, {len(self)})")
        if self._images is not None:
            return self._images[torch.from_numpy(idx)]
        return self._render(idx)

    def to_float(self, batch: torch.Tensor, rng: Optional[np.random.Generator] = None) -> torch.Tensor:
        """Convert a uint8 batch (on any device) to float32 in [0, 1] and apply the nuisance transform.

        ``rng`` is required for stochastic datasets (the variant noise is drawn from it).
        """
        x = batch.to(torch.float32)
        if self.max_value != 1:
            # True division, as the reference's float32(k) / 255 (multiplying by 1/255 is 1 ulp off for
            # 126 of the 256 levels). The divisor is a tensor on the batch's device because CUDA turns
            # division by a Python scalar into a multiplication by its reciprocal.
            x = x.div_(torch.full((), float(self.max_value), device=x.device))
        if self.transform is not None:
            if rng is None:
                raise BenchmarkError(f"{self.name} draws per-image nuisance noise: pass rng=numpy.random.Generator")
            x = self.transform(x, rng)
        return x

    def observe(self, indices, device="cpu", rng: Optional[np.random.Generator] = None) -> torch.Tensor:
        """Float images in [0, 1], shape ``(n, C, 64, 64)``, for flat indices, on ``device``."""
        return self.to_float(self.uint8(indices).to(device, non_blocking=True), rng)

    def sample(self, n: int, rng: np.random.Generator, device="cpu"):
        """Draw latent factors uniformly, then observations: returns ``(latents (n, K), images)``."""
        latents = self.grid.sample_latents(n, rng)
        idx = self.grid.latents_to_index(latents, rng)
        return latents, self.observe(idx, device, rng)

    def info(self) -> dict:
        """Everything a result row needs to say which data produced it."""
        return {
            "dataset": self.name,
            "num_images": len(self),
            "factor_names": list(self.grid.names),
            "factor_sizes": list(self.grid.sizes),
            "latent_factors": [self.grid.names[i] for i in self.grid.latent],
            "channels": self.channels,
            **{f"data_{k}": v for k, v in self.provenance.as_dict().items()},
        }
