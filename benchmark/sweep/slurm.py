"""Run a sweep's runs on a Slurm cluster through submitit: one array task per run.

``run_all.py ... --executor slurm --partition P`` plans the runs as usual and hands the unfinished
ones to :class:`SlurmExecutor`. It submits them as Slurm array jobs (one task per run, each task
calls :func:`benchmark.sweep.job.run_one`, which trains, resuming from the run's checkpoint, scores
and writes the run's metrics JSON atomically), waits with a progress bar of finished / running /
pending / failed runs, and returns one outcome per run so that ``run_all`` aggregates exactly as
with the local executor.

State lives in the results folder, so a sweep survives the submitting process:

* ``<results>/slurm/jobs.json``: run id -> every Slurm job id submitted for it (written
  atomically after each submission). ``--no-wait`` submits and exits; ``--collect`` or the same
  command again reattaches to those jobs, gathers what has finished and (without ``--collect``)
  resubmits only runs whose job failed, was cancelled, killed or timed out. Those resume from
  their partial checkpoint, which a failed job never deletes.
* ``<results>/slurm/logs/``: submitit's pickles and each task's ``<job>_<task>_0_log.out/.err``.
  A failed run is reported by run id, Slurm state and the tail of its log.

One writer per run folder: a run whose recorded job is still pending or running is never
submitted again (it is waited for instead), so two jobs never train the same run at once.

Its configuration (flags, config file, :class:`~benchmark.sweep.slurm_config.SlurmConfig`) lives in
:mod:`benchmark.sweep.slurm_config`.

Why job states come from ``sacct``: submitit asks only ``sacct`` whether a job ended. Without
Slurm accounting a job killed before writing its result would look "running" forever, so we
treat a job that Slurm has no record of for ``lost_after_s`` as lost (and report it).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_write_json, locked
from benchmark.sweep.slurm_config import SlurmConfig, load_config_file, make_config

# Slurm states in which a job may still write its result (submitit's own "incomplete" list).
ACTIVE_STATES = frozenset(
    {
        "READY",
        "PENDING",
        "RUNNING",
        "UNKNOWN",
        "REQUEUED",
        "COMPLETING",
        "PREEMPTED",
        "CONFIGURING",
        "RESIZING",
        "SUSPENDED",
        "REQUEUE_HOLD",
        "REQUEUE_FED",
        "STAGE_OUT",
        "SIGNALING",
    }
)
JOBS_FILE = "jobs.json"
LOG_TAIL_LINES = 20


# --------------------------------------------------------------------------------------------
# building the executor from the command line


def make_executor(args: argparse.Namespace) -> "SlurmExecutor":
    """The :class:`SlurmExecutor` that ``args`` describe (flags from
    :func:`benchmark.sweep.slurm_config.add_executor_arguments`)."""
    file_values = load_config_file(args.slurm_config) if getattr(args, "slurm_config", None) else None
    cfg = make_config(
        file_values,
        partition=getattr(args, "partition", None),
        time_limit=getattr(args, "time_limit", None),
        cpus_per_job=getattr(args, "cpus_per_job", None),
        gpus_per_job=getattr(args, "gpus_per_job", None),
        mem_gb=getattr(args, "mem_gb", None),
    )
    if getattr(args, "no_wait", False) and getattr(args, "collect", False):
        raise BenchmarkError("--no-wait and --collect exclude each other; use --no-wait to submit, --collect to gather")
    return SlurmExecutor(cfg, wait=not getattr(args, "no_wait", False), collect=getattr(args, "collect", False))


# --------------------------------------------------------------------------------------------
# the job that runs on the cluster


try:  # submitit is optional: the module still imports (for --help, configs) without it
    from submitit.helpers import Checkpointable as _Checkpointable
except ModuleNotFoundError:  # pragma: no cover - only without the slurm extra

    class _Checkpointable:  # type: ignore[no-redef]
        pass


class RunJob(_Checkpointable):
    """The callable each array task runs: set threads, then ``run_one(spec_dict, results_dir)``.

    A submitit ``Checkpointable``: when Slurm signals the time limit or a preemption, submitit
    requeues the same call (its default ``checkpoint``), and ``run_one`` resumes from the
    checkpoint the run wrote, so a long run survives short time limits.
    """

    def __init__(self, threads: int = 1, target: str = "benchmark.sweep.job:run_one") -> None:
        self.threads = int(threads)
        self.target = target

    def __call__(self, spec_dict: dict, results_dir: str) -> Any:
        import importlib

        from benchmark.runtime import set_threads

        set_threads(self.threads)
        module, _, name = self.target.partition(":")
        fn = getattr(importlib.import_module(module), name)
        return fn(spec_dict, results_dir)


# --------------------------------------------------------------------------------------------
# seam with the sweep planner (benchmark.sweep.plan / job / executors)


def _run_id(spec: Any) -> str:
    if isinstance(spec, dict):
        return str(spec["run_id"])
    return str(spec.run_id)


def _spec_dict(spec: Any) -> dict:
    if isinstance(spec, dict):
        return dict(spec)
    if hasattr(spec, "to_dict"):
        return spec.to_dict()
    return dataclasses.asdict(spec)


# --------------------------------------------------------------------------------------------
# bookkeeping: which job ran which run


@dataclass
class RunStatus:
    """What became of one run in this call (the sweep's Outcome statuses): ``skipped`` (finished
    before), ``finished``, ``failed``, ``submitted`` (by this ``--no-wait`` call), ``pending``,
    ``running``. ``error`` names the Slurm state and ends with the log tail (failed), or says
    what the run is waiting for (pending/running)."""

    run_id: str
    state: str
    job_id: str | None = None
    result: Any = None
    error: str | None = None
    log: str | None = None
    seconds: float = 0.0
    reported: bool = field(default=False, repr=False, compare=False)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def load_jobs(results_dir: str | os.PathLike) -> dict[str, Any]:
    """The job record ``<results>/slurm/jobs.json`` (empty if none yet)."""
    path = Path(results_dir) / "slurm" / JOBS_FILE
    if not path.exists():
        return {"version": 1, "runs": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise BenchmarkError(
            f"{path} is not valid JSON; delete it to forget the submitted jobs (their runs are resubmitted)"
        ) from None
    data.setdefault("runs", {})
    return data


def save_jobs(results_dir: str | os.PathLike, record: dict[str, Any]) -> None:
    atomic_write_json(Path(results_dir) / "slurm" / JOBS_FILE, record)


def tail(path: str | os.PathLike | None, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    if path is None:
        return ""
    p = Path(path)
    if not p.exists():
        return ""
    with open(p, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64 * 1024))
        text = f.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# the executor


class SlurmExecutor:
    """Runs specs as Slurm array jobs through submitit (see the module docstring).

    Parameters
    ----------
    config: resources and polling (:class:`SlurmConfig`).
    wait: wait until every submitted run has finished or failed (``False``: ``--no-wait``).
    collect: submit nothing; gather finished runs and report the rest (``--collect``).
    job_module: the module whose ``run_one(spec_dict, results_dir) -> dict`` each job calls and
        whose ``is_finished(spec_dict, results_dir) -> bool`` says whether a run's results exist.
    progress: show a tqdm bar while waiting.
    """

    name = "slurm"

    def __init__(
        self,
        config: SlurmConfig | None = None,
        *,
        wait: bool = True,
        collect: bool = False,
        job_module: str = "benchmark.sweep.job",
        progress: bool = True,
    ) -> None:
        self.config = (config or SlurmConfig()).validate()
        self.wait = wait
        self.collect = collect
        self.job_module = job_module
        self.progress = progress
        self.last_statuses: list[RunStatus] = []

    # -- public interface -------------------------------------------------------------------

    def run(self, specs: Sequence[Any], results_dir: str | os.PathLike) -> list:
        """Run (or collect) ``specs`` on Slurm; one outcome per spec, in order.

        Runs already finished are not submitted again. Runs whose recorded job is still active are
        waited for, not resubmitted. The rest are submitted as one array job.
        """
        statuses = self.run_statuses(specs, results_dir)
        return [_to_outcome(spec, st) for spec, st in zip(specs, statuses)]

    def run_statuses(self, specs: Sequence[Any], results_dir: str | os.PathLike) -> list[RunStatus]:
        """Like :meth:`run`, returning this module's :class:`RunStatus` records."""
        results_dir = Path(results_dir).resolve()
        submitit = _import_submitit()
        _require_slurm()
        folder = results_dir / "slurm" / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        # One submitter at a time decides what to submit and records it: two sweeps started on one
        # results folder would otherwise submit the same runs twice and lose each other's job ids.
        with locked(results_dir / "slurm" / JOBS_FILE):
            record = load_jobs(results_dir)
            ids = [_run_id(s) for s in specs]
            if len(set(ids)) != len(ids):
                raise BenchmarkError("the plan holds the same run twice; remove the duplicate seeds or hyperparameters")
            by_id = dict(zip(ids, specs))

            statuses: dict[str, RunStatus] = {}
            jobs: dict[str, Any] = {}  # run id -> the submitit job we watch for it
            to_submit: list[str] = []
            for rid, spec in by_id.items():
                if self._finished(spec, results_dir):
                    statuses[rid] = RunStatus(rid, "skipped")  # finished before this call
                    continue
                entry = record["runs"].get(rid)
                if entry and entry.get("job_ids"):
                    jobs[rid] = self._attach(submitit, folder, entry["job_ids"][-1])
                else:
                    to_submit.append(rid)

            # Jobs recorded by an earlier call: one sacct call says which ended. A run whose job ended
            # without results is resubmitted (it resumes from its checkpoint); one whose job is still
            # queued or running is waited for, never submitted twice.
            if jobs:
                _refresh(jobs)
                for rid, job in list(jobs.items()):
                    st = self._classify(rid, job, by_id[rid], results_dir, fresh=False, memo={})
                    if st.state == "finished":
                        statuses[rid] = st
                        del jobs[rid]
                    elif st.state == "failed":
                        del jobs[rid]
                        if self.collect:
                            statuses[rid] = st
                        else:
                            _report_failure(st, resubmitting=True)
                            to_submit.append(rid)

            fresh: set[str] = set()
            if to_submit and self.collect:
                for rid in to_submit:
                    statuses[rid] = RunStatus(
                        rid, "pending", error="not submitted (--collect submits nothing); rerun without --collect"
                    )
            elif to_submit:
                new = self._submit(submitit, folder, [by_id[r] for r in to_submit], results_dir)
                for rid, job in zip(to_submit, new):
                    entry = record["runs"].setdefault(rid, {"job_ids": []})
                    entry["job_ids"].append(job.job_id)
                    entry["submitted_at"] = _now()
                    jobs[rid] = job
                    fresh.add(rid)
                record["folder"] = str(folder)
                save_jobs(results_dir, record)

        if jobs and self.wait and not self.collect:
            statuses.update(self._wait_all(jobs, results_dir, by_id, fresh))
        elif jobs:  # --no-wait / --collect: one look, then return
            _refresh(jobs)
            for rid, job in jobs.items():
                st = self._classify(rid, job, by_id[rid], results_dir, fresh=rid in fresh, memo={})
                if rid in fresh and st.state in ("pending", "running"):
                    st.state = "submitted"
                statuses[rid] = st

        out = [statuses[rid] for rid in ids]
        for st in out:
            if st.state == "failed":
                _report_failure(st, resubmitting=False)
        self.last_statuses = out
        return out

    # -- internals ------------------------------------------------------------------------------

    def _finished(self, spec: Any, results_dir: Path) -> bool:
        import importlib

        mod = importlib.import_module(self.job_module)
        return bool(mod.is_finished(_spec_dict(spec), str(results_dir)))

    def _sbatch_parameters(self) -> dict[str, Any]:
        """submitit's SlurmExecutor parameters for one run per job."""
        cfg = self.config
        params: dict[str, Any] = dict(
            job_name="disentangle-bench",
            time=cfg.time_limit,
            nodes=1,
            ntasks_per_node=1,
            cpus_per_task=cfg.cpus_per_job,
            mem=f"{int(round(cfg.mem_gb * 1024))}MB",
            array_parallelism=cfg.max_parallel,
            # submitit's time-out signal comes this long before the limit (default 90 s)
            signal_delay_s=int(min(90, max(10, cfg.time_limit * 60 // 4))),
            setup=[f"export OMP_NUM_THREADS={cfg.cpus_per_job} MKL_NUM_THREADS={cfg.cpus_per_job}", *cfg.setup],
        )
        if cfg.partition:
            params["partition"] = cfg.partition
        if cfg.gpus_per_job:
            params["gpus_per_node"] = cfg.gpus_per_job
        for key in ("account", "qos", "constraint"):
            if getattr(cfg, key):
                params[key] = getattr(cfg, key)
        return params

    def _executor(self, submitit, folder: Path):
        ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=self.config.max_requeues)
        ex.update_parameters(**self._sbatch_parameters())
        return ex

    def _submit(self, submitit, folder: Path, specs: list, results_dir: Path) -> list:
        ex = self._executor(submitit, folder)
        fn = RunJob(self.config.cpus_per_job, f"{self.job_module}:run_one")
        dicts = [_spec_dict(s) for s in specs]
        for d in dicts:
            if "threads" in d:  # where it runs (not hashed): torch uses the job's CPUs, no more
                d["threads"] = self.config.cpus_per_job
        try:
            jobs = ex.map_array(fn, dicts, [str(results_dir)] * len(dicts))
        except Exception as e:  # sbatch rejected the job: name the cause in one line
            msg = str(e).strip().splitlines()
            detail = next((m for m in reversed(msg) if "error" in m.lower()), msg[-1] if msg else repr(e))
            raise BenchmarkError(
                f"sbatch refused the submission ({detail.strip()}); "
                "check --partition/--time-limit/--mem-gb/--gpus-per-job against `sinfo`"
            ) from None
        for j in jobs:
            j._results_timeout_s = self.config.results_timeout_s
        what = f"array job {jobs[0].job_id.split('_')[0]}" if len(jobs) > 1 else f"job {jobs[0].job_id}"
        print(f"submitted {len(jobs)} run(s) to Slurm as {what} (logs: {folder})", file=sys.stderr)
        return jobs

    def _attach(self, submitit, folder: Path, job_id: str):
        job = submitit.SlurmJob(folder=folder, job_id=str(job_id))
        job._results_timeout_s = self.config.results_timeout_s
        return job

    def _classify(
        self, rid: str, job, spec: Any, results_dir: Path, *, fresh: bool, memo: dict, waiting: bool = False
    ) -> RunStatus:
        """What ``job`` (run ``rid``) looks like now, from its result file and the last sacct call.

        Returns a :class:`RunStatus` in state finished, failed, running or pending. ``fresh``: the
        job was submitted by this call (Slurm's accounting may not list it for a few seconds).
        ``waiting``: we are polling, so an ended job gets ``results_timeout_s`` for its result file
        (``memo`` keeps when it was first seen ended or unknown).
        """
        import submitit

        now = time.monotonic()
        if job.paths.result_pickle.exists():
            try:
                result = job.result()
            except (submitit.core.utils.FailedJobError, submitit.core.utils.UncompletedJobError) as e:
                return RunStatus(
                    rid, "failed", job.job_id, error=_failure_text(job, "raised", str(e)), log=str(job.paths.stderr)
                )
            if self._finished(spec, results_dir):
                secs = result.get("wall_seconds", 0.0) if isinstance(result, dict) else 0.0
                return RunStatus(
                    rid, "finished", job.job_id, result=result, seconds=float(secs or 0.0), log=str(job.paths.stdout)
                )
            return RunStatus(
                rid,
                "failed",
                job.job_id,
                log=str(job.paths.stderr),
                error=_failure_text(job, "COMPLETED", "the job returned but the run's metrics file is missing"),
            )
        state = _state(job)
        if state not in ACTIVE_STATES:
            if self._finished(spec, results_dir):  # result pickle lost, results are there
                return RunStatus(rid, "finished", job.job_id, log=str(job.paths.stdout))
            if _in_queue(job.job_id):
                # sacct already says CANCELLED/TIMEOUT, but the job's processes are still being
                # stopped (squeue lists it as COMPLETING): resubmitting now would race its writer
                return RunStatus(rid, "running", job.job_id, error=f"job {job.job_id} is stopping ({state})")
            t0 = memo.setdefault(("ended", rid), now)
            if waiting and now - t0 < self.config.results_timeout_s:
                return RunStatus(
                    rid, "running", job.job_id, error=f"job {job.job_id} ended {state}; waiting for its result file"
                )
            return RunStatus(rid, "failed", job.job_id, error=_failure_text(job, state, ""), log=str(job.paths.stderr))
        if state == "UNKNOWN":
            t0 = memo.setdefault(("unknown", rid), now)
            if (not fresh or now - t0 > self.config.lost_after_s) and not _slurm_knows(job.job_id):
                return RunStatus(
                    rid,
                    "failed",
                    job.job_id,
                    log=str(job.paths.stderr),
                    error=_failure_text(
                        job, "LOST", "Slurm has no record of this job (was the cluster's state reset?)"
                    ),
                )
            return RunStatus(
                rid, "pending", job.job_id, error=f"job {job.job_id} is queued (not yet in Slurm's accounting)"
            )
        if state == "RUNNING":
            return RunStatus(
                rid, "running", job.job_id, error=f"job {job.job_id} is RUNNING; gather it later with --collect"
            )
        return RunStatus(
            rid, "pending", job.job_id, error=f"job {job.job_id} is {state}; gather it later with --collect"
        )

    def _wait_all(self, jobs: dict, results_dir: Path, by_id: dict, fresh: set) -> dict[str, RunStatus]:
        """Poll until every job in ``jobs`` is finished or failed, with a tqdm bar of the counts."""
        from tqdm.auto import tqdm

        remaining = dict(jobs)
        done: dict[str, RunStatus] = {}
        memo: dict = {}
        n_failed = 0
        bar = tqdm(
            total=len(jobs),
            desc="slurm runs",
            unit="run",
            disable=not self.progress,
            dynamic_ncols=True,
            file=sys.stderr,
        )
        try:
            while remaining:
                _refresh(remaining)
                counts = {"running": 0, "pending": 0}
                for rid, job in list(remaining.items()):
                    st = self._classify(rid, job, by_id[rid], results_dir, fresh=rid in fresh, memo=memo, waiting=True)
                    if st.state in counts:
                        counts[st.state] += 1
                        continue
                    del remaining[rid]
                    done[rid] = st
                    if st.state == "failed":
                        n_failed += 1
                        _report_failure(st, resubmitting=False, bar=bar)
                    bar.update(1)
                bar.set_postfix(
                    finished=len(done) - n_failed,
                    running=counts["running"],
                    pending=counts["pending"],
                    failed=n_failed,
                    refresh=True,
                )
                if remaining:
                    _sleep_until_change(remaining, self.config.poll_s)
        except KeyboardInterrupt:
            print(
                "\ninterrupted: the jobs keep running on Slurm; rerun the same command (or --collect) to gather them",
                file=sys.stderr,
            )
            raise
        finally:
            bar.close()
        return done


# --------------------------------------------------------------------------------------------
# helpers around submitit and Slurm


def _import_submitit():
    try:
        import submitit
    except ModuleNotFoundError:
        raise BenchmarkError(
            "--executor slurm needs submitit; install it with: "
            "pip install 'disentangle-bench[slurm]' (or pip install submitit)"
        ) from None
    return submitit


def _require_slurm() -> None:
    for exe in ("sbatch", "sacct", "scancel"):
        if shutil.which(exe) is None:
            raise BenchmarkError(
                f"{exe} not found: --executor slurm must run where the Slurm client commands are on PATH "
                "(a login node), or use --executor local"
            )


def _refresh(jobs: dict) -> None:
    """One ``sacct`` call for every watched job (submitit's watcher, shared by all SlurmJobs)."""
    if jobs:
        next(iter(jobs.values())).watcher.update()


def _in_queue(job_id: str) -> bool:
    """Whether ``squeue`` still lists the job (pending, running or completing)."""
    import subprocess

    try:
        out = subprocess.run(["squeue", "-h", "-o", "%T", "-j", job_id], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def _state(job) -> str:
    """Slurm state of ``job`` from the last ``sacct`` call ('UNKNOWN' if none yet); the first
    word only (``CANCELLED by 0`` -> ``CANCELLED``)."""
    state = job.watcher.get_state(job.job_id, mode="cache") or "UNKNOWN"
    return state.split()[0].upper()


def _slurm_knows(job_id: str) -> bool:
    """Whether squeue or sacct has any record of ``job_id`` (used before calling a job lost)."""
    import subprocess

    for cmd in (["squeue", "-h", "-o", "%i", "-j", job_id], ["sacct", "-n", "-X", "-o", "JobID", "-j", job_id]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return True  # cannot tell: do not declare it lost
        if out.returncode == 0 and out.stdout.strip():
            return True
    return False


def _sleep_until_change(jobs: dict, poll_s: float) -> None:
    """Sleep up to ``poll_s``, waking early when any job's result file appears (checked each 0.5 s)."""
    deadline = time.monotonic() + poll_s
    while time.monotonic() < deadline:
        if any(j.paths.result_pickle.exists() for j in jobs.values()):
            return
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def _failure_text(job, state: str, detail: str) -> str:
    """One paragraph: job id, Slurm state, the first line of the error, then the log tail."""
    first = next((ln for ln in detail.strip().splitlines() if ln.strip()), "")
    log = tail(job.paths.stderr) or tail(job.paths.stdout)
    where = f"(log: {job.paths.stderr})"
    text = f"Slurm job {job.job_id} ended {state}" + (f": {first}" if first and first != state else "") + f" {where}"
    if "raised" in state or "Traceback" in detail:
        # the last traceback line is the actual exception
        last = [
            ln
            for ln in detail.strip().splitlines()
            if ln.strip() and not ln.startswith(("-", "You can check", "or at paths", "  - "))
        ]
        if last:
            text = f"Slurm job {job.job_id} raised {last[-1].strip()} {where}"
    if log:
        text += "\n" + "\n".join("    | " + ln for ln in log.splitlines())
    return text


def _report_failure(st: RunStatus, *, resubmitting: bool, bar=None) -> None:
    if st.reported:
        return
    st.reported = True
    msg = f"run {st.run_id} failed: {st.error}"
    if resubmitting:
        msg += "\n  -> resubmitting it; it resumes from its last checkpoint"
    else:
        msg += "\n  -> its checkpoint is kept; rerun the same command to resubmit it"
    (bar.write if bar is not None else lambda m: print(m, file=sys.stderr))(msg)


def _to_outcome(spec: Any, st: RunStatus):
    """The sweep's outcome record for ``st`` (RunStatus itself until the seam defines one)."""
    try:
        from benchmark.sweep import executors as _ex
    except ModuleNotFoundError:
        return st
    make = getattr(_ex, "outcome_from_status", None)
    return make(spec, st) if make else st
