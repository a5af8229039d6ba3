"""``evaluate``: score a checkpoint, a codes file or a baseline representation.

Loading a checkpoint belongs here, not in :mod:`benchmark.metrics`: the metrics take an encoder, a
model or codes and return numbers, and never import :mod:`benchmark.models`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmark.cli import common
from benchmark.errors import BenchmarkError


def add_parsers(sub) -> None:
    from benchmark.metrics.baselines import BASELINES
    from benchmark.metrics.evaluate import SAMPLE_SIZES, SUITE, available_metrics

    p = sub.add_parser(
        "evaluate",
        help="disentanglement scores (beta-VAE, FactorVAE, MIG, DCI, SAP, modularity, unsupervised, IRS) "
        "and generative scores",
        description="Encode the dataset once with the representation, then compute the requested scores "
        "with the reference's definitions. Give exactly one of --checkpoint, --codes, --baseline.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="model checkpoint (loaded with benchmark.models.load_checkpoint)")
    src.add_argument(
        "--codes",
        help=".npy file with one code row per image, in the dataset's flat index order "
        "(an .npz with a 'mean' array also works); needs --dataset",
    )
    src.add_argument(
        "--baseline",
        choices=[b for b in BASELINES if b != "untrained"],
        help="a baseline representation of the beta-VAE paper's table; needs --dataset",
    )
    p.add_argument("--dataset", help="dataset name (default for --checkpoint: the one it was trained on)")
    common.add_data_dir(p)
    p.add_argument(
        "--metrics",
        nargs="+",
        default=list(SUITE),
        metavar="METRIC",
        help=f"metrics to compute, from: {', '.join(available_metrics())} (default: {' '.join(SUITE)})",
    )
    p.add_argument(
        "--preset",
        choices=list(SAMPLE_SIZES),
        default="reference",
        help="sample sizes: reference = disentanglement_lib's study, quick = ~10x smaller, tiny = tests",
    )
    common.add_seed(
        p, "metric seed: each metric draws from its own numpy RandomState(seed), as the reference (see --random-stream)"
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="METRIC.NAME=VALUE",
        help="override one metric parameter, e.g. dci.n_jobs=1 or mig.num_train=20000 (repeatable; JSON values)",
    )
    p.add_argument(
        "--json", dest="json_out", default=None, help="write the full result (every parameter, versions) here"
    )
    common.add_device(p)
    p.add_argument("--batch-size", type=int, default=None, help="encoding batch size (default 64 on CPU, 1024 on GPU)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: idle cores)")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="codes cache folder (default for --checkpoint: <checkpoint folder>/codes_cache)",
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write the codes cache")
    common.add_seed(
        p, "seed of the one nuisance draw per image for stochastic datasets (color/noisy dSprites)", flag="--noise-seed"
    )
    p.add_argument(
        "--representation",
        choices=["mean", "sampled"],
        default="mean",
        help="score the encoder mean (published numbers) or the reference's sampled code mu + sigma * eps",
    )
    p.add_argument(
        "--random-stream",
        choices=["reference", "independent"],
        default="reference",
        help="reference: each metric draws from numpy.random.RandomState(--seed), the samples "
        "disentanglement_lib draws for that seed (exact on datasets without per-image nuisance "
        "noise), so the same seed gives the reference's numbers; independent: each metric draws "
        "from its own numpy Generator derived from --seed and its name",
    )
    p.add_argument(
        "--bf16",
        action="store_true",
        help="encode under bfloat16 autocast (declared option, off by default; check scores against float32)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)


def _check_output_file(path: str) -> None:
    """Refuse an output file that cannot be written before the (long) evaluation, not after it."""
    target = Path(path)
    if target.is_dir():
        raise BenchmarkError(f"cannot write {target}: it is a folder; pass a file path")
    from benchmark.io import make_dir

    make_dir(target.parent, "the folder of --json")


def _parse_params(items) -> dict:
    out: dict = {}
    for item in items:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise BenchmarkError(f"--param {item!r}: write it as METRIC.NAME=VALUE, e.g. dci.n_jobs=1")
        lhs, value = item.split("=", 1)
        metric, name = lhs.split(".", 1)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(metric, {})[name] = parsed
    return out


def cmd_evaluate(args) -> int:
    import numpy as np

    from benchmark.data.registry import load_dataset
    from benchmark.device import resolve_device
    from benchmark.io import atomic_write_json, sha256_file
    from benchmark.metrics.evaluate import available_metrics, evaluate
    from benchmark.runtime import set_threads

    set_threads(args.threads)
    device = resolve_device(args.device)
    if args.json_out:
        _check_output_file(args.json_out)
    bad = [m for m in args.metrics if m not in available_metrics()]
    if bad:
        raise BenchmarkError(f"unknown metric(s) {bad}; choose from {', '.join(available_metrics())}")
    params = _parse_params(args.param)
    source: dict = {}
    key = None
    cache_dir = None if args.no_cache else args.cache_dir
    if args.checkpoint:
        ckpt = Path(args.checkpoint)
        if not ckpt.is_file():
            raise BenchmarkError(f"checkpoint {ckpt} not found; give the path of a file written by training")
        from benchmark.models import load_checkpoint

        model, config = load_checkpoint(str(ckpt))
        model = model.to(device)
        name = args.dataset or (config or {}).get("dataset")
        if not name:
            raise BenchmarkError(f"{ckpt}: the checkpoint does not say its dataset; pass --dataset NAME")
        key = sha256_file(ckpt)
        if cache_dir is None and not args.no_cache:
            cache_dir = ckpt.parent / "codes_cache"
        rep = model
        source = {
            "checkpoint": str(ckpt),
            "checkpoint_sha256": key,
            "train_config": json.loads(json.dumps(config, default=str)),
        }
    else:
        if not args.dataset:
            raise BenchmarkError("--codes and --baseline need --dataset NAME")
        name = args.dataset
    dataset = load_dataset(name, data_dir=args.data_dir)
    if args.codes:
        from benchmark.metrics.utils import read_codes_file

        rep = read_codes_file(args.codes, len(dataset))
        source = {"codes_file": str(args.codes)}
        cache_dir = None
    elif args.baseline:
        from benchmark.metrics.baselines import baseline

        rng = np.random.default_rng(np.random.SeedSequence(args.seed, spawn_key=(0xBA5E,)))
        rep = baseline(args.baseline, dataset, rng)
        source = {"baseline": args.baseline, **getattr(rep, "info", {})}
        cache_dir = None
    if any(m == "generative" for m in args.metrics) and not args.checkpoint:
        raise BenchmarkError("the 'generative' metric needs --checkpoint (a model with a decoder)")
    if args.preset == "reference" and not args.quiet:
        print(_time_hint(len(args.metrics), str(device)), file=sys.stderr)
    result = evaluate(
        rep,
        dataset,
        metrics=args.metrics,
        seed=args.seed,
        preset=args.preset,
        params=params,
        device=device,
        batch_size=args.batch_size,
        cache_dir=cache_dir,
        key=key,
        noise_seed=args.noise_seed,
        bf16=args.bf16,
        representation=args.representation,
        progress=not args.quiet,
        random_stream=args.random_stream,
    )
    result["source"] = source
    width = max(len(k) for k in result["scores"]) if result["scores"] else 0
    for k, v in result["scores"].items():
        print(f"{k:<{width}}  {v if v is None or isinstance(v, int) else f'{v:.4f}'}")
    for w in result["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if args.json_out:
        atomic_write_json(args.json_out, result)
        print(f"wrote {args.json_out}")
    return 0


def _time_hint(n_metrics: int, device: str) -> str:
    """What reference-size scoring costs, from the measured speed of this kind of device (sweep.study)."""
    from benchmark.sweep.study import throughput_for

    tp = throughput_for(gpu=device.startswith("cuda"))
    if tp is None or not tp.eval_s:
        return f"scoring {n_metrics} metrics at reference sample sizes (--preset quick is ~10x smaller)"
    return (
        f"scoring {n_metrics} metrics at reference sample sizes: the full suite took {tp.eval_s / 60:.1f} min "
        f"per model on {tp.device}; --preset quick is ~10x smaller"
    )
