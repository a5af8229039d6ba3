"""disentangle-bench: ground-truth datasets, a VAE model zoo and the reference disentanglement scores.

Importing the package applies the process-wide CPU settings in :mod:`benchmark.runtime`
(glibc allocator thresholds, OpenMP wait policy) so that every entry point and test gets them.
"""
from benchmark import runtime as _runtime

_runtime.setup()

__version__ = "0.1.0"
