"""The command line: ``disentangle-bench COMMAND`` (console script) = ``python -m benchmark COMMAND``.

One module per command group adds its subcommands through ``add_parsers(subparsers)``: :mod:`.data`,
:mod:`.train`, :mod:`.evaluate`, :mod:`.report` (figures, compare) and :mod:`.run` (the sweep;
``python run_all.py ...`` is ``python -m benchmark run ...``). Shared flags and the rule for where
files go are in :mod:`.common`. Each subcommand sets ``func(args) -> int``; :func:`run_command` prints
a :class:`~benchmark.errors.BenchmarkError` as one line (``error: ...``, exit status 2), never as a
traceback.

Process settings (:func:`benchmark.runtime.setup`) are applied by :func:`main` before any command
module is imported: part of them only work when set before torch is imported. This module therefore
imports nothing heavy at module level.
"""

from __future__ import annotations

import os
import sys

from benchmark.cli.helpfmt import Parser
from benchmark.errors import BenchmarkError, one_line

PROG = "disentangle-bench"  # the console script; ``python -m benchmark`` passes its own
INTERRUPTED = "interrupted: finished work is saved; rerun the same command to continue"


def build_parser(prog: str = PROG) -> Parser:
    """The parser with every command group (an import error in one of them is raised, not skipped)."""
    from benchmark.cli import data, evaluate, report, run, train

    parser = Parser(
        prog=prog,
        description="disentangle-bench: datasets, training, evaluation and reports for disentangled representation "
        "learning. Default outputs go under --results-dir (default ./results, relative to the current "
        "directory); datasets are read from the data root (--data-dir, else $DISENTANGLE_BENCH_DATA, "
        "else the checkout's datasets/, else ./datasets).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in (data, train, evaluate, report, run):
        group.add_parsers(sub)
    return parser


def run_command(func, args) -> int:
    """Call a command, turning user errors into one clear line."""
    try:
        return int(func(args) or 0)
    except BenchmarkError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(getattr(args, "interrupted", INTERRUPTED), file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which exited: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 1


def main(argv=None, prog: str = PROG) -> int:
    """Run one command; returns the exit status (argparse exits with 2 on a bad flag, 0 on ``--help``)."""
    from benchmark import runtime

    runtime.setup()  # before torch is imported by any command module
    args = build_parser(prog).parse_args(argv)
    return run_command(args.func, args)
