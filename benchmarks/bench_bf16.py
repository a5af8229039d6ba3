"""The declared bfloat16 encoding option: speed and score change against float32 on CPU.

    flock /tmp/heavy.lock python benchmarks/bench_bf16.py [--threads 2]

Same encoder as ``bench_metrics.py`` (reference conv VAE, 300 Adam steps, seed 0), full dSprites
grid, reference sample sizes, the reference suite (DCI with ``dci_hist`` to keep the run short;
``--dci gbt`` for the reference classifier). Encodes the grid under float32 and under bfloat16
autocast, scores both with the same seed, and prints encoding rate, every score, and the largest
absolute score difference (the option is acceptable where it stays within 0.005).
Writes ``benchmarks/out/bench_bf16.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, print_table, write_json  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--dci", choices=["hist", "gbt"], default="hist", help="DCI classifier to score with (default hist)")
    p.add_argument("--data-dir", default=None, help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    args = p.parse_args()

    from benchmark import runtime

    runtime.setup()  # allocator thresholds, OpenMP wait policy
    from benchmark.data.registry import load_dataset
    from benchmark.metrics.evaluate import SUITE, evaluate
    from benchmark.runtime import set_threads
    from benchmarks.bench_metrics import build_encoder

    set_threads(args.threads)
    dataset = load_dataset("dsprites", data_dir=args.data_dir)
    model, desc = build_encoder(SimpleNamespace(checkpoint=None, seed=0, train_steps=300), dataset)
    metrics = [m if m != "dci" or args.dci == "gbt" else "dci_hist" for m in SUITE]
    runs = {}
    for bf16 in (False, True):
        with tempfile.TemporaryDirectory() as cache:
            runs[bf16] = evaluate(
                model,
                dataset,
                metrics=metrics,
                seed=0,
                preset="reference",
                device="cpu",
                batch_size=64,
                cache_dir=cache,
                key="bf16" if bf16 else "f32",
                bf16=bf16,
            )
    rows = [
        {"score": k, "float32": v, "bfloat16": runs[True]["scores"][k], "abs_diff": abs(v - runs[True]["scores"][k])}
        for k, v in runs[False]["scores"].items()
        if isinstance(v, float)
    ]
    print_table(rows, ["score", "float32", "bfloat16", "abs_diff"])
    rate = {str(b): runs[b]["representation"]["images_per_second"] for b in runs}
    worst = max(r["abs_diff"] for r in rows)
    print(
        f"encoding: float32 {rate['False']:,.0f} images/s, bfloat16 {rate['True']:,.0f} images/s "
        f"({rate['True'] / rate['False']:.2f}x); largest score difference {worst:.4f} (tolerance 0.005)"
    )
    write_json(
        "bench_bf16",
        {
            "command": " ".join(sys.argv),
            "machine": machine(),
            "encoder": desc,
            "images_per_second": rate,
            "rows": rows,
            "max_abs_diff": worst,
        },
    )


if __name__ == "__main__":
    main()
