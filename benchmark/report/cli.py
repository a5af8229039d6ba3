"""``python -m benchmark figures`` and ``python -m benchmark compare``."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "figures",
        help="rebuild figures, leaderboard and summary.md from results files (no training)",
        description="Rebuild the sweep figures (comparison with the paper, scores vs beta and normalised beta, "
        "trade-off), per-run figures from the arrays saved in run folders, the leaderboard and summary.md. "
        "Reads results.csv (or, with --rebuild, re-aggregates it from RESULTS_DIR/runs/*/metrics.json).",
    )
    p.add_argument("--results-dir", default="results", metavar="DIR", help="results folder (default: results)")
    p.add_argument("--out", default=None, metavar="DIR", help="figures folder (default: RESULTS_DIR/figures)")
    p.add_argument("--rebuild", action="store_true",
                   help="re-aggregate results.csv from the finished run folders first (default: use results.csv as saved)")
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
    src.add_argument("--checkpoint", default=None, metavar="PATH",
                     help="a checkpoint: ours (benchmark.models.load_checkpoint) or, with --model, your state_dict")
    src.add_argument("--model", default=None, metavar="MODULE:CALLABLE",
                     help="CALLABLE() returns your torch.nn.Module with encode(x) -> mean or (mean, logvar); "
                          "the checkpoint's state_dict is loaded into it (weights_only)")
    src.add_argument("--codes", default=None, metavar="FILE.npy",
                     help="codes computed elsewhere: shape (num_images, D), one row per image in the dataset's flat index order")
    c.add_argument("--dataset", default=None, metavar="NAME",
                   help="dataset (required with --codes; default: the checkpoint's, else the preset's)")
    c.add_argument("--data-source", default="auto", choices=["auto", "official", "procedural"],
                   help="which dSprites pixels (default auto: official when present); must match the leaderboard rows")
    c.add_argument("--data-dir", default=None, metavar="DIR", help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    c.add_argument("--preset", default="quick", metavar="NAME",
                   help="protocol to score with and to rank within: quick, paper, paper_fc, tiny (default: quick)")
    c.add_argument("--seed", type=int, default=0, metavar="S", help="metric seed (default 0)")
    c.add_argument("--device", default="auto", metavar="DEV", help="encoding device: auto, cpu, cuda[:N], mps (default auto)")
    c.add_argument("--leaderboard", default=str(Path("results") / "leaderboard.csv"), metavar="CSV",
                   help="leaderboard to rank against (default: results/leaderboard.csv)")
    c.add_argument("--name", default=None, metavar="NAME", help="name of your entry (required with --submit)")
    c.add_argument("--submit", action="store_true", help="append the scores to the leaderboard as a submitted entry")
    c.set_defaults(func=_compare)


def _figures(args: argparse.Namespace) -> int:
    from benchmark.report import refresh

    df, made = refresh(args.results_dir, rebuild_table=args.rebuild, figures_dir=args.out,
                       leaderboard=None if not args.no_leaderboard else _scratch())
    n = sum(len(v) for v in made.values())
    print(f"wrote {n} figure files to {args.out or Path(args.results_dir) / 'figures'} and "
          f"{Path(args.results_dir) / 'summary.md'} from {len(df)} runs")
    return 0


def _scratch() -> str:
    import tempfile

    return str(Path(tempfile.mkdtemp(prefix="lb-")) / "leaderboard.csv")


def _compare(args: argparse.Namespace) -> int:
    from benchmark.cli_compare import compare

    return compare(args)
