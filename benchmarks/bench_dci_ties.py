"""DCI: how far the NumPy reference classifier is from scikit-learn's, against scikit-learn's own spread.

    flock /tmp/heavy.lock python benchmarks/bench_dci_ties.py [--sklearn-seeds 2] [--our-seeds 3]

``benchmark.metrics.gbt`` grows the same trees as ``GradientBoostingClassifier()`` except where two
features split a node equally well; both then pick at random (scikit-learn visits features in a
random order per node, and the reference passes no seed). This script scores DCI on one set of
codes and samples (the reference conv VAE trained 300 steps, as in ``bench_metrics.py``; full
dSprites grid; reference sample sizes) with several tie-breaking seeds of each implementation and
prints every score, the spread within each implementation and the gap between their means.
Writes ``benchmarks/out/bench_dci_ties.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import machine, print_table, write_json  # noqa: E402

KEYS = ("disentanglement", "completeness", "informativeness_train", "informativeness_test")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sklearn-seeds", type=int, default=2, help="scikit-learn runs (random_state 0..n-1; ~190 s each)")
    p.add_argument("--our-seeds", type=int, default=3, help="benchmark.metrics.gbt runs (seeds 0..n-1; ~60 s each)")
    p.add_argument("--data-dir", default=None, help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    args = p.parse_args()

    from benchmark import runtime

    runtime.setup()  # allocator thresholds, OpenMP wait policy
    from benchmark.data.registry import load_dataset
    from benchmark.metrics import dci
    from benchmark.metrics.encode import encode_dataset
    from benchmark.metrics.evaluate import metric_rng
    from benchmark.runtime import set_threads
    from benchmarks.bench_metrics import build_encoder

    set_threads(2)
    dataset = load_dataset("dsprites", data_dir=args.data_dir)
    model, desc = build_encoder(SimpleNamespace(checkpoint=None, seed=0, train_steps=300), dataset)
    (y_tr, i_tr), (y_te, i_te) = dci.sample(dataset.grid, metric_rng(0, "dci"))
    need = np.unique(np.concatenate([i_tr, i_te]))
    codes = encode_dataset(model, dataset, need, batch_size=64, device="cpu", progress=False)
    x_tr, x_te = codes.get(i_tr), codes.get(i_te)

    rows = []
    for impl, variant, seeds in (("numpy", "gbt", args.our_seeds), ("sklearn", "gbt_sklearn", args.sklearn_seeds)):
        for s in range(seeds):
            t = time.perf_counter()
            r, a, b = dci.importance_matrix(x_tr, y_tr, x_te, y_te, np.random.default_rng(s), variant)
            rows.append(
                {
                    "implementation": impl,
                    "seed": s,
                    "seconds": time.perf_counter() - t,
                    "disentanglement": dci.disentanglement(r),
                    "completeness": dci.completeness(r),
                    "informativeness_train": float(a.mean()),
                    "informativeness_test": float(b.mean()),
                }
            )
            print(rows[-1], flush=True)
    print_table(rows, ["implementation", "seed", "seconds", *KEYS])
    summary = []
    for k in KEYS:
        ours = np.array([r[k] for r in rows if r["implementation"] == "numpy"])
        ref = np.array([r[k] for r in rows if r["implementation"] == "sklearn"])
        summary.append(
            {
                "score": k,
                "numpy_range": float(np.ptp(ours)),
                "sklearn_range": float(np.ptp(ref)),
                "gap_of_means": float(abs(ours.mean() - ref.mean())),
            }
        )
    print_table(summary, ["score", "numpy_range", "sklearn_range", "gap_of_means"])
    write_json(
        "bench_dci_ties",
        {"command": " ".join(sys.argv), "machine": machine(), "encoder": desc, "rows": rows, "summary": summary},
    )


if __name__ == "__main__":
    main()
