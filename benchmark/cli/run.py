"""``run`` (= ``python run_all.py``): train AE / VAE / beta-VAE (and any zoo model), score them, and write
tables and figures.

    python run_all.py --betas 1 4 16                  # quick preset: < 20 min on a 2-core CPU
    python -m benchmark run --betas 1 4 16            # the same
    python run_all.py --preset paper --betas 1 4 16   # the reference protocol (GPU)

Each run (model x hyperparameter x seed, and each baseline representation) is a folder
``<results>/runs/<run-id>/`` whose id hashes its full config. Finished runs are skipped, unfinished
ones resume from their checkpoint, so Ctrl-C or a crash loses nothing: rerun the same command.
At the end the results table, leaderboard, figures and summary.md are rebuilt from every finished run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmark.cli import common, run_command
from benchmark.cli.helpfmt import Parser
from benchmark.errors import BenchmarkError

DESCRIPTION = (
    "The main job: train AE / VAE / beta-VAE (and any zoo model), score them, and write tables and figures. "
    "Plans the runs, skips finished ones, trains, evaluates, aggregates (results.csv, leaderboard.csv), "
    "plots (figures/, summary.md) and prints a summary table."
)
INTERRUPTED = (
    "\ninterrupted: finished runs are saved and unfinished ones keep their checkpoints; "
    "rerun the same command to continue"
)


def add_parsers(sub) -> None:
    """``run``: the same flags, help and behaviour as ``python run_all.py``."""
    p = sub.add_parser(
        "run",
        help="the main job (= python run_all.py): plan, train, score, tables and figures",
        description=DESCRIPTION,
        epilog=_epilog(),
    )
    add_arguments(p)


def build_parser(prog: str = "run_all.py") -> Parser:
    """The stand-alone parser of ``python run_all.py``."""
    p = Parser(prog=prog, description=DESCRIPTION, epilog=_epilog())
    add_arguments(p)
    return p


def _epilog() -> str:
    from benchmark.sweep.presets import PRESETS

    return "Presets: " + "; ".join(f"{k}: {v.description}" for k, v in PRESETS.items())


def add_arguments(p) -> None:
    from benchmark.sweep.executors import add_executor_arguments
    from benchmark.sweep.plan import BASELINES, MODEL_GRIDS
    from benchmark.sweep.presets import PRESETS

    g = p.add_argument_group("what to train")
    g.add_argument(
        "--models",
        nargs="+",
        default=["ae", "vae", "beta_vae"],
        metavar="MODEL",
        help=f"zoo models: {', '.join(MODEL_GRIDS)}; 'none' for baselines only. beta=1 of --betas is the "
        "VAE run (trained once); the AE is trained once per seed",
    )
    g.add_argument(
        "--betas",
        nargs="+",
        type=float,
        default=[1.0, 4.0, 16.0],
        metavar="B",
        help="beta grid of beta_vae (beta=1 is the VAE)",
    )
    for model in ("factor_vae", "beta_tcvae", "annealed_vae", "dip_vae_i"):
        param, flag, default = MODEL_GRIDS[model]
        who = "dip_vae_i and dip_vae_ii" if model == "dip_vae_i" else model
        g.add_argument(
            flag,
            nargs="+",
            type=float,
            default=None,
            metavar="V",
            help=f"{param} grid of {who} (default {' '.join(f'{v:g}' for v in default)}); "
            "used only when named in --models",
        )
    g.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0],
        metavar="S",
        help="model seeds (initialisation, data stream and metric sampling)",
    )
    g.add_argument(
        "--baselines",
        nargs="+",
        default=list(BASELINES),
        metavar="NAME",
        help=f"representations scored for the paper's comparison table: {', '.join(BASELINES)}; 'none' to skip",
    )
    g.add_argument(
        "--study",
        default=None,
        metavar="NAME",
        help="plan a whole published study grid instead (e.g. locatello2019); see --dry-run",
    )
    g = p.add_argument_group("protocol and data")
    g.add_argument(
        "--preset",
        default="quick",
        choices=list(PRESETS),
        help="training recipe and metric sample sizes (see the list below)",
    )
    g.add_argument("--steps", type=int, default=None, metavar="N", help="override the preset's training steps")
    g.add_argument(
        "--dataset",
        default=None,
        metavar="NAME",
        help="registered dataset (default: the preset's, dsprites; `python -m benchmark data list`)",
    )
    common.add_data_source(g)
    common.add_data_dir(g)
    common.add_device(g)
    g = p.add_argument_group("outputs")
    common.add_results_dir(g)
    g.add_argument(
        "--leaderboard", default=None, metavar="CSV", help="leaderboard to update (default RESULTS_DIR/leaderboard.csv)"
    )
    g.add_argument("--no-figures", action="store_true", help="skip plotting (tables are still written)")
    g.add_argument("--dry-run", action="store_true", help="print the plan (runs, finished, to run) and exit")
    add_executor_arguments(p)
    p.set_defaults(func=run, interrupted=INTERRUPTED)


def _none(values: list[str]) -> list[str]:
    return [] if [v.lower() for v in values] == ["none"] else list(values)


def make_plan(args) -> tuple[list, object]:
    """(specs, preset) for the parsed ``args``."""
    from benchmark.data import get_spec
    from benchmark.sweep.plan import RunSpec, plan, resolve_data_source
    from benchmark.sweep.presets import get_preset

    preset = get_preset(args.preset).with_steps(args.steps)
    if args.steps == 0 and (args.study or _none(args.models)):
        # zero steps would score freshly initialised networks under trained models' names
        raise BenchmarkError(
            "--steps 0 trains nothing: its models would be scored untrained; pass --steps N >= 1 "
            "(the untrained network is the baseline --baselines untrained_vae)"
        )
    if args.study:
        from benchmark.sweep import study

        dicts = study.study_runs(
            args.study,
            seeds=args.seeds if args.seeds != [0] else None,
            device=args.device,
            data_dir=args.data_dir,
            steps=args.steps,
        )
        return [RunSpec.from_dict(d) for d in dicts], get_preset(study.get_study(args.study)["preset"]).with_steps(
            args.steps
        )
    dataset = args.dataset or preset.dataset
    get_spec(dataset)  # unknown name -> one clear error
    source = resolve_data_source(dataset, args.data_dir, args.data_source)
    grids = {
        "--betas": args.betas,
        "--gammas": args.gammas,
        "--tc-betas": args.tc_betas,
        "--c-maxes": args.c_maxes,
        "--dip-lambdas": args.dip_lambdas,
    }
    models = _none(args.models)
    baselines = _none(args.baselines)
    if not models and not baselines:
        raise BenchmarkError("nothing to run: --models none and --baselines none; name at least one model or baseline")
    specs = plan(
        preset,
        models=models,
        grids=grids,
        seeds=args.seeds,
        dataset=dataset,
        data_source=source,
        baselines=baselines,
        device=args.device,
        data_dir=args.data_dir,
    )
    return specs, preset


def main(argv=None, prog: str = "run_all.py") -> int:
    """``python run_all.py ARGS``: the exit status of the ``run`` command."""
    from benchmark import runtime

    runtime.setup()  # before torch is imported (python run_all.py does not pass through benchmark.cli.main)
    args = build_parser(prog).parse_args(argv)
    return run_command(args.func, args)


def run(args) -> int:
    """Plan, run, aggregate and plot; returns 0, or 1 if a run failed or is still held elsewhere."""
    from benchmark.sweep.executors import get_executor
    from benchmark.results.layout import is_finished

    t0 = time.time()
    if args.jobs is not None and args.jobs < 1:
        raise BenchmarkError(f"--jobs must be at least 1, got {args.jobs}")
    from benchmark.device import resolve_device

    resolve_device(args.device)  # a bad --device is one clear error now, not a failed run later
    results_dir = Path(args.results_dir)
    if not args.dry_run:
        from benchmark.io import check_writable, make_dir
        from benchmark.results.layout import RUNS

        make_dir(results_dir, "--results-dir folder")  # before any run: not one failed run per spec
        check_writable(results_dir, "--results-dir folder")  # a read-only folder: this one line, not one per run
        check_writable(results_dir / RUNS, "--results-dir folder's runs/")
    specs, preset = make_plan(args)
    finished = sum(is_finished(s.to_dict(), results_dir) for s in specs)
    print(
        f"plan: {len(specs)} runs ({finished} finished, {len(specs) - finished} to run), preset {preset.name}, "
        f"{specs[0].dataset if specs else '-'} ({specs[0].data_source if specs else '-'}), results in {results_dir}/",
        file=sys.stderr,
    )
    note = preset.note()
    if note:
        print(f"NOTE: {note}", file=sys.stderr)
    from benchmark.sweep import study

    on_gpu = resolve_device(args.device).startswith("cuda")
    todo = [s for s in specs if not is_finished(s.to_dict(), results_dir)]
    cpu_rate = study.throughput_for(gpu=False)
    longest = max((int(s.train["steps"]) for s in todo if s.kind == "model"), default=0)
    if not on_gpu and cpu_rate and longest >= 100_000:
        per_model = longest / cpu_rate.steps_per_s / 3600
        print(
            f"WARNING: preset {preset.name} trains up to {longest:,} steps per model, "
            f"meant for a GPU: about {per_model:,.1f} h per model on a CPU like the one measured "
            f"({cpu_rate.steps_per_s:,.1f} steps/s, {cpu_rate.device}); use a CUDA device, or --preset quick",
            file=sys.stderr,
        )
    if args.dry_run:
        if args.study:
            print(study.dry_run_report(specs, title=study.get_study(args.study)["title"], finished=finished))
        else:
            for s in specs:
                print(f"  {'done ' if is_finished(s.to_dict(), results_dir) else 'todo '} {s.run_id:40s} {s.label}")
            model_specs = [s for s in specs if s.kind == "model"]
            # the time it will take, from the measured rate of this kind of device (its scoring time is
            # the reference-size suite's, so only presets that score at those sizes get an estimate)
            if model_specs and preset.eval.metrics_preset == "reference":
                report = study.dry_run_report(
                    model_specs,
                    study.throughput_for(gpu=on_gpu),
                    finished=sum(is_finished(s.to_dict(), results_dir) for s in model_specs),
                )
                print(
                    "\n".join(line for line in report.splitlines() if "estimated" in line or line.startswith("  at "))
                )
        return 0
    executor = get_executor(args)
    outcomes = executor.run(specs, results_dir)
    failed = [o for o in outcomes if o.status == "failed"]
    waiting = [o for o in outcomes if o.status in ("submitted", "pending", "running")]
    # runs another process on this results folder holds (local executor): theirs to finish, not failed
    elsewhere = [o for o in waiting if (o.error or "").startswith("running elsewhere")]
    print(
        f"runs: {sum(o.ok for o in outcomes)} finished ({sum(o.status == 'skipped' for o in outcomes)} from before), "
        f"{len(failed)} failed, {len(waiting)} still queued/running",
        file=sys.stderr,
    )
    for o in failed:
        print(f"  FAILED {o.run_id}: {o.error}" + (f" (log: {o.log})" if o.log else ""), file=sys.stderr)
    for o in elsewhere:
        print(f"  {o.error}: {o.run_id}", file=sys.stderr)

    from benchmark.report import refresh
    from benchmark.report.summary import print_summary

    df, made = (
        refresh(results_dir, leaderboard=args.leaderboard, run_figures=not args.no_figures, figures_dir=None)
        if not args.no_figures
        else _tables_only(results_dir, args.leaderboard)
    )
    ours = {s.run_id for s in specs}
    mine = df[df["run_id"].isin(ours)] if not df.empty else df
    print(print_summary(mine))
    print(
        f"\nwrote {results_dir}/results.csv ({len(df)} runs), leaderboard.csv, summary.md"
        + ("" if args.no_figures else f", figures/ ({sum(len(v) for v in made.values())} files)")
        + f"; total {time.time() - t0:.0f} s",
        file=sys.stderr,
    )
    if failed:
        print(
            f"{len(failed)} run(s) failed; fix the cause above and rerun the same command (finished runs are kept)",
            file=sys.stderr,
        )
        return 1
    if elsewhere:
        print(
            f"{len(elsewhere)} run(s) are being run by another process on {results_dir} (listed above); "
            "rerun the same command after it finishes to include them (finished runs are skipped)",
            file=sys.stderr,
        )
        return 1
    return 0


def _tables_only(results_dir: Path, leaderboard):
    from benchmark.report.leaderboard import LEADERBOARD_CSV, update_leaderboard
    from benchmark.report.published import PUBLISHED_CSV, write_published
    from benchmark.report.results import write_results
    from benchmark.report.summary import write_summary
    from benchmark.report.published import read_published

    df = write_results(results_dir)
    update_leaderboard(df, Path(leaderboard) if leaderboard else results_dir / LEADERBOARD_CSV)
    pub = results_dir / PUBLISHED_CSV
    published = read_published(pub) if pub.is_file() else write_published(pub)
    write_summary(df, published, {}, results_dir)
    return df, {}
