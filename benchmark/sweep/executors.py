"""How runs are executed: the seam between the sweep planner and the machines that train.

Contract (every executor follows it; ``run_all.py`` and ``benchmark.sweep.slurm`` rely on it)
--------------------------------------------------------------------------------------------
* A **run** is described by a :class:`benchmark.sweep.plan.RunSpec` (a frozen dataclass whose
  ``to_dict()`` is plain JSON and whose ``run_id`` is a hash of its full config). ``RunSpec.from_dict``
  rebuilds it on the other side of a process or cluster boundary.
* ``executor.run(specs: list[RunSpec], results_dir) -> list[Outcome]`` executes the given runs and
  returns **one** :class:`Outcome` per spec, in the same order. It must not raise for a failed run
  (that run's outcome says ``status="failed"`` and carries a one-paragraph ``error``); it may raise
  ``KeyboardInterrupt`` (finished runs stay finished, partial runs keep their checkpoints).
* The work of one run is always :func:`benchmark.sweep.job.run_one(spec_dict, results_dir) -> dict`
  (module-level and picklable): it trains (resuming from the run folder's checkpoint), evaluates,
  writes per-run figures and finally writes ``results_dir/runs/<run_id>/metrics.json`` atomically.
  That file is the one and only "finished" marker. ``run_one`` is idempotent: a finished run returns
  its stored metrics without recomputing. It holds an exclusive lock on the run folder while it
  works (one writer per folder); a second writer gets :class:`benchmark.io.FolderBusy` (a
  ``BenchmarkError``) instead of a corrupted run, and the local executor reports that run as
  ``running`` with error ``running elsewhere (pid N)`` (another sweep on the same folder has it).
* :func:`benchmark.sweep.job.is_finished(spec_dict, results_dir) -> bool` says whether
  ``metrics.json`` exists and belongs to that run id; executors use it to skip and to confirm.
* ``status`` values of an Outcome: ``finished`` (metrics.json exists now), ``skipped`` (it existed
  before this call), ``failed``, and for executors that can return before runs end (Slurm
  ``--no-wait``/``--collect``): ``submitted``, ``pending``, ``running``. Only ``finished`` and
  ``skipped`` runs are aggregated; aggregation reads metrics.json files, never executor state.
* An executor that receives status records of its own may convert them with
  :func:`outcome_from_status` (anything with ``run_id``, ``state``, ``error``, ``job_id``, ``log``).

Executors
---------
``local`` (:class:`LocalExecutor`): ``--jobs 1`` runs the specs one after another in this process with
torch using the idle cores; ``--jobs N`` runs N specs at a time in N worker processes (spawned, one
torch thread each). ``slurm``: ``benchmark.sweep.slurm.SlurmExecutor`` (imported only when chosen).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from benchmark.errors import BenchmarkError

FINISHED_STATES = ("finished", "skipped")
EXECUTORS = ("local", "slurm")


@dataclass
class Outcome:
    """What happened to one run in one ``executor.run`` call.

    Parameters
    ----------
    run_id: the spec's run id.
    status: finished | skipped | failed | submitted | pending | running.
    seconds: wall time spent on it in this call (0 if skipped or not run here).
    error: for ``failed``: the error message (last line of a traceback or the cluster's state + log tail).
    job_id: the cluster job id where there is one.
    log: path of a log file with more detail, where there is one.
    """

    run_id: str
    status: str
    seconds: float = 0.0
    error: str | None = None
    job_id: str | None = None
    log: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in FINISHED_STATES

    def to_dict(self) -> dict:
        return asdict(self)


class Executor(Protocol):
    """Anything with a ``name`` and ``run(specs, results_dir) -> list[Outcome]`` (see module docstring)."""

    name: str

    def run(self, specs: Sequence[Any], results_dir: str | os.PathLike) -> list[Outcome]: ...


def outcome_from_status(spec: Any, status: Any) -> Outcome:
    """An :class:`Outcome` from another executor's status record (``run_id``, ``state``, ...)."""
    state = str(getattr(status, "state", "failed"))
    if state not in ("finished", "skipped", "failed", "submitted", "pending", "running"):
        state = "failed"
    return Outcome(
        run_id=str(getattr(status, "run_id", getattr(spec, "run_id", "?"))),
        status=state,
        seconds=float(getattr(status, "seconds", 0.0) or 0.0),
        error=getattr(status, "error", None),
        job_id=None if getattr(status, "job_id", None) is None else str(status.job_id),
        log=None if getattr(status, "log", None) is None else str(status.log),
    )


def _spec_dict(spec: Any) -> dict:
    return dict(spec) if isinstance(spec, dict) else spec.to_dict()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, BenchmarkError):
        return str(exc)
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return f"{type(exc).__name__}: {exc} (at {tb[-2].strip().splitlines()[0] if len(tb) > 1 else '?'})"


