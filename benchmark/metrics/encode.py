"""Representation extraction: encode a dataset's images once, then every score reads codes by index.

The reference re-encodes every image each metric samples (~2.9 million encodings for the study's
suite on dSprites, whose grid has 737,280 images). Here :func:`encode_dataset` encodes each needed
image once, under ``torch.inference_mode``, in batches sized for the device, and caches the codes
(and log-variances) on disk. :func:`choose_indices` decides between encoding the whole grid and only
the unique indices the metrics' samples touch, whichever is cheaper.

Encoder protocol
----------------
Anything with ``encode(x) -> mean`` or ``encode(x) -> (mean, logvar)`` where ``x`` is a float32
tensor ``(n, C, 64, 64)`` with values in [0, 1] and ``mean``/``logvar`` are ``(n, D)`` (``logvar``
may be ``None``, e.g. for a plain autoencoder). ``torch.nn.Module`` encoders are put in ``eval()``
mode while encoding and restored afterwards. The codes are the encoder *mean*, the representation
the published scores use.

Stochastic datasets (``dataset.stochastic``, e.g. color_dsprites / noisy_dsprites)
---------------------------------------------------------------------------------
The reference draws a fresh nuisance (tint, background noise) every time an image is sampled.
Encoding once needs one fixed draw per image: we draw it from
``numpy.random.default_rng(noise_seed)`` while encoding the selected indices in increasing order,
in batches of ``batch_size``. The codes are therefore a deterministic function of
(encoder, dataset, noise_seed, selected indices, batch_size), all of which are in the cache key and
in ``Codes.info``. Metric samples on 737,280 images rarely repeat an index, so the sampled codes have
the reference's distribution; only an index drawn twice sees the same nuisance twice. For the
reference's exact per-sample semantics use :class:`OnTheFlyCodes` (re-encodes with fresh draws).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from benchmark.errors import BenchmarkError, one_line
from benchmark.progress import progress as progress_bar
from benchmark.metrics.utils import _check_finite

CACHE_VERSION = 1


@dataclass
class Codes:
    """Encoder means (and log-variances) by flat image index.

    Attributes
    ----------
    mean : float32 array (n, D)
    logvar : float32 array (n, D) or None
    indices : sorted unique int64 array (n,) of the flat indices of the rows, or None if row i is
        image i of the whole grid.
    num_images : int
        Size of the dataset's grid.
    info : dict
        How the codes were made (encoder key, dataset provenance, device, batch size, seconds,
        images/s, cache file and whether it was a cache hit).
    """

    mean: np.ndarray
    logvar: Optional[np.ndarray]
    indices: Optional[np.ndarray]
    num_images: int
    info: dict = field(default_factory=dict)
    checked = True  # finite-checked at construction; utils.as_codes uses it as is

    def __post_init__(self):
        if self.mean.ndim != 2:
            raise BenchmarkError(f"codes must be (n, D), got shape {self.mean.shape}")
        if self.mean.shape[1] == 0:
            raise BenchmarkError(
                f"codes have shape {self.mean.shape}: zero code dimensions; the encoder must "
                "return at least one code dimension per image"
            )
        expected = self.num_images if self.indices is None else len(self.indices)
        if self.mean.shape[0] != expected:
            raise BenchmarkError(f"{self.mean.shape[0]} code rows for {expected} images")
        _check_finite(self.mean, "encoder means")
        if self.logvar is not None:
            _check_finite(self.logvar, "encoder log-variances")

    @property
    def dim(self) -> int:
        return self.mean.shape[1]

    def rows(self, indices) -> np.ndarray:
        """Row positions of flat ``indices``; error if an index was not encoded."""
        idx = np.asarray(indices, dtype=np.int64)
        if self.indices is None:
            if idx.size and (idx.min() < 0 or idx.max() >= self.num_images):
                raise BenchmarkError(f"image indices must lie in [0, {self.num_images})")
            return idx
        pos = np.searchsorted(self.indices, idx)
        pos = np.minimum(pos, len(self.indices) - 1)
        if not np.array_equal(self.indices[pos], idx):
            missing = idx[self.indices[pos] != idx][:3].tolist()
            raise BenchmarkError(
                f"images {missing} were not encoded; encode all images (indices=None) or the "
                "indices of the samples you score"
            )
        return pos

    def get(self, indices) -> np.ndarray:
        """Encoder means of flat ``indices`` (any 1-D int array)."""
        return self.mean[self.rows(indices)]

    def get_logvar(self, indices) -> Optional[np.ndarray]:
        return None if self.logvar is None else self.logvar[self.rows(indices)]


# --------------------------------------------------------------------------------------------------
def default_device():
    from benchmark.device import select_device

    return select_device("auto")


def default_batch_size(device) -> int:
    """64 on CPU (measured ~3x faster than 1,024 for the conv encoder on 2 cores), 1,024 on a GPU."""
    import torch

    return 1024 if torch.device(device).type == "cuda" else 64


def choose_indices(needed, num_images: int, subset_fraction: float = 0.9):
    """All images (``None``) or the sorted unique ``needed`` indices, whichever is cheaper to encode.

    Encoding cost is proportional to the number of images; a full pass is also reusable across seeds
    and metric sizes (cached), so the subset is chosen only when it has fewer than
    ``subset_fraction * num_images`` images (the reference suite on dSprites touches ~98 % of the grid,
    so it encodes everything; the quick preset touches a few per cent).
    """
    unique = np.unique(np.asarray(needed, dtype=np.int64))
    return None if len(unique) >= subset_fraction * num_images else unique


def encoder_output(encoder, x):
    """``encoder.encode(x)`` as ``(mean, logvar or None)``: the encoder contract is a mean, or (mean, logvar)."""
    out = encoder.encode(x)
    if isinstance(out, (tuple, list)):
        if len(out) == 0 or len(out) > 2:
            raise BenchmarkError(f"encoder.encode returned {len(out)} values; expected mean or (mean, logvar)")
        return out[0], (out[1] if len(out) == 2 else None)
    return out, None


def _dataset_fingerprint(dataset, noise_seed) -> str:
    info = dataset.info()
    if dataset.stochastic:
        info["noise_seed"] = noise_seed
    return hashlib.sha256(json.dumps(info, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cache_path(
    cache_dir, key: str, dataset, indices, noise_seed: int = 0, batch_size: int = 64, bf16: bool = False
) -> Path:
    """Where the codes of (encoder ``key``, dataset, index selection) are cached."""
    safe_key = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(key))[:64]
    if indices is None:
        sel = "all"
    else:
        sel = "sub" + hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()[:12]
    extra = (f"-noise{noise_seed}b{batch_size}" if dataset.stochastic else "") + ("-bf16" if bf16 else "")
    return (
        Path(cache_dir)
        / f"codes-v{CACHE_VERSION}-{safe_key}-{dataset.name}-{_dataset_fingerprint(dataset, noise_seed)}-{sel}{extra}.npz"  # noqa: E501
    )


def _load_cache(path: Path, num_images: int) -> Optional[Codes]:
    """The cached codes, or None (with a notice) when the file is unreadable, truncated or does not
    hold valid codes: the caller then encodes again and rewrites it atomically."""
    from benchmark.data import npy

    fix = "the codes are computed again"
    try:
        info = json.loads(npy.npz_string(path, "info", fix, max_chars=1 << 16))
        if not isinstance(info, dict):
            raise BenchmarkError(f"{path}: 'info' is not a JSON object")
        keys = npy.npz_keys(path, fix)
        mean = npy.npz_member(path, "mean", dtype="f", shape=(None, None), fix=fix)
        shape = (mean.shape[0], mean.shape[1])
        logvar = npy.npz_member(path, "logvar", dtype="f", shape=shape, fix=fix) if "logvar" in keys else None
        indices = npy.npz_member(path, "indices", dtype="iu", shape=(shape[0],), fix=fix) if "indices" in keys else None
        if indices is not None and (
            indices.size and (indices[0] < 0 or indices[-1] >= num_images or np.any(np.diff(indices) <= 0))
        ):
            raise BenchmarkError(f"{path}: 'indices' are not sorted unique image indices")
        info.update(cache_file=str(path), cache_hit=True)
        return Codes(mean, logvar, None if indices is None else indices.astype(np.int64), num_images, info)
    except (BenchmarkError, json.JSONDecodeError) as e:
        print(f"notice: unreadable codes cache ({one_line(e)}); encoding again", file=sys.stderr)
        return None


def _save_cache(path: Path, codes: Codes) -> None:
    from benchmark.io import atomic_save_npz

    arrays = {"mean": codes.mean, "info": np.array(json.dumps(codes.info, default=str))}
    if codes.logvar is not None:
        arrays["logvar"] = codes.logvar
    if codes.indices is not None:
        arrays["indices"] = codes.indices
    atomic_save_npz(path, **arrays)


def encode_dataset(
    encoder: Any,
    dataset,
    indices=None,
    batch_size: Optional[int] = None,
    device=None,
    cache_dir=None,
    key: Optional[str] = None,
    noise_seed: int = 0,
    bf16: bool = False,
    progress: bool = True,
) -> Codes:
    """Encode images of ``dataset`` once with the encoder mean.

    Parameters
    ----------
    encoder : object with ``encode(x) -> mean | (mean, logvar)`` (see module docstring).
    dataset : GroundTruthDataset
    indices : int array, optional
        Flat indices to encode (sorted and de-duplicated here); ``None`` encodes the whole grid.
    batch_size : int, optional
        Images per forward pass (default 64 on CPU, 1,024 on CUDA).
    device : torch device or str, optional
        Default CUDA when available, else CPU. The encoder must already live there.
    cache_dir : path, optional
        Cache the codes there (atomic npz), keyed by ``key`` + dataset name + provenance hash +
        index selection (+ noise seed for stochastic datasets). Needs ``key``.
    key : str, optional
        What identifies the encoder, e.g. the checkpoint's SHA-256.
    noise_seed : int
        Seed of the one nuisance draw per image of stochastic datasets.
    bf16 : bool
        Run the encoder under bfloat16 autocast (declared option; off by default).
    progress : bool
        Report progress with images/s: a bar on a terminal, periodic lines in a log file.

    Returns
    -------
    Codes
    """
    import torch

    device = torch.device(device) if device is not None else default_device()
    batch_size = int(batch_size or default_batch_size(device))
    if batch_size < 1:
        raise BenchmarkError(f"batch size must be >= 1, got {batch_size}")
    n_grid = len(dataset)
    if indices is not None:
        indices = np.unique(np.asarray(indices, dtype=np.int64))
        if indices.size and (indices[0] < 0 or indices[-1] >= n_grid):
            raise BenchmarkError(f"{dataset.name}: image indices must lie in [0, {n_grid})")
    if cache_dir is not None and key is None:
        raise BenchmarkError("a codes cache needs a key identifying the encoder (e.g. the checkpoint's sha256)")
    path = None
    if cache_dir is not None:
        full = cache_path(cache_dir, key, dataset, None, noise_seed, batch_size, bf16)
        path = cache_path(cache_dir, key, dataset, indices, noise_seed, batch_size, bf16)
        # A whole-grid cache serves any subset (for a stochastic dataset the draws differ from a
        # subset pass but are equally distributed; codes.info says which file was used).
        for candidate in [full] if full == path else [full, path]:
            if candidate.exists():
                hit = _load_cache(candidate, n_grid)
                if hit is not None:
                    return hit
    if not hasattr(encoder, "encode"):
        raise BenchmarkError(
            f"{type(encoder).__name__} has no encode(x) method; an encoder must map images to "
            "codes with encode(x) -> mean or (mean, logvar)"
        )
    count = n_grid if indices is None else len(indices)
    noise_rng = np.random.default_rng(noise_seed) if dataset.stochastic else None
    was_training = getattr(encoder, "training", None)
    if was_training:
        encoder.eval()
    mean_out = logvar_out = None
    start = time.perf_counter()
    try:
        with torch.inference_mode(), progress_bar(count, f"encode {dataset.name}", "img", enabled=progress) as bar:
            for s in range(0, count, batch_size):
                if indices is None:
                    batch = (
                        dataset.images[s : s + batch_size]
                        if dataset.is_materialised
                        else dataset.uint8(np.arange(s, min(s + batch_size, count)))
                    )
                else:
                    batch = dataset.uint8(indices[s : s + batch_size])
                x = dataset.to_float(batch.to(device, non_blocking=True), noise_rng)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    mu, lv = encoder_output(encoder, x)
                mu = mu.float().reshape(len(x), -1)
                if mean_out is None:
                    mean_out = np.empty((count, mu.shape[1]), np.float32)
                    if lv is not None:
                        logvar_out = np.empty((count, mu.shape[1]), np.float32)
                mean_out[s : s + len(x)] = mu.cpu().numpy()
                if lv is not None and logvar_out is not None:
                    logvar_out[s : s + len(x)] = lv.float().reshape(len(x), -1).cpu().numpy()
                bar.update(len(x))
    finally:
        if was_training:
            encoder.train()
    seconds = time.perf_counter() - start
    if mean_out is None:
        raise BenchmarkError("no images to encode")
    info = {
        "encoder_key": key,
        "dataset": dataset.name,
        "dataset_fingerprint": _dataset_fingerprint(dataset, noise_seed),
        "selection": "all" if indices is None else "subset",
        "num_encoded": count,
        "batch_size": batch_size,
        "device": str(device),
        "bf16": bf16,
        "noise_seed": noise_seed if dataset.stochastic else None,
        "seconds": seconds,
        "images_per_second": count / seconds if seconds > 0 else None,
        "torch_threads": torch.get_num_threads(),
        "cache_file": str(path) if path else None,
        "cache_hit": False,
    }
    codes = Codes(mean_out, logvar_out, indices, n_grid, info)
    if path is not None:
        _save_cache(path, codes)
    return codes


class OnTheFlyCodes:
    """Codes computed by encoding the requested images on every read: the reference's way.

    ``get(indices)`` renders and encodes those images (in batches of ``batch_size``), drawing a fresh
    nuisance per image from ``rng`` for stochastic datasets, exactly as disentanglement_lib's
    representation function is called inside each metric. Used by the benchmark to time the
    reference's cost, and by anyone who wants per-sample nuisance draws.
    """

    def __init__(self, encoder, dataset, batch_size: int = 64, device=None, rng: Optional[np.random.Generator] = None):
        import torch

        self.encoder, self.dataset = encoder, dataset
        self.batch_size = int(batch_size)
        self.device = torch.device(device) if device is not None else default_device()
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.dim = None
        self.num_encoded = 0
        self.seconds = 0.0

    def get(self, indices) -> np.ndarray:
        import torch

        idx = np.asarray(indices, dtype=np.int64)
        start = time.perf_counter()
        out = []
        with torch.inference_mode():
            for s in range(0, len(idx), self.batch_size):
                x = self.dataset.observe(idx[s : s + self.batch_size], self.device, self.rng)
                mu, _ = encoder_output(self.encoder, x)
                out.append(mu.float().reshape(len(x), -1).cpu().numpy())
        self.seconds += time.perf_counter() - start
        self.num_encoded += len(idx)
        res = np.concatenate(out) if out else np.zeros((0, self.dim or 0), np.float32)
        self.dim = res.shape[1] if out else self.dim
        return res


class SampledCodes:
    """The reference's ``sampled`` representation: z = mu + exp(logvar / 2) * eps, fresh eps per read.

    disentanglement_lib evaluates every metric on both the encoder mean and this sampled code; the published comparisons
    rest on the mean. Built on
    encode-once :class:`Codes` that carry log-variances, so sampling costs no encoder pass; every
    ``get`` draws new noise from ``rng``, as each call of the reference's representation function does.
    """

    checked = True

    def __init__(self, codes: Codes, rng: np.random.Generator):
        if codes.logvar is None:
            raise BenchmarkError("the sampled representation needs an encoder that returns a log-variance")
        self.codes, self.rng = codes, rng
        self.dim = codes.dim

    def get(self, indices) -> np.ndarray:
        rows = self.codes.rows(indices)
        eps = self.rng.standard_normal((len(rows), self.dim)).astype(np.float32)
        return self.codes.mean[rows] + np.exp(0.5 * self.codes.logvar[rows]) * eps
