"""Process-wide CPU settings, applied by the entry points with :func:`setup` (importing ``benchmark``
changes nothing).

Where :func:`setup` is called: the command line's ``main`` (``python -m benchmark``, the console
script ``disentangle-bench``) and ``run_all.py`` (:func:`benchmark.cli.run.main`), both before any
module that imports torch; the sweep's worker processes (``sweep/executors.py``, ``_worker_init``);
:func:`benchmark.train.loop.train_members`, which :func:`benchmark.train.train` and
:func:`benchmark.train.train_ensemble` run; :func:`benchmark.metrics.evaluate.evaluate`; and the
tests (``tests/conftest.py``). Ordering: the OpenMP wait policy is an environment variable that
libgomp reads once, when torch loads it, so it only takes effect where :func:`setup` runs before
``import torch`` (the entry points above do); the allocator thresholds take effect whenever it runs.

Two traps (measurements: docs/performance.md, "Design measurements behind the code"):

* glibc's allocator returns freed activation buffers above its mmap threshold to the OS and
  page-faults them back in on the next use. glibc raises that threshold only to the size of a freed
  mmapped chunk, so same-size 8 MB activations keep being mapped and unmapped unless something
  larger was freed first (it depends on the process's history). Raising the mmap and trim
  thresholds keeps them in the heap, which speeds up training and large-batch encoding. We apply it
  with ``mallopt`` from :func:`setup`, so it holds without a shell wrapper (the ``MALLOC_*_``
  environment variables only work if set before the interpreter starts).
* Denormal floats slow freshly initialised networks several-fold on x86; flushing them to zero
  costs nothing measurable in accuracy for these models.

Thread counts are chosen by :func:`set_threads`: see its docstring.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from benchmark.errors import BenchmarkError

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30  # 1 GiB
TRIM_THRESHOLD = (1 << 31) - 1  # mallopt takes an int

_allocator_tuned: bool | None = None


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds (idempotent). Returns True if applied.

    Set ``DISENTANGLE_BENCH_NO_MALLOPT=1`` to skip it (used by the benchmark to show before/after).
    """
    global _allocator_tuned
    if _allocator_tuned is not None:
        return _allocator_tuned
    if os.environ.get("DISENTANGLE_BENCH_NO_MALLOPT") == "1":
        _allocator_tuned = False
        return False
    ok = False
    try:
        name = ctypes.util.find_library("c")
        if name:
            libc = ctypes.CDLL(name)
            if hasattr(libc, "mallopt"):
                ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                    libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                )
    except OSError:
        ok = False
    _allocator_tuned = ok
    return ok


def flush_denormals() -> bool:
    """Make torch flush denormal floats to zero on CPU (no-op where unsupported)."""
    import torch

    return bool(torch.set_flush_denormal(True))


def set_threads(n: int | None = None) -> int:
    """Choose torch's intra-op thread count deliberately.

    ``n=None`` picks the number of cores that are idle right now (cores minus the 1-minute load
    average, at least 1). With OpenMP's default spin-waiting (libgomp spins ~300,000 iterations at
    every barrier), two threads on a 2-core machine that share it with one other busy process run
    several times slower than one thread, because each barrier waits for the descheduled thread
    (docs/performance.md).
    :func:`configure_openmp` bounds the spin instead (see there); it only takes effect if set
    before torch is imported, which is why the entry points call :func:`setup` first.
    """
    import torch

    if n is None:
        cores = os.cpu_count() or 1
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
        n = max(1, min(cores, int(round(cores - load))))
    n = check_threads(n)
    torch.set_num_threads(n)
    return n


def check_threads(n: int) -> int:
    """``n`` as a thread count, or one clear error: 0 or fewer is meaningless, and far more threads
    than cores only oversubscribe them (OpenMP crashes outright when it cannot create them all)."""
    cores = os.cpu_count() or 1
    if not 1 <= int(n) <= cores:
        raise BenchmarkError(
            f"--threads must be between 1 and {cores} (the CPU cores of this machine), got {n}; "
            "pass a count in that range, or leave --threads out to use the idle cores"
        )
    return int(n)


SPIN_COUNT = "10000"


def configure_openmp() -> None:
    """Bound OpenMP's spin-wait unless the user chose a policy (call before torch starts).

    A 10,000-iteration spin (~10 us, ``GOMP_SPINCOUNT``) keeps nearly all of the best idle rate,
    where passive waiting loses a quarter of it; beside a busy process no policy helps two threads,
    which is why :func:`set_threads` picks one thread there (measurements: docs/performance.md,
    "Design measurements behind the code").
    ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` in the environment wins.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    os.environ.setdefault("KMP_BLOCKTIME", "0")  # Intel OpenMP builds: yield right away


_setup_done = False


def setup() -> None:
    """Apply the process-wide settings (OpenMP wait policy, allocator thresholds).

    Idempotent and cheap after the first call, so library functions call it on every use.
    """
    global _setup_done
    if _setup_done:
        return
    configure_openmp()
    tune_allocator()
    _setup_done = True
