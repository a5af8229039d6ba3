"""``python -m benchmark COMMAND``: one argparse entry point; each layer adds its own subcommands.

Layers register subcommands in ``benchmark/<layer>/cli.py`` through ``add_parsers(subparsers)``;
each subcommand sets ``func(args) -> int``. A :class:`~benchmark.errors.BenchmarkError` is printed as
one line (``error: ...``) with exit status 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from benchmark.errors import BenchmarkError, one_line

_LAYERS = (
    "benchmark.data.cli",
    "benchmark.train.cli",
    "benchmark.metrics.cli",
    "benchmark.report.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="disentangle-bench: datasets, training, evaluation and reports for disentangled representation learning.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _LAYERS:
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name == mod:
                continue
            raise
        module.add_parsers(sub)
    return parser


def run(func, args) -> int:
    """Call a command, turning user errors into one clear line."""
    try:
        return int(func(args) or 0)
    except BenchmarkError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished work is saved; rerun the same command to continue", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which exited: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 1


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
