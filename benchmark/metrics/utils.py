"""Shared pieces of every score: code lookup by flat image index, reference-order sampling, the
histogram discretiser and the discrete mutual-information / entropy estimators.

Everything here follows ``disentanglement_lib/evaluation/metrics/utils.py``, with one change of layout: we keep codes as
``(N, D)`` and factors as ``(N, K)``
("samples x dimensions", the numpy/sklearn convention) instead of the reference's transposed
``(D, N)``; every formula is written for that layout.

Codes
-----
A score never sees a model. It reads the representation of image ``i`` (flat index into the
dataset's :class:`~benchmark.data.grid.FactorGrid`) from a *code source*, any of:

* an array ``(N, D)`` with one row per image of the grid (checked finite once);
* a :class:`~benchmark.metrics.encode.Codes` (what :func:`encode_dataset` returns, possibly for a
  subset of the indices);
* any object with ``get(indices) -> (n, D) array`` (e.g. an encoder-on-the-fly lookup, which is
  how the benchmark measures "the reference's way"). Its rows are checked finite when read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.errors import BenchmarkError


# --------------------------------------------------------------------------------------------------
# Code sources
# --------------------------------------------------------------------------------------------------
def _check_finite(values: np.ndarray, what: str = "codes") -> None:
    if not np.all(np.isfinite(values)):
        bad = np.argwhere(~np.isfinite(values))[0]
        raise BenchmarkError(
            f"{what} contain NaN or infinite values (first at row {bad[0]}, dimension {bad[-1]}); "
            "the model diverged or the codes file is corrupt — retrain or recompute the codes"
        )


def read_codes_file(path, num_images: int) -> np.ndarray:
    """Codes saved by the user: an ``.npy`` array, or the ``mean`` (else ``codes``) array of an ``.npz``.

    The header is checked before any data is read (:mod:`benchmark.data.npy`): a number dtype (no
    Python objects), shape ``(num_images, D)`` with ``D >= 1``, data present; an ``.npy`` is
    memory-mapped. Any problem is one :class:`~benchmark.errors.BenchmarkError` line naming the
    file and the fix.

    Parameters
    ----------
    path : path-like
    num_images : int
        The dataset's grid size: one code row per image, in flat index order.

    Returns
    -------
    ndarray of shape (num_images, D)
    """
    from pathlib import Path

    from benchmark.data import npy

    p = Path(path)
    fix = f"save a ({num_images}, D) float array, one row per image, with numpy.save"
    if not p.is_file():
        raise BenchmarkError(f"codes file {p} not found; {fix}")

    def rows_and_dims(head) -> None:
        if head.shape[0] != num_images:
            raise BenchmarkError(
                f"{p}: codes have {head.shape[0]} rows but the dataset has {num_images} images; "
                "give one row per image in the dataset's flat index order"
            )
        if head.shape[1] == 0:
            raise BenchmarkError(f"{p}: codes have shape {head.shape}: zero code dimensions; {fix} (D >= 1)")

    if p.suffix == ".npz":
        keys = npy.npz_keys(p, fix)
        key = "mean" if "mean" in keys else ("codes" if "codes" in keys else None)
        if key is None:
            raise BenchmarkError(f"{p}: no 'mean' or 'codes' array inside; found {keys}")
        return npy.npz_member(p, key, dtype="fiub", shape=(None, None), fix=fix, check=rows_and_dims)
    return npy.read_npy(p, dtype="fiub", shape=(None, None), fix=fix, mmap=True, check=rows_and_dims)


class ArrayCodes:
    """Codes of every image of a grid, one row per flat index."""

    def __init__(self, array: np.ndarray, num_images: int | None = None):
        array = np.asarray(array)
        if array.ndim != 2:
            raise BenchmarkError(f"codes must be a 2-D array (num_images, D), got shape {array.shape}")
        if num_images is not None and array.shape[0] != num_images:
            raise BenchmarkError(
                f"codes have {array.shape[0]} rows but the dataset has {num_images} images; "
                "give one row per image in the dataset's flat index order"
            )
        if array.shape[1] == 0:
            raise BenchmarkError(
                f"codes have shape {array.shape}: zero code dimensions; give ({array.shape[0]}, D) "
                "with D >= 1 (one column per code dimension)"
            )
        if not np.issubdtype(array.dtype, np.floating):
            if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
                raise BenchmarkError(
                    f"codes must be numbers, got an array of dtype {array.dtype}; give the encoder's float outputs"
                )
            array = array.astype(np.float64)
        _check_finite(array)
        self.array = array
        self.dim = array.shape[1]

    def get(self, indices) -> np.ndarray:
        return self.array[np.asarray(indices, dtype=np.int64)]


class _CheckedSource:
    """Wrap a foreign ``get(indices)`` source so that every read is shape- and finiteness-checked."""

    def __init__(self, source: Any):
        self.source = source
        self.dim = getattr(source, "dim", None)

    def get(self, indices) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        out = np.asarray(self.source.get(idx))
        if out.ndim != 2 or out.shape[0] != idx.shape[0] or out.shape[1] == 0:
            raise BenchmarkError(
                f"code source returned shape {out.shape} for {idx.shape[0]} indices; expected (n, D), D >= 1"
            )
        _check_finite(out)
        if self.dim is None:
            self.dim = out.shape[1]
        return out


def as_codes(codes: Any, num_images: int | None = None):
    """Turn an array, a :class:`Codes` or a ``get(indices)`` object into a checked code source."""
    if isinstance(codes, (ArrayCodes, _CheckedSource)):
        return codes
    if isinstance(codes, np.ndarray):
        return ArrayCodes(codes, num_images)
    try:
        import torch

        if isinstance(codes, torch.Tensor):
            return ArrayCodes(codes.detach().cpu().numpy(), num_images)
    except ImportError:  # pragma: no cover
        pass
    if hasattr(codes, "get"):
        return codes if getattr(codes, "checked", False) else _CheckedSource(codes)
    raise BenchmarkError(
        f"cannot read codes from a {type(codes).__name__}; give an (N, D) array, the Codes of encode_dataset, "
        "or an object with get(indices) -> (n, D) array"
    )


def gather(codes, indices) -> np.ndarray:
    """Codes of ``indices`` (any shape of int array) -> array ``indices.shape + (D,)``."""
    idx = np.asarray(indices, dtype=np.int64)
    flat = codes.get(idx.reshape(-1))
    return flat.reshape(idx.shape + (flat.shape[-1],))


# --------------------------------------------------------------------------------------------------
# Sampling in the reference's order
# --------------------------------------------------------------------------------------------------
def sample_points(grid, num_points: int, rng: np.random.Generator, batch_size: int = 16):
    """``(latents (n, K), flat indices (n,))`` drawn as ``generate_batch_factor_code`` does.

    The reference draws chunk by chunk (``min(batch_size, remaining)`` rows each): latent factors
    (one call per factor), then the nuisance factors of that chunk. ``batch_size`` therefore only
    changes the interleaving of random draws, never the distribution.
    """
    latents, idx = [], []
    done = 0
    while done < num_points:
        b = min(batch_size, num_points - done)
        lat = grid.sample_latents(b, rng)
        latents.append(lat)
        idx.append(grid.latents_to_index(lat, rng))
        done += b
    if not latents:
        return np.zeros((0, grid.num_latents), np.int64), np.zeros(0, np.int64)
    return np.concatenate(latents), np.concatenate(idx)


def split_train_test(x: np.ndarray, fraction: float):
    """First ``ceil(n * fraction)`` rows are train, the rest test (no shuffling), as the reference."""
    n_train = int(np.ceil(x.shape[0] * fraction))
    return x[:n_train], x[n_train:]


# --------------------------------------------------------------------------------------------------
# Discretisation, mutual information, entropy
# --------------------------------------------------------------------------------------------------
def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Equal-width binning of every code dimension over its own observed range.

    For each column: ``num_bins`` equal-width bins between the column's min and max (numpy's
    ``histogram`` edges); the right-most edge is dropped and each value gets the number of remaining
    edges <= value, so ids run 1..num_bins and the maximum lands in bin ``num_bins``. A constant
    column (numpy widens its range to +-0.5) gets one id for every sample, hence zero MI. A column
    whose range is too narrow for its precision to hold ``num_bins`` distinct edges (e.g. two float32
    values one ulp apart) raises, as numpy's histogram does in the reference.

    Parameters
    ----------
    codes : array (n, D)
    num_bins : int

    Returns
    -------
    int array (n, D) of bin ids.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise BenchmarkError(f"codes to discretise must be (n, D), got shape {codes.shape}")
    out = np.zeros(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        try:
            edges = np.histogram(codes[:, d], num_bins)[1][:-1]
        except ValueError as e:  # numpy's "Too many bins for data range"; the reference fails the same way
            raise BenchmarkError(
                f"cannot discretise code dimension {d} into {num_bins} equal-width bins: its range "
                f"[{codes[:, d].min()!r}, {codes[:, d].max()!r}] is too narrow for its float precision "
                f"({e})"
            ) from e
        out[:, d] = np.digitize(codes[:, d], edges)
    return out


def _contingency_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information (nats) of two integer label vectors; equals sklearn's
    ``mutual_info_score(a, b)`` (tested), computed from the joint histogram."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    na, nb = ai.max() + 1, bi.max() + 1
    joint = np.bincount(ai * nb + bi, minlength=na * nb).reshape(na, nb).astype(np.float64)
    n = joint.sum()
    pa = joint.sum(1, keepdims=True)
    pb = joint.sum(0, keepdims=True)
    nz = joint > 0
    mi = np.sum(joint[nz] / n * (np.log(joint[nz] * n) - np.log((pa @ pb)[nz])))
    return float(max(mi, 0.0))


def discrete_mutual_info(codes_disc: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """MI matrix ``(D, K)``: entry (i, j) = plug-in MI (nats) between code column i and factor column j.

    Equal to the reference's ``sklearn.metrics.mutual_info_score(factor_j, code_i)``.
    """
    codes_disc = np.asarray(codes_disc)
    factors = np.asarray(factors)
    if codes_disc.shape[0] != factors.shape[0]:
        raise BenchmarkError(
            f"codes ({codes_disc.shape[0]} rows) and factors ({factors.shape[0]} rows) differ in length"
        )
    m = np.zeros((codes_disc.shape[1], factors.shape[1]))
    for i in range(codes_disc.shape[1]):
        for j in range(factors.shape[1]):
            m[i, j] = _contingency_mi(factors[:, j], codes_disc[:, i])
    return m


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """Empirical entropy (nats) of every column of an integer array ``(n, K)``: H(y) = MI(y, y)."""
    factors = np.asarray(factors)
    return np.array([_contingency_mi(factors[:, j], factors[:, j]) for j in range(factors.shape[1])])


def normalize_data(x: np.ndarray, mean=None, std=None):
    """Per-column z-score with the population std (ddof 0); test data reuse train ``mean``/``std``.

    Computed in the codes' own float dtype, as the reference: float32 codes are z-scored in float32.
    That matters for a constant float32 column whose float32 mean rounds off its value (e.g. all
    0.1): its std is then a rounding residue, not 0, and the column becomes a constant +-1, which
    moves the explicitness classifier (float64 arithmetic would give zeros and another score).

    Deliberate fix: a column whose std is exactly 0 is divided by 1 instead of 0, so it becomes all
    zeros instead of NaN (the reference then crashes in the explicitness classifier).

    Returns ``(normalised, mean, std)``.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if mean is None:
        mean = x.mean(axis=0)
    if std is None:
        std = x.std(axis=0)
    safe = np.where(std > 0, std, np.ones_like(std))
    return (x - mean) / safe, mean, std


def rng_int(rng: np.random.Generator) -> int:
    """A 31-bit seed drawn from ``rng`` for libraries that want an int (sklearn, torch)."""
    return int(rng.integers(2**31 - 1))


class ReferenceRandomState:
    """numpy's ``RandomState(seed)`` -- the reference's generator -- behind the ``Generator`` methods
    our samplers call (``integers``, ``random``, ``uniform``, ``standard_normal``).

    Our samplers draw in the reference's order with the same calls (``randint(size, size=n)`` is
    ``integers(size, size=n)``), so with this stream they draw the reference's samples exactly, for
    the same seed: what ``evaluate(..., random_stream="reference")`` uses. It is exact on datasets
    without per-image nuisance noise; on color / noisy / scream dSprites the reference also draws that
    noise from the same stream between sample chunks, which encode-once codes cannot replay.
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self.random_state = np.random.RandomState(self.seed)

    def integers(self, low, high=None, size=None):
        return self.random_state.randint(low, high, size=size)

    def random(self, size=None):
        return self.random_state.random_sample(size)

    def uniform(self, low=0.0, high=1.0, size=None):
        return self.random_state.uniform(low, high, size)

    def standard_normal(self, size=None):
        return self.random_state.standard_normal(size)
