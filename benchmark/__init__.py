"""disentangle-bench: ground-truth datasets, a VAE model zoo and the reference disentanglement scores.

Importing the package changes no process setting: the entry points apply :mod:`benchmark.runtime`
(glibc allocator thresholds, OpenMP wait policy) themselves; see :func:`benchmark.runtime.setup`.
"""

__version__ = "0.1.0"
