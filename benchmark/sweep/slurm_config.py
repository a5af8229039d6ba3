"""Configuration of the Slurm executor: what each job asks for and how the submitter polls.

The ``--executor slurm`` flags and the ``--slurm-config`` file share the same keys; values come from
the defaults, then the config file, then the flags given on the command line
(:func:`make_config`). :mod:`benchmark.sweep.slurm` builds its executor from a :class:`SlurmConfig`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import BenchmarkError


@dataclass
class SlurmConfig:
    """What each Slurm job asks for, and how the submitter polls.

    Parameters
    ----------
    partition: Slurm partition (``None``: the cluster's default partition).
    time_limit: wall-clock limit per job in minutes. A job that reaches it is requeued by submitit
        (it resumes from its checkpoint) up to ``max_requeues`` times, then reported as failed.
    cpus_per_job, gpus_per_job, mem_gb: resources per job (one run per job). Torch in the job uses
        ``cpus_per_job`` threads.
    account, qos, constraint: passed to sbatch when set.
    setup: shell lines run in the job before Python starts (``module load ...``, ``source venv``).
    max_parallel: at most this many array tasks of one submission run at once (``%N``).
    max_requeues: how many times a run that hits the time limit or is preempted is requeued.
    poll_s: seconds between two status checks while waiting (one ``sacct`` call for all jobs).
    results_timeout_s: after Slurm says a job ended, how long to wait for its result file
        (shared file systems can lag) before calling it failed.
    lost_after_s: a job Slurm has no record of for this long is reported as lost.
    """

    partition: str | None = None
    time_limit: int = 240
    cpus_per_job: int = 1
    gpus_per_job: int = 0
    mem_gb: float = 8.0
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    setup: list[str] = field(default_factory=list)
    max_parallel: int = 256
    max_requeues: int = 3
    poll_s: float = 15.0
    results_timeout_s: float = 15.0
    lost_after_s: float = 180.0

    def validate(self) -> "SlurmConfig":
        for name in ("time_limit", "cpus_per_job", "max_parallel"):
            if int(getattr(self, name)) < 1:
                raise BenchmarkError(
                    f"slurm {name} must be at least 1, got {getattr(self, name)}; fix the flag or config file"
                )
        for name in ("gpus_per_job", "max_requeues"):
            if int(getattr(self, name)) < 0:
                raise BenchmarkError(
                    f"slurm {name} must be >= 0, got {getattr(self, name)}; fix the flag or config file"
                )
        for name in ("mem_gb", "poll_s", "results_timeout_s", "lost_after_s"):
            if float(getattr(self, name)) <= 0 and name != "results_timeout_s":
                raise BenchmarkError(
                    f"slurm {name} must be positive, got {getattr(self, name)}; fix the flag or config file"
                )
        for name in SBATCH_TEXT:
            value = getattr(self, name)
            if value not in (None, "") and not _SBATCH_VALUE.fullmatch(str(value)):
                raise BenchmarkError(
                    f"slurm {name} {str(value)[:60]!r} holds characters sbatch does not take there (allowed: letters, "
                    "digits and _ . , : - + = @ % & | ! * [ ] ( ); no spaces, newlines, quotes or $); "
                    "fix the flag or config file"
                )
        if isinstance(self.setup, str):
            self.setup = [self.setup]
        return self


# Values written into the sbatch script as ``#SBATCH --name=value`` lines. A newline would start a
# shell line of its own (it ran as a command); the class below covers partition, account and QOS
# names, comma lists and constraint expressions (``a&b``, ``[r1|r2]*2``, ``!x``).
SBATCH_TEXT = ("partition", "account", "qos", "constraint")
_SBATCH_VALUE = re.compile(r"[A-Za-z0-9_.,:+=@%&|!*\[\]()-]{1,256}")

CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(SlurmConfig))


def parse_time_limit(value: Any) -> int:
    """Minutes from ``90``, ``"90"``, ``"HH:MM:SS"``, ``"MM:SS"`` or ``"D-HH:MM:SS"`` (Slurm's forms).

    Parameters
    ----------
    value: an int of minutes or a Slurm time string.

    Returns
    -------
    The limit in whole minutes (seconds rounded up), at least 1.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(1, int(value))
    text = str(value).strip()
    try:
        days = 0
        has_days = "-" in text[1:]
        if text.startswith("-"):
            raise ValueError
        if has_days:
            d, text = text.split("-", 1)
            days = int(d)
        parts = [int(p) for p in text.split(":")]
        if len(parts) > 3:
            raise ValueError
        if has_days:  # D-H, D-H:M, D-H:M:S
            h, m, s = (parts + [0, 0])[:3]
        else:  # M, M:S, H:M:S
            h, m, s = (
                ([0, 0] + parts)[-3:]
                if len(parts) == 3
                else ([0] + parts + [0])[:3]
                if len(parts) == 1
                else [0] + parts
            )
        if min(days, h, m, s) < 0:
            raise ValueError
    except ValueError:
        raise BenchmarkError(
            f"bad time limit {value!r}; give minutes (90) or Slurm's form HH:MM:SS / D-HH:MM:SS"
        ) from None
    return max(1, days * 1440 + h * 60 + m + (1 if s > 0 else 0))


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a Slurm config file (TOML, or JSON if the name ends in ``.json``) into a dict.

    Keys are the flag names with ``-`` or ``_`` (``partition``, ``time-limit``, ``cpus-per-job``,
    ``gpus-per-job``, ``mem-gb``, ...), optionally inside a ``[slurm]`` table.
    """
    p = Path(path)
    if not p.is_file():
        raise BenchmarkError(f"slurm config file {p} not found; pass an existing file to --slurm-config")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                raise BenchmarkError(
                    f"reading TOML needs Python 3.11+; write {p} as JSON (same keys) instead"
                ) from None
            data = tomllib.loads(text)
    except (ValueError, TypeError) as e:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise BenchmarkError(f"cannot parse slurm config file {p}: {e}; fix its syntax") from None
    if not isinstance(data, dict):
        raise BenchmarkError(f"slurm config file {p} must hold a table of keys; see docs/slurm.md")
    if isinstance(data.get("slurm"), dict):
        data = data["slurm"]
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in CONFIG_KEYS:
            raise BenchmarkError(
                f"unknown key {key!r} in slurm config file {p}; "
                f"valid keys: {', '.join(k.replace('_', '-') for k in CONFIG_KEYS)}"
            )
        out[name] = value
    return out


def make_config(file_values: dict[str, Any] | None = None, **overrides: Any) -> SlurmConfig:
    """Build a validated :class:`SlurmConfig`: defaults < config file < explicit values (not None)."""
    values: dict[str, Any] = dict(file_values or {})
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "time_limit" in values:
        values["time_limit"] = parse_time_limit(values["time_limit"])
    typed = {}
    for f in dataclasses.fields(SlurmConfig):
        if f.name not in values:
            continue
        v = values[f.name]
        try:
            if f.name in ("cpus_per_job", "gpus_per_job", "max_parallel", "max_requeues", "time_limit"):
                v = int(v)
            elif f.name in ("mem_gb", "poll_s", "results_timeout_s", "lost_after_s"):
                v = float(v)
            elif f.name == "setup":
                v = [v] if isinstance(v, str) else [str(x) for x in v]
            elif v is not None:
                v = str(v)
        except (TypeError, ValueError):
            raise BenchmarkError(f"slurm {f.name.replace('_', '-')} has a bad value {v!r}; see --help") from None
        typed[f.name] = v
    return SlurmConfig(**typed).validate()


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Slurm executor's flags (used with ``--executor slurm``) to ``parser``."""
    g = parser.add_argument_group(
        "Slurm executor (--executor slurm)",
        "One Slurm array task per run, submitted through submitit. Every resource flag can also be "
        "set in --slurm-config; flags given on the command line win. See docs/slurm.md.",
    )
    g.add_argument(
        "--partition", default=None, help="Slurm partition to submit to (default: the cluster's default partition)"
    )
    g.add_argument(
        "--time-limit",
        default=None,
        metavar="MIN|HH:MM:SS",
        help="wall-clock limit per run (default 240 min); a run that hits it is requeued and resumes "
        "from its checkpoint (up to 3 times)",
    )
    g.add_argument(
        "--cpus-per-job",
        type=int,
        default=None,
        metavar="N",
        help="CPUs per run (default 1); torch uses this many threads",
    )
    g.add_argument("--gpus-per-job", type=int, default=None, metavar="N", help="GPUs per run (default 0)")
    g.add_argument("--mem-gb", type=float, default=None, metavar="GB", help="memory per run in GB (default 8)")
    g.add_argument(
        "--slurm-config",
        default=None,
        metavar="FILE",
        help="TOML (or .json) file with the same keys: partition, time-limit, cpus-per-job, gpus-per-job, "
        "mem-gb, account, qos, constraint, setup (shell lines run before each job), max-parallel, "
        "max-requeues, poll-s",
    )
    g.add_argument(
        "--no-wait",
        action="store_true",
        help="submit the unfinished runs, record their job ids in RESULTS/slurm/jobs.json and exit; "
        "gather later with --collect",
    )
    g.add_argument(
        "--collect",
        action="store_true",
        help="submit nothing: gather the runs whose recorded jobs have finished and report the rest "
        "(rerunning without it also resubmits failed runs)",
    )
