"""``figures`` (rebuild tables and figures from results files) and ``compare`` (score your model with the
runner, rank and submit it with the report layer)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli import common
from benchmark.errors import BenchmarkError


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "figures",
        help="rebuild figures, leaderboard and summary.md from results files (no training)",
        description="Rebuild the sweep figures (comparison with the paper, scores vs beta and normalised beta, "
        "trade-off), per-run figures from the arrays saved in run folders, the leaderboard and summary.md. "
        "Reads results.csv (or, with --rebuild, re-aggregates it from RESULTS_DIR/runs/*/metrics.json).",
    )
    common.add_results_dir(p)
    p.add_argument("--out", default=None, metavar="DIR", help="figures folder (default: RESULTS_DIR/figures)")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="re-aggregate results.csv from the finished run folders first (default: use results.csv as saved)",
    )
    p.add_argument("--no-leaderboard", action="store_true", help="do not touch leaderboard.csv")
    p.set_defaults(func=_figures)

    c = sub.add_parser(
        "compare",
        help="score your model with the leaderboard's protocol and print its rank",
        description="Score a model (a checkpoint, or codes computed elsewhere) with exactly the metrics, sample "
        "sizes, variants and seed of a preset, and rank it per metric among leaderboard rows of the same "
        "dataset, data source, preset and metric. --submit appends it to the leaderboard.",
    )
    src = c.add_argument_group("what to score (one of)")
    src.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="a checkpoint: ours (benchmark.models.load_checkpoint) or, with --model, your state_dict",
    )
    src.add_argument(
        "--model",
        default=None,
        metavar="MODULE:CALLABLE",
        help="CALLABLE() returns your torch.nn.Module with encode(x) -> mean or (mean, logvar); "
        "the checkpoint's state_dict is loaded into it (weights_only)",
    )
    src.add_argument(
        "--codes",
        default=None,
        metavar="FILE.npy",
        help="codes computed elsewhere: shape (num_images, D), one row per image in the dataset's flat index order",
    )
    c.add_argument(
        "--dataset",
        default=None,
        metavar="NAME",
        help="dataset (required with --codes; default: the checkpoint's, else the preset's)",
    )
    common.add_data_source(c)
    common.add_data_dir(c)
    c.add_argument(
        "--preset",
        default="quick",
        metavar="NAME",
        help="protocol to score with and to rank within: quick, paper, paper_fc, tiny (default: quick)",
    )
    common.add_seed(c, "metric seed")
    common.add_device(c)
    common.add_results_dir(c)
    c.add_argument(
        "--leaderboard",
        default=None,
        metavar="CSV",
        help="leaderboard to rank against, and to append to with --submit (default: RESULTS_DIR/leaderboard.csv)",
    )
    c.add_argument("--name", default=None, metavar="NAME", help="name of your entry (required with --submit)")
    c.add_argument("--submit", action="store_true", help="append the scores to the leaderboard as a submitted entry")
    c.set_defaults(func=compare)


def _figures(args: argparse.Namespace) -> int:
    from benchmark.report import refresh

    df, made = refresh(
        args.results_dir,
        rebuild_table=args.rebuild,
        figures_dir=args.out,
        leaderboard=None if not args.no_leaderboard else _scratch(),
    )
    n = sum(len(v) for v in made.values())
    print(
        f"wrote {n} figure files to {args.out or Path(args.results_dir) / 'figures'} and "
        f"{Path(args.results_dir) / 'summary.md'} from {len(df)} runs"
    )
    return 0


def _scratch() -> str:
    import tempfile

    return str(Path(tempfile.mkdtemp(prefix="lb-")) / "leaderboard.csv")


def compare(args) -> int:
    """Score, rank and (with ``--submit``) append; prints a table. Returns 0."""
    from benchmark.device import resolve_device
    from benchmark.report.compare import check_name, format_table, peers_of, rank_scores, submit
    from benchmark.report.leaderboard import read_leaderboard
    from benchmark.sweep.compare import load_codes, load_user_encoder, num_images, score_entry
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
    if args.leaderboard is None:
        args.leaderboard = str(Path(args.results_dir) / "leaderboard.csv")
    board = read_leaderboard(args.leaderboard)  # malformed rows -> one clear error, before any work
    encoder, trained_on = (None, None)
    if args.checkpoint:
        encoder, trained_on = load_user_encoder(args.checkpoint, args.model)
    dataset = args.dataset or trained_on or preset.dataset
    if args.codes:  # shape check against the registered grid, before loading any data
        load_codes(args.codes, num_images(dataset), dataset)
    if trained_on and trained_on != dataset:
        raise BenchmarkError(
            f"checkpoint was trained on {trained_on} but --dataset is {dataset}; "
            "scores are only comparable on the training dataset: drop --dataset or pass the right one"
        )
    peers_of(board, args.leaderboard, dataset, None, preset.name, checks_only_dataset=True)
    source = resolve_data_source(dataset, args.data_dir, args.data_source)
    peers = peers_of(board, args.leaderboard, dataset, source, preset.name)
    device = resolve_device(args.device)
    scores = score_entry(encoder, args.codes, dataset, source, preset, args.data_dir, device, args.seed)
    rows, table, flags = rank_scores(board, peers, scores, dataset, source, preset.name)
    print(f"\n{args.name or 'your model'} on {dataset} ({source}), preset {preset.name}, seed {args.seed}:")
    print(format_table([("metric", "score", "rank", "best on leaderboard")] + table))
    if flags:
        print("flags (not scores): " + ", ".join(flags))
    if not rows:
        raise BenchmarkError(
            f"none of the scores ({', '.join(scores)}) has leaderboard rows to rank against for "
            f"{dataset}/{source}/{preset.name}"
        )
    if args.submit:
        from benchmark.io import sha256_file

        what = "checkpoint" if args.checkpoint else "codes"
        submit(board, rows, args, device, inputs=f"{what}_sha256={sha256_file(args.checkpoint or args.codes)}")
    return 0
