"""Score a user's model with the leaderboard's protocol and rank it; optionally submit it.

``python -m benchmark compare --checkpoint PATH [--model MODULE:CALLABLE]`` or
``python -m benchmark compare --codes FILE.npy --dataset NAME``. The representation is scored with
exactly the metrics, sample sizes, variants and seed of the chosen preset (the same function the
sweep uses), then ranked, per metric, only among leaderboard rows with the same dataset, data
source, preset and metric. ``--submit`` validates the new rows and appends them (``entry =
submitted``) under the leaderboard's lock, atomically, leaving every existing line as it was.
"""
from __future__ import annotations

import importlib
import math
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import BenchmarkError
from benchmark.report.leaderboard import COLUMNS, NOT_RANKED, append_rows, rank, read_leaderboard
from benchmark.report.results import META_COLUMNS


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
        raise BenchmarkError(f"cannot import {mod_name!r} for --model ({e}); check the module name and PYTHONPATH") from None
    finally:
        sys.path.pop(0)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise BenchmarkError(f"{mod_name} has no callable {fn_name!r}; --model must name a function returning the encoder")
    model = fn()
    if not isinstance(model, torch.nn.Module):
        raise BenchmarkError(f"{spec}() returned {type(model).__name__}, not a torch.nn.Module")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle / zip errors of many kinds
        raise BenchmarkError(f"cannot read {path} as a torch checkpoint ({type(e).__name__}: {e}); save it with torch.save(model.state_dict(), path)") from None
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
        raise BenchmarkError(f"{p} is an .npz archive (arrays: {names}), not one array; save the codes alone "
                             "with numpy.save(path.npy, codes) and pass that .npy file to --codes")
    if codes.ndim != 2:
        raise BenchmarkError(f"codes in {p} have shape {codes.shape}; expected (num_images, code_dim) = ({num_images}, D)")
    if codes.shape[1] == 0:
        raise BenchmarkError(f"codes in {p} have shape {codes.shape}: zero code dimensions; expected "
                             f"({num_images}, D) with D >= 1 (one column per code dimension)")
    if not (np.issubdtype(codes.dtype, np.number) or codes.dtype == np.bool_) or np.iscomplexobj(codes):
        raise BenchmarkError(f"codes in {p} are of dtype {codes.dtype}; save the encoder's float outputs with numpy.save")
    if codes.shape[0] != num_images:
        raise BenchmarkError(f"codes in {p} have {codes.shape[0]} rows but dataset {dataset} has {num_images} images; "
                             "these codes belong to another dataset: pass the matching --dataset, one row per image in flat index order")
    if not np.isfinite(codes).all():
        raise BenchmarkError(f"codes in {p} contain NaN or infinite values; fix the encoder output")
    return codes.astype(np.float32, copy=False)


