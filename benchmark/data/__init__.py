"""Ground-truth-factor datasets: the grid, the dataset interface, loaders and procedural renderers."""

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.data.paths import data_root
from benchmark.data.registry import DatasetSpec, available, get_spec, load_dataset, register, resolve_source

__all__ = [
    "FactorGrid",
    "GroundTruthDataset",
    "Provenance",
    "DatasetSpec",
    "available",
    "data_root",
    "get_spec",
    "load_dataset",
    "register",
    "resolve_source",
]
