"""Checkpoints: one ``torch.save`` file of plain containers, written atomically, read with ``weights_only``.

A checkpoint is a dict::

    {"format": "disentangle-bench/checkpoint", "version": 1,
     "config": {...},            # plain dict: "model", hyperparameters, "dataset", "latent_dim",
                                 # "channels", "seed", the training settings
     "model": state_dict, "step": int,
     "optimizers": {name: optimizer state_dict},   # trainer checkpoints only
     "rng": {...}}                                 # every RNG state (trainer checkpoints only)

Everything in it is a tensor or a primitive, so ``torch.load(weights_only=True)`` reads it and a
checkpoint can never execute code. A missing, truncated, corrupt or mismatched file raises
:class:`~benchmark.errors.CheckpointError` with one line naming the file and the fix.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Optional

import torch

from benchmark.errors import CheckpointError
from benchmark.io import atomic_torch_save

FORMAT = "disentangle-bench/checkpoint"
VERSION = 1
REQUIRED_CONFIG = ("model", "dataset", "latent_dim", "channels", "seed")


def save_checkpoint(
    path,
    model: torch.nn.Module,
    config: dict,
    *,
    step: int = 0,
    optimizers: Optional[dict] = None,
    rng: Optional[dict] = None,
    extra: Optional[dict] = None,
) -> Path:
    """Write a checkpoint atomically (the old file stays intact until the new one is complete).

    Parameters
    ----------
    path : path-like
        Target file (conventionally ``<run>/checkpoint.pt``).
    model : nn.Module
        Its ``state_dict`` is stored (tensors moved to CPU).
    config : dict
        Plain JSON-like dict; must hold ``model``, ``dataset``, ``latent_dim``, ``channels``, ``seed``
        and the model's hyperparameters.
    step : int
        Completed optimisation steps.
    optimizers, rng, extra : dict, optional
        Optimiser state dicts by name, RNG states, any other primitives.

    Returns
    -------
    The path written.
    """
    missing = [k for k in REQUIRED_CONFIG if k not in config]
    if missing:
        raise ValueError(f"checkpoint config lacks {missing}")
    obj = {
        "format": FORMAT,
        "version": VERSION,
        "config": dict(config),
        "model": _to_cpu(model.state_dict()),
        "step": int(step),
        "optimizers": {k: _to_cpu(v) for k, v in (optimizers or {}).items()},
        "rng": rng or {},
        "extra": extra or {},
    }
    return atomic_torch_save(path, obj)


def read_checkpoint(path, map_location="cpu") -> dict:
    """The raw checkpoint dict, validated (format, version, config keys)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train the model first or pass the right path")
    try:
        with warnings.catch_warnings():  # a protocol-4 pickle also warns; the error below says it in one line
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        refused, reason = _load_failure(e)
        if refused == "objects":
            raise CheckpointError(
                f"{path} holds Python objects that a safe load refuses to run ({reason}); "
                "it was not written by 'python -m benchmark train': retrain, or re-save only tensors"
            ) from None
        if refused == "protocol":
            raise CheckpointError(
                f"{path} is a pickle of protocol 4 or later, which a safe load refuses ({reason}); "
                "it was not written by 'python -m benchmark train': retrain, or re-save it with torch.save"
            ) from None
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt: {reason}); "
            f"delete it and retrain, or point to an intact copy"
        ) from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a disentangle-bench checkpoint; pass a checkpoint.pt written by 'python -m benchmark train'"
        )
    if obj.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {obj.get('version')}, this code reads {VERSION}; "
            "retrain or use the matching version"
        )
    cfg = obj.get("config")
    if not isinstance(cfg, dict) or any(k not in cfg for k in REQUIRED_CONFIG):
        raise CheckpointError(
            f"{path} lacks a complete config ({', '.join(REQUIRED_CONFIG)}); it is damaged, retrain the model"
        )
    return obj


# torch's weights-only refusal wraps the unpickler's reason in paragraphs of advice; these lines are the advice
_ADVICE = (
    "Weights only load failed",
    "Please file an issue",
    "Check the documentation",
    "In PyTorch 2.6",
    "Re-running `torch.load`",
    "You can use",
)


def _load_failure(e: Exception, limit: int = 200) -> tuple[str | None, str]:
    """Why ``torch.load(weights_only=True)`` failed: ``(refused, reason)``.

    ``refused`` is ``"objects"`` when the weights-only unpickler met a global or class outside its
    allow-list (e.g. ``os.system``: the file would run code), ``"protocol"`` for the FRAME opcode of
    pickle protocol >= 4 (which it does not read), else None (the bytes are not a readable pickle:
    truncated or corrupt). ``reason`` is the one line of torch's message that says why.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()  # torch bolds part of its advice with ANSI codes
    # the reason follows "WeightsUnpickler error:" when torch names it so; else skip the advice lines
    tail = text.split("WeightsUnpickler error:", 1)[1] if "WeightsUnpickler error:" in text else text
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(_ADVICE) and not re.match(r"\(\d\)", ln)]
    reason = (useful or lines or [type(e).__name__])[0].split(". Please use")[0]
    if len(reason) > limit:
        reason = reason[:limit].rsplit(" ", 1)[0] + " ..."
    refused = None
    if "Weights only load failed" in text or "WeightsUnpickler error" in text:
        if re.search(r"global|class", reason, re.IGNORECASE):
            refused = "objects"
        elif reason.startswith("Unsupported operand 149"):  # 149 = FRAME, written by protocols 4 and 5
            refused = "protocol"
    return refused, reason


def load_checkpoint(path, device="cpu"):
    """Rebuild the model stored in a checkpoint.

    Returns
    -------
    (model, config_dict): the model in eval mode on ``device``, and the stored config.
    """
    from benchmark.models import build_model, config_from_dict

    obj = read_checkpoint(path)
    cfg = obj["config"]
    try:
        model = build_model(config_from_dict(cfg))
    except Exception as e:  # noqa: BLE001
        raise CheckpointError(
            f"{path}: its config cannot build a model ({str(e).splitlines()[0]}); "
            "the file is damaged or from another version"
        ) from None
    load_state(model, obj["model"], path)
    return model.to(device).eval(), cfg


def load_state(model: torch.nn.Module, state: dict, path="checkpoint") -> None:
    """``load_state_dict`` with a one-line CheckpointError on any mismatch."""
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as e:
        first = str(e).strip().splitlines()
        detail = " ".join(s.strip() for s in first[:2])[:200]
        raise CheckpointError(
            f"{path} does not match the model its config describes ({detail}); "
            f"the file is damaged or was written by other code"
        ) from None


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def exists(path) -> bool:
    return os.path.isfile(path)
