"""Names -> datasets. ``load_dataset("dsprites")`` is the only way the rest of the package gets data.

Each dataset module registers a :class:`DatasetSpec` with :func:`register`: its factor layout (so
``python -m benchmark data list`` can describe it without loading anything), the official files it
reads, and the loader.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from benchmark.data.paths import data_root
from benchmark.errors import BenchmarkError


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
    load: Callable = field(repr=False, compare=False)  # load(root: Path, **kwargs) -> GroundTruthDataset
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
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a dataset module not written yet
            if e.name != mod:
                raise
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


def load_dataset(name: str, data_dir=None, **kwargs):
    """Load a registered dataset from the data root (see :func:`benchmark.data.paths.data_root`)."""
    spec = get_spec(name)
    root = data_root(data_dir)
    try:
        return spec.load(root, **kwargs)
    except BenchmarkError as e:
        if spec.official_files and not spec.official_present(root):  # missing, not malformed: say how to fetch it
            from benchmark.data.downloads import download_hint

            hint = download_hint(name)
            if hint and hint not in str(e):
                raise type(e)(f"{e}{hint}") from None
        raise


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
