"""Scoring a user's model or codes for the leaderboard: the runner's side of ``compare``.

The encoder (our checkpoint, or ``MODULE:CALLABLE`` + a state dict) or the codes file is loaded and
checked here, and scored by :func:`benchmark.sweep.scoring.score_representation` -- the function every
sweep run uses -- with the chosen preset's metrics, sample sizes, variants and seed. Ranking and
submitting are the report layer's (:mod:`benchmark.report.compare`).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np

from benchmark.errors import BenchmarkError


def load_user_encoder(checkpoint: str, spec: str | None):
    """The encoder to score: our checkpoint (``spec`` None) or ``MODULE:CALLABLE`` + a state dict.

    ``CALLABLE()`` must return a ``torch.nn.Module`` with ``encode(x) -> mean`` or ``(mean, logvar)``;
    the checkpoint is its ``state_dict`` (or a dict holding it under ``model`` / ``state_dict``),
    loaded with ``weights_only=True``.

    Returns
    -------
    ``(encoder, dataset name the checkpoint was trained on or None)``.
    """
    import torch

    path = Path(checkpoint)
    if not path.is_file():
        raise BenchmarkError(f"checkpoint {path} not found; pass an existing file to --checkpoint")
    if spec is None:
        from benchmark.models import load_checkpoint

        model, config = load_checkpoint(str(path))
        ds = config.get("dataset") if isinstance(config, dict) else getattr(config, "dataset", None)
        return model, ds
    if ":" not in spec:
        raise BenchmarkError(f"--model {spec!r} must be MODULE:CALLABLE, e.g. mypkg.models:build_encoder")
    mod_name, fn_name = spec.split(":", 1)
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise BenchmarkError(
            f"cannot import {mod_name!r} for --model ({e}); check the module name and PYTHONPATH"
        ) from None
    finally:
        sys.path.pop(0)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise BenchmarkError(
            f"{mod_name} has no callable {fn_name!r}; --model must name a function returning the encoder"
        )
    model = fn()
    if not isinstance(model, torch.nn.Module):
        raise BenchmarkError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle / zip errors of many kinds
        raise BenchmarkError(
            f"cannot read {path} as a torch checkpoint ({type(e).__name__}: {e}); "
            "save it with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(state, dict):
        for key in ("model", "state_dict", "model_state"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BenchmarkError(f"checkpoint {path} does not fit {spec}(): {first}") from None
    if not hasattr(model, "encode"):
        raise BenchmarkError(f"{spec}() has no encode(x) method; add one returning the code mean (or (mean, logvar))")
    model.eval()
    return model, None


def load_codes(path: str, num_images: int, dataset: str):
    """Codes for every image of the dataset, one row per flat index (one clear error otherwise)."""
    p = Path(path)
    if not p.is_file():
        raise BenchmarkError(f"codes file {p} not found; pass an .npy file to --codes")
    try:
        codes = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise BenchmarkError(f"cannot read {p} as a .npy array ({e}); save codes with numpy.save") from None
    if not isinstance(codes, np.ndarray):  # np.load opens an .npz archive as a lazy mapping of arrays
        names = ", ".join(getattr(codes, "files", [])) or "none"
        if hasattr(codes, "close"):
            codes.close()
        raise BenchmarkError(
            f"{p} is an .npz archive (arrays: {names}), not one array; save the codes alone "
            "with numpy.save(path.npy, codes) and pass that .npy file to --codes"
        )
    if codes.ndim != 2:
        raise BenchmarkError(
            f"codes in {p} have shape {codes.shape}; expected (num_images, code_dim) = ({num_images}, D)"
        )
    if codes.shape[1] == 0:
        raise BenchmarkError(
            f"codes in {p} have shape {codes.shape}: zero code dimensions; expected "
            f"({num_images}, D) with D >= 1 (one column per code dimension)"
        )
    if not (np.issubdtype(codes.dtype, np.number) or codes.dtype == np.bool_) or np.iscomplexobj(codes):
        raise BenchmarkError(
            f"codes in {p} are of dtype {codes.dtype}; save the encoder's float outputs with numpy.save"
        )
    if codes.shape[0] != num_images:
        raise BenchmarkError(
            f"codes in {p} have {codes.shape[0]} rows but dataset {dataset} has {num_images} images; "
            "these codes belong to another dataset: pass the matching --dataset, one row per image in flat index order"
        )
    if not np.isfinite(codes).all():
        raise BenchmarkError(f"codes in {p} contain NaN or infinite values; fix the encoder output")
    return codes.astype(np.float32, copy=False)


def num_images(dataset: str) -> int:
    """Images in a registered dataset's grid (the rows a codes file must have), without loading it."""
    from benchmark.data import get_spec

    return int(np.prod(get_spec(dataset).factor_sizes))


def score_entry(
    rep, codes: str | None, dataset_name: str, source: str, preset, data_dir, device: str, seed: int
) -> dict:
    """Scores of an encoder ``rep`` (or of the codes file ``codes``) on ``dataset_name`` from ``source``,
    under ``preset``'s evaluation recipe: ``{results.csv column: value}`` plus ``_details``."""
    from benchmark.data import load_dataset
    from benchmark.sweep.scoring import score_representation

    dataset = load_dataset(dataset_name, data_dir, source=source)
    if codes is not None:
        rep = load_codes(codes, len(dataset), dataset_name)
    return score_representation(rep, dataset, preset.eval, seed=seed, device=device, progress=True)
