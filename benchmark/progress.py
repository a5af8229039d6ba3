"""Progress for long work: a tqdm bar on a terminal, readable periodic lines in a log file.

Under ``nohup``, Slurm or CI, stderr is a file: a tqdm bar there writes a carriage-return update
many times a second, which reads as hundreds of garbled lines. :func:`progress` gives the bar on a
terminal and :class:`ProgressLines` otherwise, one line every ``every_s`` seconds and one at the end::

    render dSprites: 245,760/737,280 img (33.3 %), 4,120 img/s, ETA 00:01:59
"""

from __future__ import annotations

import sys
import time

LOG_EVERY_S = 30.0


def progress(
    total: int | None,
    desc: str,
    unit: str = "it",
    *,
    initial: int = 0,
    enabled: bool = True,
    every_s: float = LOG_EVERY_S,
    stream=None,
):
    """A progress reporter with tqdm's ``update``/``set_postfix``/``close`` and context-manager protocol.

    Parameters
    ----------
    total : int or None
        Units of work in all (steps, images, bytes); None when unknown.
    desc : str
        What the work is, e.g. ``"render dSprites"``.
    unit : str
        Name of one unit (``"img"``, ``"step"``, ``"B"``).
    initial : int
        Units already done (a resumed run).
    enabled : bool
        False reports nothing.
    every_s : float
        Seconds between lines when stderr is not a terminal.
    stream : file, optional
        Where to write (default: stderr).

    Returns
    -------
    tqdm or ProgressLines
    """
    stream = stream if stream is not None else sys.stderr
    if enabled and not _is_terminal(stream):
        return ProgressLines(total, desc, unit, initial=initial, every_s=every_s, stream=stream)
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        disable=not enabled,
        file=stream,
        dynamic_ncols=True,
        mininterval=1.0,
        unit_scale=unit == "B",
        unit_divisor=1024 if unit == "B" else 1000,
    )


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False


class ProgressLines:
    """The bar's information as one line every ``every_s`` seconds and at the end, for log files."""

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "it",
        *,
        initial: int = 0,
        every_s: float = LOG_EVERY_S,
        stream=None,
    ):
        self.total = None if total is None else int(total)
        self.n, self.desc, self.unit = int(initial), desc, unit
        self.every_s = float(every_s)
        self.stream = stream if stream is not None else sys.stderr
        self.start_n, self.t0 = self.n, time.perf_counter()
        self.last = self.t0
        self.post: dict = {}

    def update(self, k: int = 1) -> None:
        self.n += k
        now = time.perf_counter()
        if now - self.last >= self.every_s:
            self.last = now
            self._line(now)

    def set_postfix(self, post: dict | None = None, **kwargs) -> None:
        self.post = {**(post or {}), **kwargs}

    def line_text(self, now: float) -> str:
        done = self.n - self.start_n
        rate = done / max(now - self.t0, 1e-9)  # units/s of this call, not counting resumed work
        extra = "".join(f", {k} {v}" for k, v in self.post.items())
        # bytes read as MiB; other units as counts
        scale, unit = (2**20, "MiB") if self.unit == "B" else (1, self.unit)
        n, r = (f"{self.n / scale:,.1f}", f"{rate / scale:,.1f}") if scale > 1 else (f"{self.n:,}", f"{rate:,.0f}")
        if self.total is None:  # size unknown (a server that sends no length): no share, no ETA
            return f"{self.desc}: {n} {unit}, {r} {unit}/s{extra}"
        eta = (self.total - self.n) / rate if rate > 0 else float("inf")
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta < 86400 * 365 else "?"
        total = f"{self.total / scale:,.1f}" if scale > 1 else f"{self.total:,}"
        share = 100 * self.n / max(self.total, 1)
        return f"{self.desc}: {n}/{total} {unit} ({share:.1f} %), {r} {unit}/s, ETA {eta_text}{extra}"

    def _line(self, now: float) -> None:
        print(self.line_text(now), file=self.stream, flush=True)

    def close(self) -> None:
        if self.n > self.start_n:
            self._line(time.perf_counter())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