def idle_cores(window_s: float = 0.5) -> int | None:
    """Cores idle right now, from two readings of /proc/stat ``window_s`` apart (None where unavailable).

    Unlike the 1-minute load average this does not count a heavy job that ended seconds ago (the
    load average decays over minutes), so a sweep started right after another one still gets every
    free core.
    """

    def read():
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        return idle, sum(vals)

    try:
        i0, t0 = read()
        time.sleep(window_s)
        i1, t1 = read()
    except (OSError, ValueError, IndexError):
        return None
    cores = os.cpu_count() or 1
    if t1 <= t0:
        return None
    busy = cores * (1.0 - (i1 - i0) / (t1 - t0))
    return max(1, min(cores, int(round(cores - busy))))


def _worker_init(threads: int) -> None:
    """Worker processes: one torch thread each (set before any work)."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    from benchmark.runtime import flush_denormals, set_threads, setup

    setup()  # allocator and OpenMP settings, before torch starts its threads
    set_threads(threads)
    flush_denormals()


def _worker_run(spec_dict: dict, results_dir: str) -> tuple[str, str, float, str | None]:
    from benchmark.sweep.job import run_one

    from benchmark.io import FolderBusy

    t0 = time.perf_counter()
    try:
        run_one(spec_dict, results_dir)
        return spec_dict["run_id"], "finished", time.perf_counter() - t0, None
    except FolderBusy as e:  # another sweep holds this run: not a failure of ours
        holder = f"pid {e.pid}" if e.pid is not None else "another process"
        return spec_dict["run_id"], "running", time.perf_counter() - t0, f"running elsewhere ({holder})"
    except Exception as e:  # reported as a failed outcome, never kills the sweep
        return spec_dict["run_id"], "failed", time.perf_counter() - t0, _error_text(e)
    finally:
        _stop_loky_workers()


def _stop_loky_workers() -> None:
    """End the joblib (loky) worker processes that DCI / downstream scoring started in this process.

    loky keeps them alive for reuse (5 minutes idle); a sweep worker that exits with them still
    running can keep the pool's shutdown waiting (seen once on a GPU machine: run_all stalled after
    every run had finished)."""
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:
        return
    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


class LocalExecutor:
    """Run specs on this machine (see the module docstring).

    Parameters
    ----------
    jobs: how many runs at once. 1 = in this process; N > 1 = N spawned worker processes.
    threads: torch threads per run. Default: the idle cores for ``jobs=1``, 1 for ``jobs>1``.
    verbose: print one line per finished or failed run.
    ensemble: first train each group of compatible runs (one loss and recipe, different
        hyperparameter values / seeds) together with ``benchmark.train.ensemble`` in this process,
        then score them: one by one (``jobs=1``) or ``jobs`` at a time in worker processes, which
        find the trained checkpoints and only score (on a GPU machine training is then one device
        job and scoring uses the cores). If an ensemble fails, its runs simply train alone afterwards.
    """

    name = "local"

    def __init__(self, jobs: int = 1, threads: int | None = None, verbose: bool = True, ensemble: bool = False) -> None:
        if int(jobs) < 1:
            raise BenchmarkError(f"--jobs must be at least 1, got {jobs}; pass --jobs 1 or more")
        self.jobs = int(jobs)
        if threads is not None:
            from benchmark.runtime import check_threads

            threads = check_threads(threads)  # now, not once per run (or as a dead worker) later
        self.threads = threads
        self.verbose = verbose
        self.ensemble = bool(ensemble)

    def _say(self, i: int, n: int, o: Outcome) -> None:
        if not self.verbose:
            return
        if o.status == "failed":
            print(f"[{i}/{n}] run {o.run_id} FAILED after {o.seconds:.0f} s: {o.error}", file=sys.stderr)
        elif o.status == "running":
            print(f"[{i}/{n}] run {o.run_id} {o.error}: left to it", file=sys.stderr)
        else:
            print(f"[{i}/{n}] run {o.run_id} {o.status} ({o.seconds:.0f} s)", file=sys.stderr)

    def run(self, specs: Sequence[Any], results_dir: str | os.PathLike) -> list[Outcome]:
        from benchmark.sweep.job import is_finished

        results_dir = str(Path(results_dir).resolve())
        dicts = [_spec_dict(s) for s in specs]
        outcomes: dict[str, Outcome] = {}
        todo = []
        for d in dicts:
            if is_finished(d, results_dir):
                outcomes[d["run_id"]] = Outcome(d["run_id"], "skipped")
            else:
                todo.append(d)
        if todo and self.ensemble:
            self._train_groups(todo, results_dir)
        if todo and self.jobs == 1:
            self._run_inline(todo, results_dir, outcomes)
        elif todo:
            self._run_pool(todo, results_dir, outcomes)
        return [outcomes[d["run_id"]] for d in dicts]

    def _train_groups(self, todo: list[dict], results_dir: str) -> None:
        """Train every group of compatible runs as one ensemble (in this process)."""
        from benchmark.runtime import flush_denormals, set_threads
        from benchmark.sweep.training import ensemble_groups, train_group

        n = set_threads(self.threads if self.threads is not None else idle_cores())
        flush_denormals()
        for group in ensemble_groups([{**d, "threads": d.get("threads") or n} for d in todo]):
            t0 = time.perf_counter()
            try:
                ids = train_group(group, results_dir)
                if self.verbose and ids:
                    print(
                        f"trained {len(ids)} runs as one ensemble in {time.perf_counter() - t0:.0f} s", file=sys.stderr
                    )
            except Exception as e:  # fall back to training each member alone
                if self.verbose:
                    print(
                        f"ensemble of {len(group)} runs failed ({_error_text(e)}); training them one by one",
                        file=sys.stderr,
                    )

    def _run_inline(self, todo: list[dict], results_dir: str, outcomes: dict) -> None:
        from benchmark.runtime import flush_denormals, set_threads

        # Pick the thread count once, before our own work raises the load average (set_threads(None)
        # reads it), and hand it to every run: otherwise each later run would see the previous one's
        # load and fall back to one thread.
        n = set_threads(self.threads if self.threads is not None else idle_cores())
        flush_denormals()
        todo = [{**d, "threads": d.get("threads") or n} for d in todo]
        for i, d in enumerate(todo, 1):
            d = {**d, "threads": d.get("threads") or n}
            rid, status, sec, err = _worker_run(d, results_dir)
            outcomes[rid] = Outcome(rid, status, sec, err)
            self._say(i, len(todo), outcomes[rid])

    def _run_pool(self, todo: list[dict], results_dir: str, outcomes: dict) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        threads = int(self.threads or 1)
        ctx = mp.get_context("spawn")  # fresh interpreters: no forked torch thread pools
        pool = ProcessPoolExecutor(
            max_workers=min(self.jobs, len(todo)), mp_context=ctx, initializer=_worker_init, initargs=(threads,)
        )
        try:
            futures = {
                pool.submit(_worker_run, {**d, "threads": d.get("threads") or threads}, results_dir): d["run_id"]
                for d in todo
            }
            for i, fut in enumerate(as_completed(futures), 1):
                rid = futures[fut]
                try:
                    rid, status, sec, err = fut.result()
                except Exception as e:  # a worker died (killed, out of memory)
                    status, sec, err = "failed", 0.0, f"worker process died: {_error_text(e)}"
                outcomes[rid] = Outcome(rid, status, sec, err)
                self._say(i, len(todo), outcomes[rid])
        except KeyboardInterrupt:
            for p in list(getattr(pool, "_processes", {}).values()):  # our own workers only
                p.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        # every result is in: give the workers a while to exit, then end any that hang on exit
        workers = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False)
        deadline = time.monotonic() + 60
        for p in workers:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--executor``, ``--jobs``, ``--threads``, ``--ensemble`` and (when importable) the Slurm flags."""
    g = parser.add_argument_group("execution")
    g.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="where runs execute: local (this machine) or slurm (one array task per run; see the Slurm flags)",
    )
    g.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="local executor: run N runs at once in N processes with --threads torch threads each "
        "(default 1: one run at a time using all idle cores; with ensembles, N processes score the "
        "runs the ensembles trained; see docs/performance.md for when N>1 pays)",
    )
    g.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="T",
        help="torch threads per run (default: idle cores with --jobs 1, else 1)",
    )
    g.add_argument(
        "--ensemble",
        choices=("auto", "on", "off"),
        default="auto",
        help="local executor: train compatible runs (one loss and recipe: all betas x seeds, the VAE as "
        "beta 1) together as one ensemble before scoring; auto = on for CUDA devices, off on CPU "
        "(default auto)",
    )
    from benchmark.sweep import slurm_config

    slurm_config.add_executor_arguments(parser)


def get_executor(args: argparse.Namespace) -> Executor:
    """The executor that ``args`` name (``--executor local|slurm``); Slurm is imported only when chosen."""
    name = getattr(args, "executor", "local") or "local"
    if name == "local":
        jobs = getattr(args, "jobs", None)
        mode = getattr(args, "ensemble", "auto") or "auto"
        if mode == "auto":
            from benchmark.device import resolve_device

            ensemble = resolve_device(getattr(args, "device", "auto") or "auto").startswith("cuda")
        else:
            ensemble = mode == "on"
        return LocalExecutor(
            jobs=1 if jobs is None else jobs, threads=getattr(args, "threads", None), ensemble=ensemble
        )
    if name == "slurm":
        try:
            from benchmark.sweep import slurm
        except ModuleNotFoundError as e:
            raise BenchmarkError(
                f"the slurm executor is unavailable ({e}); install the extra: pip install -e '.[slurm]'"
            ) from None
        return slurm.make_executor(args)
    raise BenchmarkError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
