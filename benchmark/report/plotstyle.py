"""One fixed matplotlib style and a reproducible save for every report figure.

The committed PNG/PDF files must not change unless their numbers do: the same results files give the
same bytes, whoever draws them (``run_all.py`` at the end of a sweep or ``python -m benchmark figures``)
and whatever the machine's matplotlibrc or installed fonts. So every figure is drawn with the Agg
backend inside one explicit style (matplotlib's defaults + seaborn's whitegrid/paper theme + the
DejaVu Sans font that ships with matplotlib) and saved without dates or software versions.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

FIG_FORMATS = ("png", "pdf")
DPI = 130
# No creation date and no software version in the files: they would change every byte-identical redraw.
SAVE_METADATA = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}
# rc keys that select a backend or a GUI rather than how a figure looks: left as the process has them
_NOT_STYLE = ("backend", "backend_fallback", "interactive", "timezone", "toolbar", "webagg.")


@functools.lru_cache(maxsize=1)
def style() -> dict:
    """The rcParams every report figure is drawn with (built once; the process's own settings are untouched)."""
    import matplotlib
    import seaborn as sns
    from cycler import cycler

    rc = {k: v for k, v in matplotlib.rcParamsDefault.items() if not k.startswith(_NOT_STYLE)}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("paper"))
    rc.update(
        {
            "axes.prop_cycle": cycler(color=sns.color_palette("deep")),
            "font.family": ["sans-serif"],
            "font.sans-serif": ["DejaVu Sans"],  # ships with matplotlib: the same glyphs on every machine
            "mathtext.fontset": "dejavusans",
            "svg.hashsalt": "disentangle-bench",
            "savefig.dpi": DPI,
        }
    )
    return rc


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed, the same pixels everywhere)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def styled(draw):
    """Run a drawing function inside :func:`style` (figure creation and saving alike)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        import matplotlib

        pyplot()
        with matplotlib.rc_context(style()):
            return draw(*args, **kwargs)

    return wrapper


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.png`` and ``.pdf`` (atomically: temp file + rename) and close it.

    Parameters
    ----------
    fig : the matplotlib figure.
    out_dir : folder, created if missing.
    stem : file name without suffix.

    Returns
    -------
    The paths written, PNG first.
    """
    from benchmark.io import atomic_write_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FIG_FORMATS:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=DPI, bbox_inches="tight", metadata=SAVE_METADATA[fmt])
        path = out_dir / f"{stem}.{fmt}"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    pyplot().close(fig)
    return paths
