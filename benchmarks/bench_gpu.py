"""GPU training-engine numbers against the engine's targets, measured in one run on a CUDA machine.

    python benchmarks/bench_gpu.py [--seconds 4] [--only NAME ...]

Every row trains through the real entry point (``benchmark.train.loop.train_members``, the conv
models of the reference recipe, batch 64 per member, ``dsprites_mini`` images on the device) and
reports images/s over all members between a warm-up (CUDA graph capture, cuDNN autotuning) and a
time budget, synchronising the device at both marks. Rows:

* one model: the CUDA graph engine in fp32 / bf16 autocast / fp32 channels_last, the same device
  step run eagerly (``--graph off``), and the host engine (numpy batches, eager: the engine before
  graphs);
* the paper preset's groups: the AE alone and VAE + beta 4 + beta 16 as one 3-member ensemble, from
  which the preset's training time (300,000 steps each) is projected;
* wide ensembles of K = 8, 16, 32 beta-VAEs (and K = 32 FactorVAEs) in fp32 and bf16, from which the
  Locatello et al. 2019 study's GPU time is projected (``benchmark.sweep.study``).

Prints a table and writes benchmarks/out/bench_gpu.json (and $OUT/bench_gpu.json when OUT is set).
A row that fails records its error and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from common import machine, print_table, write_json  # noqa: E402

BATCH = 64
PAPER_STEPS = 300_000


class _Stop(Exception):
    pass


def rate(data, members: list[tuple[str, dict]], seconds: float, warmup: int = 30, device: str = "cuda", **kw) -> dict:
    """images/s of ``train_members`` over all members, from step ``warmup`` until ``seconds`` have passed."""
    import torch

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    from benchmark.train import TrainConfig
    from benchmark.train.loop import train_members

    engine = kw.pop("engine", None)
    layout = kw.pop("stack_layout", None)
    cfgs = [
        TrainConfig(
            model=m,
            params=p,
            dataset=data.name,
            steps=10**7,
            seed=i,
            log_every=10**6,
            checkpoint_every=10**8,
            device=device,
            **kw,
        )
        for i, (m, p) in enumerate(members)
    ]
    marks: dict = {}

    def on_step(s):
        if s == warmup:
            sync()
            marks["t0"] = time.perf_counter()
        elif s > warmup and s % 200 == 0:
            sync()
            if time.perf_counter() - marks["t0"] >= seconds:
                marks["t1"], marks["steps"] = time.perf_counter(), s - warmup
                raise _Stop()

    with tempfile.TemporaryDirectory() as d:
        try:
            train_members(
                cfgs,
                data,
                [Path(d) / str(i) for i in range(len(cfgs))],
                progress=False,
                on_step=on_step,
                engine=engine,
                stack_layout=layout,
            )
        except _Stop:
            pass
    img_s = marks["steps"] * BATCH * len(cfgs) / (marks["t1"] - marks["t0"])
    return {
        "images_per_s": img_s,
        "members": len(cfgs),
        "steps_timed": marks["steps"],
        "ms_per_step": 1e3 * (marks["t1"] - marks["t0"]) / marks["steps"],
        "peak_gb": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }


def beta_grid(k: int, model: str = "beta_vae", key: str = "beta") -> list[tuple[str, dict]]:
    values = (1.0, 2.0, 4.0, 6.0, 8.0, 16.0) if key == "beta" else (10.0, 20.0, 30.0, 40.0, 50.0, 100.0)
    return [(model, {key: values[i % 6]}) for i in range(k)]


PAPER_GROUP = [("vae", {}), ("beta_vae", {"beta": 4.0}), ("beta_vae", {"beta": 16.0})]

ROWS = {
    # name: (members, settings)
    "solo_graph_fp32": ([("beta_vae", {"beta": 4.0})], {"amp": "off"}),
    "solo_graph_bf16": ([("beta_vae", {"beta": 4.0})], {"amp": "on"}),
    "solo_graph_fp32_channels_last": ([("beta_vae", {"beta": 4.0})], {"amp": "off", "channels_last": "on"}),
    "solo_device_eager_fp32": ([("beta_vae", {"beta": 4.0})], {"amp": "off", "graph": "off"}),
    "solo_host_bf16_before": ([("beta_vae", {"beta": 4.0})], {"amp": "on", "engine": "host"}),
    "ae_graph_fp32": ([("ae", {})], {"amp": "off"}),
    "ae_graph_bf16": ([("ae", {})], {"amp": "on"}),
    "paper_group3_graph_fp32": (PAPER_GROUP, {"amp": "off"}),
    "paper_group3_graph_bf16": (PAPER_GROUP, {"amp": "on"}),
    "k8_graph_fp32": (beta_grid(8), {"amp": "off"}),
    "k16_graph_fp32": (beta_grid(16), {"amp": "off"}),
    "k32_graph_fp32": (beta_grid(32), {"amp": "off"}),
    "k32_graph_bf16": (beta_grid(32), {"amp": "on"}),
    "k32_factor_vae_graph_fp32": (beta_grid(32, "factor_vae", "gamma"), {"amp": "off"}),
    # the wide network (grouped convolutions, benchmark.models.wide) instead of vmap
    "paper_group3_wide_cl_fp32": (PAPER_GROUP, {"amp": "off", "stack_layout": "wide_cl"}),
    "k32_wide_fp32": (beta_grid(32), {"amp": "off", "stack_layout": "wide"}),
    "k32_wide_cl_fp32": (beta_grid(32), {"amp": "off", "stack_layout": "wide_cl"}),
    "k32_wide_cl_bf16": (beta_grid(32), {"amp": "on", "stack_layout": "wide_cl"}),
    "k32_factor_vae_wide_cl_fp32": (beta_grid(32, "factor_vae", "gamma"), {"amp": "off", "stack_layout": "wide_cl"}),
}


def projections(res: dict) -> dict:
    """The paper preset's training time and the Locatello study's GPU time from the measured rates."""

    def best(*names):
        vals = [res[n]["images_per_s"] for n in names if isinstance(res.get(n), dict)]
        return max(vals) if vals else None

    out = {}
    ae = best("ae_graph_fp32", "ae_graph_bf16")
    grp = best("paper_group3_graph_fp32", "paper_group3_graph_bf16", "paper_group3_wide_cl_fp32")
    if ae and grp:
        out["paper_preset_training_s_sequential"] = PAPER_STEPS * BATCH * (1 / ae + 3 / grp)
    wide = best("k32_graph_fp32", "k32_graph_bf16", "k32_wide_fp32", "k32_wide_cl_fp32", "k32_wide_cl_bf16")
    fvae = best("k32_factor_vae_graph_fp32", "k32_factor_vae_wide_cl_fp32")
    if wide:
        from benchmark.sweep.study import study_runs

        runs = study_runs("locatello2019")
        img = 0.0
        for r in runs:
            r_rate = fvae if (r["model"] == "factor_vae" and fvae) else wide
            img += r["train"]["steps"] * r["train"]["batch_size"] / r_rate
        out["locatello2019_training_gpu_days"] = img / 86400
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="timed seconds per row after warm-up (default 4)")
    ap.add_argument(
        "--only", nargs="+", metavar="NAME", choices=sorted(ROWS), help=f"measure only these rows: {', '.join(ROWS)}"
    )
    ap.add_argument(
        "--device",
        default="cuda",
        help="cuda (default); cpu only checks this script's plumbing (graph rows then fail by design)",
    )
    args = ap.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: bench_gpu.py needs a CUDA device (torch.cuda.is_available() is False)", file=sys.stderr)
        return 2
    from benchmark.data.registry import load_dataset

    data = load_dataset("dsprites_mini")
    res: dict = {}
    for name in args.only or ROWS:
        members, settings = ROWS[name]
        t = time.perf_counter()
        try:
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            res[name] = rate(data, members, args.seconds, device=args.device, **settings)
        except Exception as e:  # noqa: BLE001 - report and go on: the device window is short
            res[name] = f"failed: {type(e).__name__}: {str(e)[:300]}"
            traceback.print_exc()
        print(
            f"{name}: {res[name] if isinstance(res[name], str) else round(res[name]['images_per_s'])} "
            f"({time.perf_counter() - t:.0f} s)",
            flush=True,
        )
    proj = projections(res)
    rows = [
        {
            "row": k,
            "images/s": v["images_per_s"] if isinstance(v, dict) else None,
            "members": v["members"] if isinstance(v, dict) else None,
            "ms/step": v["ms_per_step"] if isinstance(v, dict) else None,
            "peak GB": v["peak_gb"] if isinstance(v, dict) else None,
            "note": "" if isinstance(v, dict) else v[:60],
        }
        for k, v in res.items()
    ]
    print_table(rows, ["row", "images/s", "members", "ms/step", "peak GB", "note"])
    for k, v in proj.items():
        print(f"{k}: {v:,.2f}")
    payload = {
        "machine": machine(),
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else args.device,
        "seconds": args.seconds,
        "rows": res,
        "projections": proj,
    }
    write_json("bench_gpu", payload)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "bench_gpu.json").write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
