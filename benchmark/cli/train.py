"""``train``: train one zoo model resumably (see :func:`benchmark.train.train`)."""

from __future__ import annotations

from pathlib import Path

from benchmark.cli import common
from benchmark.models import MODELS
from benchmark.train.config import SWITCHES, TrainConfig

# CLI flag -> model hyperparameter (only flags the user gives are passed; a flag the model does not
# have is one clear error)
HPARAM_FLAGS = {
    "beta": "beta (beta_vae, beta_tcvae)",
    "gamma": "gamma (factor_vae TC weight; annealed_vae capacity weight)",
    "c_max": "final capacity C in nats (annealed_vae)",
    "iteration_threshold": "steps of the capacity ramp (annealed_vae, default 100000)",
    "lambda_od": "off-diagonal weight (dip_vae_i, dip_vae_ii)",
    "lambda_d_factor": "lambda_d / lambda_od (dip_vae_i default 10, dip_vae_ii default 1)",
}


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train one model (resumes from its result folder)",
        description="Train one zoo model on a dataset. The result folder holds config.json, "
        "checkpoint.pt (atomic, resumable), train_log.csv and train_result.json. "
        "Rerunning the same command after a kill continues from the last checkpoint.",
    )
    p.add_argument("--model", required=True, choices=list(MODELS), help="zoo model")
    for name, help_ in HPARAM_FLAGS.items():
        typ = int if name == "iteration_threshold" else float
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None, help=help_)
    d = TrainConfig()
    p.add_argument("--dataset", default=d.dataset, help=f"registered dataset (default {d.dataset}; see 'data list')")
    common.add_data_dir(p)
    common.add_results_dir(p)
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="result folder (default: RESULTS_DIR/train/<model>_<params>_<dataset>_seed<seed>)",
    )
    p.add_argument(
        "--steps", type=int, default=d.steps, help=f"optimiser steps (default {d.steps:,}, the paper preset)"
    )
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"images per step (default {d.batch_size})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr:g})")
    p.add_argument(
        "--optimizer", choices=("adam", "adagrad"), default=d.optimizer, help="main optimiser (default adam)"
    )
    p.add_argument(
        "--architecture",
        choices=("conv", "fc"),
        default=d.architecture,
        help="conv: reference conv encoder/decoder; fc: the paper's dSprites MLP (default conv)",
    )
    p.add_argument("--latent-dim", type=int, default=d.latent_dim, help=f"code size (default {d.latent_dim})")
    p.add_argument(
        "--likelihood",
        choices=("bernoulli", "gaussian"),
        default=d.likelihood,
        help="decoder likelihood (default bernoulli on logits)",
    )
    common.add_seed(p, "seeds weights, data stream and noise")
    p.add_argument("--log-every", type=int, default=d.log_every, help=f"steps between CSV rows (default {d.log_every})")
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=d.checkpoint_every,
        help=f"steps between checkpoints (default {d.checkpoint_every})",
    )
    common.add_device(p)
    p.add_argument("--amp", choices=SWITCHES, default="auto", help="bfloat16 autocast: auto = on for CUDA only")
    p.add_argument("--compile", choices=SWITCHES, default="auto", help="torch.compile the model: auto = off")
    p.add_argument("--channels-last", choices=SWITCHES, default="auto", help="NHWC conv layout: auto = on for CPU")
    p.add_argument(
        "--graph",
        choices=SWITCHES,
        default="auto",
        help="CUDA engine: draw batches and noise on the device and replay each step as one CUDA graph; "
        "auto = on for CUDA, off = the same device step run eagerly; CPU always runs eagerly",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: the idle cores at start)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=lambda args: _run_train(args))


def default_out(model: str, params: dict, dataset: str, seed: int, results_dir="results") -> Path:
    """``RESULTS_DIR/train/<model>_<params>_<dataset>_seed<seed>``: the result folder ``--out`` defaults to."""
    tag = "_".join(f"{k}{v:g}" for k, v in sorted(params.items()))
    return Path(results_dir) / "train" / "_".join(x for x in (model, tag, dataset, f"seed{seed}") if x)


def _run_train(args) -> int:
    from benchmark.data.registry import load_dataset
    from benchmark.train.engine import train

    if args.steps == 0:  # would save the untrained initial weights as this run's checkpoint
        from benchmark.errors import BenchmarkError

        raise BenchmarkError(
            "--steps 0 trains nothing (a new folder would get an untrained checkpoint); pass --steps N >= 1"
        )
    params = {k: getattr(args, k) for k in HPARAM_FLAGS if getattr(args, k) is not None}
    config = TrainConfig(
        model=args.model,
        params=params,
        dataset=args.dataset,
        architecture=args.architecture,
        latent_dim=args.latent_dim,
        likelihood=args.likelihood,
        steps=args.steps,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        seed=args.seed,
        log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
        device=args.device,
        amp=args.amp,
        compile=args.compile,
        channels_last=args.channels_last,
        graph=args.graph,
        threads=args.threads,
    )
    # fail on a bad model parameter before loading a large dataset
    from benchmark.models import make_config

    make_config(args.model, **params)
    if args.threads is not None:
        from benchmark.runtime import check_threads

        check_threads(args.threads)
    out = Path(args.out) if args.out else default_out(args.model, params, args.dataset, args.seed, args.results_dir)
    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    result = train(config, dataset, out, progress=not args.no_progress)
    name = " ".join([args.model] + [f"{k}={v:g}" for k, v in params.items()])
    terms = ", ".join(f"{k} {v:.4g}" for k, v in result.final.items() if k not in ("step", "wall_s", "images_per_s"))
    if result.resumed_from is not None and result.resumed_from >= args.steps:
        print(
            f"{name} was already trained for {result.steps:,} steps (asked for {args.steps:,}); nothing to do. "
            f"Last logged: {terms}"
        )
    else:
        resumed = f" (resumed at step {result.resumed_from:,})" if result.resumed_from else ""
        print(
            f"trained {name} for {result.steps:,} steps{resumed} on {result.device} "
            f"({result.images_per_s:,.0f} images/s): {terms}"
        )
    print(f"result folder: {out}")
    return 0
