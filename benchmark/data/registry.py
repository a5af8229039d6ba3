"""Names -> datasets. ``load_dataset("dsprites")`` is the only way the rest of the package gets data.

Each dataset module registers a :class:`DatasetSpec` with :func:`register`: its factor layout (so
``python -m benchmark data list`` can describe it without loading anything), the official files it
reads, and the loader. Every loader has the signature ``load(root=None, source="auto", **options)``,
and :func:`resolve_source` is the one place that decides what ``source`` means for a dataset.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from benchmark.data.paths import data_root
from benchmark.errors import BenchmarkError, DatasetError


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset is, before it is loaded."""

    name: str
    description: str
    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]
    latent: tuple[int, ...]
    channels: int
    official_files: tuple[str, ...]  # relative to the data root; any one of them is enough
    # load(root=None, source="auto", **options) -> GroundTruthDataset; root None is the default data root
    load: Callable = field(repr=False, compare=False)
    procedural: bool = False  # has an offline generator
    needs_files: tuple[str, ...] = ()  # files every source needs besides the dataset's own (scream's painting)

    def official_present(self, root: Path) -> list[Path]:
        return [root / f for f in self.official_files if (root / f).exists()]


_REGISTRY: dict[str, DatasetSpec] = {}

# disentanglement_lib's names for datasets registered here under another name
ALIASES = {"dsprites_full": "dsprites"}

# Modules that register datasets; imported lazily so that `import benchmark.data` stays cheap.
_MODULES = (
    "benchmark.data.dsprites",
    "benchmark.data.shapes3d",
    "benchmark.data.faces3d",
    "benchmark.data.chairs3d",
    "benchmark.data.mpi3d",
    "benchmark.data.smallnorb",
    "benchmark.data.cars3d",
)
_loaded = False


def register(spec: DatasetSpec) -> DatasetSpec:
    _REGISTRY[spec.name] = spec
    return spec


def _import_all() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _MODULES:
        importlib.import_module(mod)  # a module that fails to import is a bug to see, not a dataset to hide
    _loaded = True


def available() -> list[str]:
    """Registered dataset names, sorted."""
    _import_all()
    return sorted(_REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The spec of a registered name or of a disentanglement_lib alias (``dsprites_full``)."""
    _import_all()
    name = ALIASES.get(name, name)
    if name not in _REGISTRY:
        raise BenchmarkError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


SOURCES = ("auto", "official", "procedural")


def resolve_source(
    spec_or_name: DatasetSpec | str,
    root=None,
    source: str = "auto",
    *,
    require_files: bool = True,
    notice: bool = False,
) -> str:
    """Which pixels a dataset is read from: ``"official"`` or ``"procedural"``.

    Parameters
    ----------
    spec_or_name : DatasetSpec or str
        The dataset (a registered name or alias).
    root : path-like, optional
        The data root (default: :func:`benchmark.data.paths.data_root`).
    source : {"auto", "official", "procedural"}
        ``auto``: the official file when one is present under ``root``, else the procedural
        generator; the other two force one.
    require_files : bool
        Raise when the official file the answer needs is absent. False answers from the registry
        alone (``auto`` without a file and without a generator then gives ``official``), e.g. to
        plan runs for a machine whose data root is elsewhere.
    notice : bool
        Print one ``notice:`` line to stderr when ``auto`` falls back to the generator.

    Returns
    -------
    str
        ``"official"`` or ``"procedural"``.

    Raises
    ------
    DatasetError
        For an unknown ``source``, a source the dataset does not have, or (``require_files``) an
        official file that is absent; the one-line message names the fix.
    """
    from benchmark.data import downloads

    spec = get_spec(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    if source not in SOURCES:
        raise DatasetError(f"unknown data source {source!r} for {spec.name}; use auto, official or procedural")
    root = data_root(root)
    present = bool(spec.official_present(root))
    base = downloads.ALIASES.get(spec.name, spec.name)
    get = (
        f"run: python -m benchmark data download {base}"
        if base in downloads.DOWNLOADS
        else "see datasets/README.md for how to obtain it"
    )
    stand_in = f"{spec.name}-procedural"
    if source == "procedural" and not spec.procedural:
        other = f" or the dataset {stand_in}" if stand_in in _REGISTRY else ""
        raise DatasetError(f"{spec.name} has no procedural generator; use its official file ({get}){other}")
    if source == "official" and not spec.official_files:
        raise DatasetError(
            f"{spec.name} has only one source, procedural (no official file); ask for source procedural or auto"
        )
    if source == "procedural" or (source == "auto" and spec.procedural and not present):
        if source == "auto" and notice and spec.official_files:
            print(
                f"notice: {spec.name}: no official file under {root}; using the procedural generator "
                f"(for the official data, {get})",
                file=sys.stderr,
            )
        return "procedural"
    if require_files and not present:
        if spec.procedural:
            fix = f"{get}, or pass --data-source procedural"
        elif stand_in in _REGISTRY:
            fix = f"{get}, or use the dataset {stand_in}"
        else:
            fix = get
        raise DatasetError(
            f"no official file for {spec.name} under {root} (expected {root / spec.official_files[0]}); {fix}"
        )
    return "official"


def load_dataset(name: str, data_dir=None, source: str = "auto", **options):
    """Load a registered dataset from the data root (see :func:`benchmark.data.paths.data_root`).

    ``source`` is passed to the loader (:func:`resolve_source`); ``options`` are the loader's own
    (e.g. ``lazy=True`` for shapes3d, ``cache=True`` for the procedural stand-ins).
    """
    return get_spec(name).load(data_root(data_dir), source, **options)


def describe_all(data_dir=None) -> list[dict]:
    """One dict per dataset for ``data list``."""
    root = data_root(data_dir)
    rows = []
    for name in available():
        s = _REGISTRY[name]
        present = s.official_present(root)
        rows.append(
            {
                "name": name,
                "factors": ", ".join(
                    f"{n} {z}" + ("" if i in s.latent else " (nuisance)")
                    for i, (n, z) in enumerate(zip(s.factor_names, s.factor_sizes))
                ),
                "channels": s.channels,
                "official_file": str(present[0]) if present else "absent",
                "procedural": s.procedural,
                "missing_needs": [f for f in s.needs_files if not (root / f).exists()],
                "description": s.description,
            }
        )
    return rows