def compare(args) -> int:
    """Score, rank and (with ``--submit``) append; prints a table. Returns 0."""
    from benchmark.data import load_dataset
    from benchmark.sweep.job import resolve_device, score_representation
    from benchmark.sweep.plan import resolve_data_source
    from benchmark.sweep.presets import get_preset

    if bool(args.checkpoint) == bool(args.codes):
        raise BenchmarkError("give exactly one of --checkpoint PATH or --codes FILE.npy")
    if args.model and not args.checkpoint:
        raise BenchmarkError("--model needs --checkpoint (the weights to load into it)")
    if args.codes and not args.dataset:
        raise BenchmarkError("--codes needs --dataset NAME (the dataset the codes were computed on)")
    if args.submit and not args.name:
        raise BenchmarkError("--submit needs --name NAME (how the entry appears on the leaderboard)")
    if args.name is not None:
        check_name(args.name)
    preset = get_preset(args.preset)
    board = read_leaderboard(args.leaderboard)  # malformed rows -> one clear error, before any work
    encoder, trained_on = (None, None)
    if args.checkpoint:
        encoder, trained_on = load_user_encoder(args.checkpoint, args.model)
    dataset_name = args.dataset or trained_on or preset.dataset
    if args.codes:  # shape check against the registered grid, before loading any data
        from benchmark.data import get_spec

        load_codes(args.codes, int(np.prod(get_spec(dataset_name).factor_sizes)), dataset_name)
    if trained_on and trained_on != dataset_name:
        raise BenchmarkError(f"checkpoint was trained on {trained_on} but --dataset is {dataset_name}; "
                             "scores are only comparable on the training dataset: drop --dataset or pass the right one")
    have = sorted(set(board["dataset"]))
    if dataset_name not in have:
        raise BenchmarkError(f"the leaderboard {args.leaderboard} has no rows for dataset {dataset_name} (it has: "
                             f"{', '.join(have) or 'none'}); run `python run_all.py --dataset {dataset_name} --preset {preset.name}` first")
    source = resolve_data_source(dataset_name, args.data_dir, args.data_source)
    peers = board[(board["dataset"] == dataset_name) & (board["data_source"] == source) & (board["preset"] == preset.name)]
    if peers.empty:
        combos = sorted({f"{r.data_source}/{r.preset}" for r in board[board["dataset"] == dataset_name].itertuples()})
        raise BenchmarkError(f"the leaderboard has no {dataset_name} rows for data source {source} and preset {preset.name} "
                             f"(it has source/preset: {', '.join(combos)}); pass the matching --preset/--data-source")
    dataset = load_dataset(dataset_name, args.data_dir) if dataset_name == "dsprites_mini" or not _takes_source(dataset_name) \
        else load_dataset(dataset_name, args.data_dir, source=source)
    rep = load_codes(args.codes, len(dataset), dataset_name) if args.codes else encoder
    device = resolve_device(args.device)
    scores = score_representation(rep, dataset, preset.eval, seed=args.seed, device=device)
    rows, table, flags = [], [], []
    for metric, value in scores.items():
        if metric in META_COLUMNS or isinstance(value, (bool, np.bool_)):  # a flag (e.g. converged), not a score
            if isinstance(value, (bool, np.bool_)):
                flags.append(f"{metric} = {bool(value)}")
            continue
        if not (isinstance(value, (int, float)) and math.isfinite(value)) or metric in NOT_RANKED:
            continue
        if metric not in set(peers["metric"]):
            table.append((metric, f"{value:.4f}", "-", "(no leaderboard rows for this metric)"))
            continue
        r = rank(board, dataset=dataset_name, data_source=source, preset=preset.name, metric=metric, value=float(value))
        best = r["rows"].iloc[0]
        table.append((metric, f"{value:.4f}", f"{r['rank']} of {r['of']}",
                      f"{best['label']} {best['mean']:.4f}" + ("" if r["better"] else "  (lower is better)")))
        rows.append({"dataset": dataset_name, "data_source": source, "preset": preset.name, "metric": metric,
                     "value": float(value), "rank": r["rank"], "of": r["of"]})
    print(f"\n{args.name or 'your model'} on {dataset_name} ({source}), preset {preset.name}, seed {args.seed}:")
    print(format_table([("metric", "score", "rank", "best on leaderboard")] + table))
    if flags:
        print("flags (not scores): " + ", ".join(flags))
    if not rows:
        raise BenchmarkError(f"none of the scores ({', '.join(scores)}) has leaderboard rows to rank against for "
                             f"{dataset_name}/{source}/{preset.name}")
    if args.submit:
        submit(board, rows, args, device)
    return 0


def check_name(name: str) -> str:
    """The entry name, stripped; a blank name or one with control characters is refused (one line)."""
    text = str(name).strip()
    if not text:
        raise BenchmarkError("--name is blank; give the entry a visible name, e.g. --name my-vae")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise BenchmarkError(f"--name {text!r} holds control characters (a newline, a tab); use one line of plain text")
    return text


def format_table(lines: list[tuple[str, ...]]) -> str:
    """Columns as wide as their longest cell (metric names vary in length); numbers right-aligned."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join([line[0].ljust(widths[0]), line[1].rjust(widths[1]), line[2].rjust(widths[2]), line[3]]).rstrip()
                     for line in lines)


def _takes_source(name: str) -> bool:
    from benchmark.data import get_spec

    return bool(get_spec(name).official_files)


def submit(board: pd.DataFrame, rows: list[dict], args, device: str) -> pd.DataFrame:
    """Append the scored rows as ``submitted`` entries (validated; an existing entry of that name is refused).

    Like a measured row, each records what produced it: the device that scored it (``device``, not
    ``auto``), the commit of this checkout and the command.
    """
    from benchmark.sweep.job import git_commit

    name = check_name(args.name)
    model = f"submitted:{name}"

    def name_free(current: pd.DataFrame) -> None:  # checked on the table as it is under the lock
        if ((current["model"] == model) & (current["preset"] == rows[0]["preset"])
                & (current["dataset"] == rows[0]["dataset"])).any():
            raise BenchmarkError(f"the leaderboard already has an entry named {name!r} for this dataset and preset; "
                                 "choose another --name")

    name_free(board)  # before the work of building rows, as before
    cmd = "python -m benchmark compare " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else ""
    new = pd.DataFrame([{
        "dataset": r["dataset"], "data_source": r["data_source"], "preset": r["preset"], "model": model,
        "hyperparameters": "", "metric": r["metric"], "label": name, "kind": "submitted", "mean": r["value"],
        "std": float("nan"), "n": 1, "seeds": str(args.seed), "steps": None, "entry": "submitted",
        "device": device, "git_commit": git_commit() or "", "command": cmd,
    } for r in rows], columns=COLUMNS)
    # appended under the leaderboard's lock: no existing line moves or changes, a concurrent submission is kept
    merged = append_rows(args.leaderboard, new, check=name_free)
    print(f"submitted {len(new)} rows as {name!r} to {args.leaderboard}")
    return merged
