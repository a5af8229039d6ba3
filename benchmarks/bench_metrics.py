"""Metrics benchmark: the whole reference suite, encode-once (ours) vs re-encoding every sample (the reference's way).

One command (heavy: run it alone, e.g. under ``flock /tmp/heavy.lock``)::

    python benchmarks/bench_metrics.py                      # untrained reference conv VAE, full dSprites grid
    python benchmarks/bench_metrics.py --checkpoint RUN/checkpoint.pt

Measures, on one encoder over the full dataset grid at the reference sample sizes:

1. encoding throughput (images/s) for a few batch sizes;
2. ours: ``evaluate`` end to end (sampling, one encoding pass over all needed images, every score);
3. the reference's way: the same samples, each metric re-encoding every image it samples
   (``OnTheFlyCodes``, same encoder, same batch size 64, same threads), then the same scoring,
   except that DCI fits scikit-learn's own GradientBoostingClassifier factor after factor, as the
   reference does (so its score difference shows the tie-breaking of ``benchmark.metrics.gbt``);
   prints both totals, the ratio, and the largest score difference between the two;
4. DCI: the reference classifier (``benchmark.metrics.gbt``, factors in parallel processes) vs the
   declared ``hist_gbt`` variant on the same codes and samples.

Writes ``benchmarks/out/bench_metrics.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import machine, print_table, write_json  # noqa: E402


def build_encoder(args, dataset):
    """A checkpoint, or the reference conv VAE trained for ``--train-steps`` (0 = untrained).

    An untrained conv encoder's means vary by < 0.05 across images, so the FactorVAE score prunes
    every dimension and stops before its votes (as the reference does), which would hide most of the
    reference's encoding cost; a few hundred Adam steps give codes that vary.
    """
    from benchmark.models import build_model, load_checkpoint, make_config

    if args.checkpoint:
        model, cfg = load_checkpoint(args.checkpoint)
        return model, f"checkpoint {args.checkpoint} ({cfg.get('model')})"
    torch.manual_seed(args.seed)
    model = build_model(make_config("vae", channels=dataset.channels))
    if args.train_steps:
        rng = np.random.default_rng(args.seed)
        gen = torch.Generator().manual_seed(args.seed)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        t = time.perf_counter()
        model.train()
        for step in range(args.train_steps):
            x = dataset.observe(dataset.grid.sample_index(64, rng), "cpu", rng)
            loss = model.loss(x, step, gen)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(
            f"trained {args.train_steps} steps in {time.perf_counter() - t:.0f} s, last loss {float(loss.detach()):.1f}"
        )
    model.eval()
    what = (
        f"reference conv VAE trained {args.train_steps} Adam steps (lr 1e-3, batch 64)"
        if args.train_steps
        else "untrained reference conv VAE (Xavier init)"
    )
    return model, f"{what}, seed {args.seed}"


def throughput(model, dataset, batch_sizes, n=16_384):
    from benchmark.metrics.encode import encode_dataset

    rows = []
    idx = np.arange(n)
    for bs in batch_sizes:
        encode_dataset(model, dataset, idx[: bs * 4], batch_size=bs, device="cpu", progress=False)  # warm-up
        c = encode_dataset(model, dataset, idx, batch_size=bs, device="cpu", progress=False)
        rows.append(
            {"batch_size": bs, "images": n, "seconds": c.info["seconds"], "images_per_s": c.info["images_per_second"]}
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="dsprites", help="registered dataset (default dsprites, the full 737,280 grid)")
    p.add_argument("--data-dir", default=None, help="data root (default: $DISENTANGLE_BENCH_DATA, else ./datasets)")
    p.add_argument("--checkpoint", default=None, help="trained checkpoint (default: an untrained reference conv VAE)")
    p.add_argument(
        "--train-steps",
        type=int,
        default=300,
        help="train the conv VAE this many steps first so its codes vary (0: untrained; ignored with --checkpoint)",
    )
    p.add_argument("--preset", default="reference", help="metric sample sizes (default reference)")
    p.add_argument("--seed", type=int, default=0, help="metric seed and encoder init seed")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: idle cores)")
    p.add_argument("--skip-reference-way", action="store_true", help="time only our way")
    p.add_argument("--out", default="bench_metrics", help="name of the JSON file in benchmarks/out/")
    args = p.parse_args()

    from benchmark.data.registry import load_dataset
    from benchmark.metrics.encode import OnTheFlyCodes
    from benchmark.metrics.evaluate import METRICS, SUITE, evaluate, metric_rng, resolve_params
    from benchmark.runtime import flush_denormals, set_threads

    threads = set_threads(args.threads)
    flush_denormals()
    info = machine()
    t = time.perf_counter()
    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    _ = dataset.images
    load_s = time.perf_counter() - t
    model, encoder_desc = build_encoder(args, dataset)
    print(f"{dataset!r}\nencoder: {encoder_desc}; torch threads {threads}; load {load_s:.1f} s")

    tp = throughput(model, dataset, [64, 256, 1024])
    print("\nencoding throughput (first 16,384 images)")
    print_table(tp, ["batch_size", "images", "seconds", "images_per_s"])

    cache = tempfile.mkdtemp(prefix="bench_metrics_")
    t = time.perf_counter()
    ours = evaluate(
        model,
        dataset,
        metrics=list(SUITE),
        seed=args.seed,
        preset=args.preset,
        device="cpu",
        batch_size=64,
        cache_dir=cache,
        key="bench",
        progress=True,
    )
    ours_total = time.perf_counter() - t
    rep = ours["representation"]
    rows = [
        {
            "step": "encode once",
            "seconds": rep["seconds"],
            "images": rep["num_encoded"],
            "note": f"{rep['selection']}: {rep['unique_indices_needed']:,} unique of {rep['samples_drawn']:,} sampled",
        }
    ]
    rows += [
        {"step": m, "seconds": r["seconds"], "images": None, "note": r["variant"]} for m, r in ours["metrics"].items()
    ]
    rows.append(
        {
            "step": "total (ours)",
            "seconds": ours_total,
            "images": None,
            "note": f"budget: encode + 90 s = {rep['seconds'] + 90:.0f} s",
        }
    )
    print(f"\nours: encode once ({rep['images_per_second']:,.0f} images/s), then score")
    print_table(rows, ["step", "seconds", "images", "note"])

    # DCI: reference GBT vs the declared fast variant on the same codes (cache hit) and the same samples.
    from benchmark.metrics import dci as dci_mod
    from benchmark.metrics.encode import encode_dataset

    codes = encode_dataset(model, dataset, batch_size=64, device="cpu", cache_dir=cache, key="bench", progress=False)
    p_dci = resolve_params("dci", dataset.grid, args.preset)
    t = time.perf_counter()
    hist_same = dci_mod.dci(
        codes,
        dataset.grid,
        metric_rng(args.seed, "dci"),
        num_train=p_dci["num_train"],
        num_test=p_dci["num_test"],
        batch_size=p_dci["batch_size"],
        variant="hist_gbt",
    )
    hist_s = time.perf_counter() - t
    keys = ("disentanglement", "completeness", "informativeness_train", "informativeness_test")
    dci_rows = [
        {
            "variant": "gbt (reference classifier, NumPy, factors in parallel)",
            "seconds": ours["metrics"]["dci"]["seconds"],
            **{k: ours["metrics"]["dci"]["scores"][k] for k in keys},
        },
        {"variant": "hist_gbt (declared fast variant)", "seconds": hist_s, **{k: hist_same[k] for k in keys}},
    ]
    print("\nDCI on the same samples")
    print_table(dci_rows, ["variant", "seconds", *keys])
    ours_hist_total = ours_total - ours["metrics"]["dci"]["seconds"] + hist_s
    print(f"suite with dci_hist instead of dci: {ours_hist_total:.1f} s (budget {rep['seconds'] + 90:.0f} s)")

    ref_rows, ref_total, max_diff = [], None, None
    if not args.skip_reference_way:
        print("\nthe reference's way: every metric re-encodes every image it samples (batch 64)")
        ref_total, enc_total, max_diff = 0.0, 0.0, 0.0
        for m in SUITE:
            spec = METRICS[m]
            params = resolve_params(m, dataset.grid, args.preset)
            rng = metric_rng(args.seed, m)
            t = time.perf_counter()
            samples = spec.module.sample(dataset.grid, rng, **params)
            fly = OnTheFlyCodes(model, dataset, batch_size=64, device="cpu", rng=np.random.default_rng(args.seed))
            if m == "dci":  # the reference's classifier (scikit-learn's), factors one after another
                params = {**params, "n_jobs": 1, "variant": "gbt_sklearn"}
            scores = spec.score(fly, dataset.grid, rng, samples=samples, **params)
            seconds = time.perf_counter() - t
            diff = max(
                (
                    abs(scores[k] - ours["metrics"][m]["scores"][k])
                    for k in scores
                    if isinstance(scores[k], float) and ours["metrics"][m]["scores"].get(k) is not None
                ),
                default=0.0,
            )
            max_diff = max(max_diff, diff)
            ref_total += seconds
            enc_total += fly.seconds
            ref_rows.append(
                {
                    "metric": m,
                    "seconds": seconds,
                    "encode_seconds": fly.seconds,
                    "images": fly.num_encoded,
                    "max_score_diff": diff,
                }
            )
            print(f"  {m}: {seconds:.1f} s ({fly.num_encoded:,} images encoded in {fly.seconds:.1f} s)", flush=True)
        ref_rows.append(
            {
                "metric": "total (reference way)",
                "seconds": ref_total,
                "encode_seconds": enc_total,
                "images": sum(r["images"] for r in ref_rows),
                "max_score_diff": max_diff,
            }
        )
        print_table(ref_rows, ["metric", "seconds", "encode_seconds", "images", "max_score_diff"])
        print(
            f"\nours {ours_total:.1f} s vs reference way {ref_total:.1f} s: {ref_total / ours_total:.2f}x faster "
            f"(largest score difference {max_diff:.2g})"
        )

    write_json(
        args.out,
        {
            "command": " ".join(sys.argv),
            "machine": info,
            "dataset": dataset.info(),
            "encoder": encoder_desc,
            "torch_threads": threads,
            "dataset_load_seconds": load_s,
            "throughput": tp,
            "ours": {
                "total_seconds": ours_total,
                "encode_seconds": rep["seconds"],
                "images_per_second": rep["images_per_second"],
                "per_metric_seconds": {m: r["seconds"] for m, r in ours["metrics"].items()},
                "budget_seconds": rep["seconds"] + 90,
                "scores": ours["scores"],
                "representation": rep,
                "total_seconds_with_dci_hist": ours_hist_total,
            },
            "dci_variants": dci_rows,
            "reference_way": {
                "rows": ref_rows,
                "total_seconds": ref_total,
                "speedup": (ref_total / ours_total) if ref_total else None,
            },
            "sklearn_version": ours["sklearn_version"],
        },
    )


if __name__ == "__main__":
    main()
