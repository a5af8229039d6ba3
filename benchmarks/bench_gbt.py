"""The NumPy gradient-boosted trees (``benchmark.metrics.gbt``) against scikit-learn, on synthetic data.

    flock /tmp/heavy.lock python benchmarks/bench_gbt.py [--seeds 5]

1. DCI on a synthetic problem (3,000 train / 1,500 test points, factors of 3 / 6 / 10 classes,
   8 noisy mixed codes), ``--seeds`` tie-breaking seeds of each implementation, one process:
   every score and the wall time, and each score's range per implementation.
2. Where the two first differ: three synthetic 32-class problems (10,000 x 10 codes, 6 stages);
   the first node whose split differs, with both split scores and whether they partition alike.
3. Five dSprites-sized factors (3, 6, 40, 32, 32 classes; 10,000 x 10 codes): DCI importance
   fits in 1 process, 2 threads and 2 processes.
Writes ``benchmarks/out/bench_gbt.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import machine, print_table, write_json  # noqa: E402


def synthetic_dci(seeds: int) -> list[dict]:
    from sklearn.ensemble import GradientBoostingClassifier

    from benchmark.metrics import dci
    from benchmark.metrics.gbt import fit_gradient_boosting

    rng = np.random.default_rng(1)
    n, nt, sizes = 3000, 1500, np.array([3, 6, 10])
    y = np.stack([rng.integers(0, s, n + nt) for s in sizes], 1)
    z = np.concatenate(
        [
            y / sizes + rng.normal(scale=0.05, size=y.shape),
            (y / sizes) @ rng.normal(size=(3, 3)) + rng.normal(scale=0.3, size=y.shape),
            rng.normal(size=(n + nt, 2)),
        ],
        1,
    ).astype(np.float32)
    fitters = {
        "scikit-learn": lambda x, t, s: (lambda m: (m.feature_importances_, m.predict))(
            GradientBoostingClassifier(random_state=s).fit(x, t)
        ),
        "numpy": lambda x, t, s: (lambda m: (m.feature_importances, m.predict))(
            fit_gradient_boosting(x, t, np.random.default_rng(s))
        ),
    }
    rows = []
    for name, fit in fitters.items():
        for s in range(seeds):
            t0 = time.perf_counter()
            r, tr, te = np.zeros((z.shape[1], 3)), [], []
            for j in range(3):
                imp, predict = fit(z[:n], y[:n, j], s)
                r[:, j] = imp
                tr.append(np.mean(predict(z[:n]) == y[:n, j]))
                te.append(np.mean(predict(z[n:]) == y[n:, j]))
            rows.append(
                {
                    "implementation": name,
                    "seed": s,
                    "seconds": time.perf_counter() - t0,
                    "disentanglement": dci.disentanglement(r),
                    "completeness": dci.completeness(r),
                    "accuracy_train": float(np.mean(tr)),
                    "accuracy_test": float(np.mean(te)),
                }
            )
    return rows


def first_difference(seed: int, num_classes: int = 32, stages: int = 6) -> dict:
    """First node (stage, tree, node in heap order) whose split differs between the implementations."""
    from sklearn.ensemble import GradientBoostingClassifier

    from benchmark.metrics.gbt import fit_gradient_boosting

    rng = np.random.default_rng(seed)
    n = 10_000
    y = rng.integers(0, num_classes, n)
    x = (
        np.stack([y / num_classes] + [rng.random(n) for _ in range(4)], 1) @ rng.normal(size=(5, 10))
        + rng.normal(scale=0.1, size=(n, 10))
    ).astype(np.float32)
    ref = GradientBoostingClassifier(n_estimators=stages, random_state=0).fit(x, y)
    ours = fit_gradient_boosting(x, y, np.random.default_rng(0), n_estimators=stages)
    xd = x.astype(np.float64)
    raw = ref._raw_predict_init(x)
    for s in range(stages):
        e = np.exp(raw - raw.max(1, keepdims=True))
        g = (y[:, None] == np.arange(num_classes)) - e / e.sum(1, keepdims=True)
        for k in range(num_classes):
            est = ref.estimators_[s, k]
            t, path = est.tree_, est.decision_path(x).toarray().astype(bool)
            stack = [(0, 0)]
            while stack:
                node, heap = stack.pop(0)
                if t.children_left[node] == -1 or t.impurity[node] < 1e-12:
                    continue
                f, thr = int(t.feature[node]), float(t.threshold[node])
                of, othr = int(ours.feature[s, k, heap]), float(ours.threshold[s, k, heap])
                if f != of or thr != othr:
                    m = path[:, node]

                    def score(feat, th):
                        left = xd[m, feat] <= th
                        gl, gr = g[m, k][left], g[m, k][~left]
                        return gl.sum() ** 2 / len(gl) + gr.sum() ** 2 / len(gr), left

                    s_ref, l_ref = score(f, thr)
                    s_ours, l_ours = score(of, othr) if of >= 0 else (float("nan"), None)
                    return {
                        "problem": seed,
                        "stage": s,
                        "tree": k,
                        "node_samples": int(m.sum()),
                        "score_sklearn": s_ref,
                        "score_ours": s_ours,
                        "relative_difference": abs(s_ref - s_ours) / abs(s_ref),
                        "same_partition": bool(l_ours is not None and (l_ref == l_ours).all()),
                    }
                stack += [(t.children_left[node], 2 * heap + 1), (t.children_right[node], 2 * heap + 2)]
        raw = raw + ref.learning_rate * np.stack([ref.estimators_[s, kk].predict(x) for kk in range(num_classes)], 1)
    return {"problem": seed, "stage": None, "note": f"no difference in {stages} stages"}


def parallel_modes() -> list[dict]:
    from joblib import Parallel, delayed

    from benchmark.metrics import dci

    rng = np.random.default_rng(0)
    sizes = np.array([3, 6, 40, 32, 32])
    y = np.stack([rng.integers(0, s, 10_000) for s in sizes], 1)
    x = ((y / sizes) @ rng.normal(size=(5, 10)) + rng.normal(scale=0.1, size=(10_000, 10))).astype(np.float32)
    rows = []
    modes = (("1 process", 1, "threading"), ("2 threads", 2, "threading"), ("2 processes", 2, "loky"))
    for mode, jobs, backend in modes:
        order = sorted(range(5), key=lambda j: -sizes[j])
        t0 = time.perf_counter()
        Parallel(n_jobs=jobs, backend=backend)(delayed(dci._fit_gbt)(x, y[:, j], x[:10], y[:10, j], j) for j in order)
        rows.append({"mode": mode, "seconds": time.perf_counter() - t0})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=5, help="tie-breaking seeds per implementation in part 1 (default 5)")
    p.add_argument("--skip-parallel", action="store_true", help="skip part 3 (~4 min)")
    args = p.parse_args()

    from benchmark import runtime

    runtime.setup()  # the package's process-wide CPU settings (idempotent)
    rows = synthetic_dci(args.seeds)
    print_table(
        rows,
        ["implementation", "seed", "seconds", "disentanglement", "completeness", "accuracy_train", "accuracy_test"],
    )
    ranges = [
        {
            "score": k,
            **{
                impl: f"{min(r[k] for r in rows if r['implementation'] == impl):.4f}-"
                f"{max(r[k] for r in rows if r['implementation'] == impl):.4f}"
                for impl in ("scikit-learn", "numpy")
            },
        }
        for k in ("disentanglement", "completeness", "accuracy_train", "accuracy_test")
    ]
    print_table(ranges, ["score", "scikit-learn", "numpy"])
    diffs = [first_difference(s) for s in (1, 2, 3)]
    print_table(
        diffs,
        [
            "problem",
            "stage",
            "tree",
            "node_samples",
            "score_sklearn",
            "score_ours",
            "relative_difference",
            "same_partition",
        ],
    )
    par = [] if args.skip_parallel else parallel_modes()
    if par:
        print_table(par, ["mode", "seconds"])
    write_json(
        "bench_gbt",
        {
            "command": " ".join(sys.argv),
            "machine": machine(),
            "synthetic_dci": rows,
            "ranges": ranges,
            "first_differences": diffs,
            "parallel": par,
        },
    )


if __name__ == "__main__":
    main()
