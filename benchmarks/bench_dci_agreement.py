"""DCI with our NumPy classifier against scikit-learn's on the same samples, across sample sizes.

    flock /tmp/heavy.lock python benchmarks/bench_dci_agreement.py [--reps 12] [--large-reps 4]

``bench_dci_ties.py`` compares the two on one trained encoder at the reference's sizes. This script
asks whether the gap depends on the number of training points: on synthetic encoder-like codes
(a 10 x 10 grid with mixed, rescaled codes; a 4 x 4 x 4 grid with non-linear codes; 8 dimensions,
float32) it draws one DCI sample per setting and scores it ``--reps`` times with each variant,
``gbt`` (``benchmark.metrics.gbt``, tie-breaking seeds 0, 1, ...) and ``gbt_sklearn``
(``GradientBoostingClassifier(random_state=0, 1, ...)``, the reference's classifier), at 1,000
training points and, ``--large-reps`` times, at the reference's 10,000. It prints the mean of each
score per variant, the difference of the means and that difference in standard errors (z), and
writes ``benchmarks/out/bench_dci_agreement.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import machine, print_table, write_json  # noqa: E402

KEYS = ("disentanglement", "completeness", "informativeness_test")


def synthetic_codes(grid, kind: str, seed: int, dim: int = 8) -> np.ndarray:
    """Encoder-like means for every image of ``grid``: (N, dim) float32."""
    rs = np.random.RandomState(1000 + seed)
    n = grid.num_images
    f = grid.latent_classes(np.arange(n)) / np.maximum(np.array(grid.latent_sizes) - 1, 1) * 2 - 1
    k = f.shape[1]
    if kind == "scaled":  # sparse mixing, per-dimension scales 1e-2..1e2 and offsets, one near-dead dimension
        w = rs.normal(size=(k, dim)) * (rs.rand(k, dim) < 0.4)
        z = np.sin(f @ w) + 0.2 * rs.normal(size=(n, dim))
        z = z * 10.0 ** rs.uniform(-2, 2, size=dim) + rs.normal(size=dim) * 5
        z[:, rs.randint(dim)] = 0.02 * rs.normal(size=n)
    else:  # "nonlinear": dense tanh mixing
        w = rs.normal(size=(k, dim)) * 1.5
        z = np.tanh(f @ w + 0.5 * np.sin(3 * f[:, [0]])) + 0.15 * rs.normal(size=(n, dim))
    return z.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=12, help="scorings per variant at 1,000 training points (default 12)")
    ap.add_argument(
        "--large-reps",
        type=int,
        default=4,
        help="scorings per variant at 10,000 training points (default 4; 0 skips them, ~1 min each)",
    )
    args = ap.parse_args()

    from benchmark import runtime

    runtime.setup()  # allocator thresholds, OpenMP wait policy
    from benchmark.data import FactorGrid
    from benchmark.metrics import dci
    from benchmark.metrics.utils import ReferenceRandomState

    settings = [("10x10", [10, 10], "scaled", 2), ("4x4x4", [4, 4, 4], "nonlinear", 2)]
    rows, runs = [], []
    info = machine()
    for num_train, reps in ((1000, args.reps), (10_000, args.large_reps)):
        if reps < 1:
            continue
        for name, sizes, kind, seed in settings:
            grid = FactorGrid.build([f"f{i}" for i in range(len(sizes))], sizes)
            codes = synthetic_codes(grid, kind, seed)
            samples = dci.sample(grid, ReferenceRandomState(seed), num_train, num_train // 2)
            scores = {"gbt": [], "gbt_sklearn": []}
            t0 = time.time()
            for r in range(reps):
                for variant in scores:
                    scores[variant].append(
                        dci.dci(codes, grid, np.random.default_rng(r), samples=samples, variant=variant, n_jobs=1)
                    )
            for key in KEYS:
                ours = np.array([s[key] for s in scores["gbt"]])
                ref = np.array([s[key] for s in scores["gbt_sklearn"]])
                se = np.sqrt(ours.var(ddof=1) / reps + ref.var(ddof=1) / reps) if reps > 1 else np.nan
                diff = ours.mean() - ref.mean()
                rows.append(
                    {
                        "codes": f"{name} {kind}",
                        "num_train": num_train,
                        "score": key,
                        "gbt": round(ours.mean(), 4),
                        "gbt_sklearn": round(ref.mean(), 4),
                        "sd gbt / sklearn": f"{ours.std(ddof=1):.4f} / {ref.std(ddof=1):.4f}" if reps > 1 else "-",
                        "diff": round(diff, 4),
                        "z": round(diff / se, 1) if se > 0 else 0.0,
                    }
                )
            runs.append(
                {
                    "codes": f"{name} {kind}",
                    "num_train": num_train,
                    "reps": reps,
                    "seconds": round(time.time() - t0, 1),
                    "scores": scores,
                }
            )
            print_table(rows[-len(KEYS) :], list(rows[0]))
            print()
    print("all settings:")
    print_table(rows, list(rows[0]))
    write_json("bench_dci_agreement", {"machine": info, "rows": rows, "runs": runs})


if __name__ == "__main__":
    main()
