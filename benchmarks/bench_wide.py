"""How to run K conv beta-VAEs at once on a GPU: forward + backward of one step, layouts compared.

    python benchmarks/bench_wide.py [--members 32] [--batch 64] [--profile]

Each variant computes the beta-VAE loss of K members at batch B (Bernoulli reconstruction + beta KL,
per member, summed) and its gradients; the step (no optimiser) is captured as a CUDA graph and its
replays are timed with CUDA events (median of 20). Variants: ``vmap`` (torch.func over the zoo
model, the engine's stack before this benchmark), ``wide`` (:mod:`benchmark.models.wide`, grouped
convolutions and batched matmuls) in NCHW or channels_last, fp32 or bf16 autocast; ``dense`` is one
model at batch K*B, the ceiling of these layers without grouping. ``--profile`` prints the top CUDA
kernels of one eager step per variant (torch.profiler). Writes benchmarks/out/bench_wide.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from common import machine, print_table, write_json  # noqa: E402


def make_variant(name: str, k: int, b: int, device):
    """(step function, parameters) of a variant; the step returns the summed loss after backward."""
    import torch
    import torch.nn.functional as F

    from benchmark.models import build_model, make_config
    from benchmark.models import losses as L
    from benchmark.models.wide import from_wide, to_wide, wide_decode, wide_encode
    from benchmark.train.stack import MemberStack

    torch.manual_seed(0)
    bf16 = name.endswith("bf16")
    amp = (
        (lambda: torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)) if bf16 else contextlib.nullcontext
    )
    x = (torch.rand(k, b, 1, 64, 64, device=device) > 0.9).float()
    eps = torch.randn(k, b, 10, device=device)
    beta = torch.linspace(1, 16, k, device=device)
    if name.startswith("dense"):
        model = build_model(make_config("beta_vae")).to(device)
        xd, ed = x.reshape(k * b, 1, 64, 64), eps.reshape(k * b, 10)
        if "cl" in name:
            model = model.to(memory_format=torch.channels_last)
            xd = xd.contiguous(memory_format=torch.channels_last)
        params = list(model.parameters())

        def step():
            with amp():
                t = model(xd, {"eps": ed}, 0, None)
            t["loss"].backward()
            return t["loss"]

        return step, params
    models = [build_model(make_config("beta_vae", beta=float(i + 1))).to(device) for i in range(k)]
    stack = MemberStack(models)
    params = list(stack.params.values())
    if name.startswith("vmap"):

        def step():
            with amp():
                t = stack.forward(x, {"eps": eps}, 0)
            loss = t["loss"].sum()
            loss.backward()
            return loss

        return step, params
    cl = "cl" in name

    def step():
        with amp():
            mu, logvar = wide_encode(stack.params, to_wide(x, cl), k)
            z = L.reparameterize(mu, logvar, eps)
            logits = from_wide(wide_decode(stack.params, z, cl), k).float()
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3, 4)) / b
            kl = 0.5 * (mu.float().square() + logvar.float().exp() - logvar.float() - 1.0).sum((1, 2)) / b
        loss = (recon + beta * kl).sum()
        loss.backward()
        return loss

    return step, params


def time_graph(step, params, reps: int = 20) -> float:
    """Median ms of one replay of the captured step."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            for p in params:
                p.grad = None
            step()
    torch.cuda.current_stream().wait_stream(side)
    for p in params:
        p.grad = None
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        step()
    times = []
    for _ in range(reps):
        a, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        e.record()
        e.synchronize()
        times.append(a.elapsed_time(e))
    return statistics.median(times)


def profile(step, params, top: int = 12) -> str:
    import torch
    from torch.profiler import ProfilerActivity, profile as prof

    for p in params:
        p.grad = None
    step()
    torch.cuda.synchronize()
    with prof(activities=[ProfilerActivity.CUDA]) as pr:
        for p in params:
            p.grad = None
        step()
        torch.cuda.synchronize()
    return pr.key_averages().table(sort_by="cuda_time_total", row_limit=top, max_name_column_width=70)


VARIANTS = ("vmap", "vmap_bf16", "wide", "wide_bf16", "wide_cl", "wide_cl_bf16", "dense", "dense_bf16", "dense_cl_bf16")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=32, help="K (default 32)")
    ap.add_argument("--batch", type=int, default=64, help="B per member (default 64)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS, help="what to time")
    ap.add_argument(
        "--profile",
        nargs="*",
        default=None,
        metavar="VARIANT",
        help="print the top CUDA kernels of these variants (no names: vmap and wide_cl)",
    )
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("error: bench_wide.py needs a CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    res = {}
    for name in args.variants:
        try:
            step, params = make_variant(name, args.members, args.batch, dev)
            ms = time_graph(step, params)
            res[name] = {"ms": ms, "images_per_s": args.members * args.batch / ms * 1e3}
        except Exception as e:  # noqa: BLE001 - a short device window: report and go on
            res[name] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
        print(name, res[name], flush=True)
    profiles = {}
    for name in args.profile if args.profile else (["vmap", "wide_cl"] if args.profile is not None else []):
        try:
            step, params = make_variant(name, args.members, args.batch, dev)
            profiles[name] = profile(step, params)
        except Exception as e:  # noqa: BLE001 - the profiler needs CUPTI, which a VM may lack
            profiles[name] = f"profile failed: {type(e).__name__}: {str(e)[:200]}"
        print(f"--- {name}\n{profiles[name]}")
    print_table(
        [
            {"variant": k, "ms": v.get("ms"), "images/s (fwd+bwd)": v.get("images_per_s"), "note": v.get("error", "")}
            for k, v in res.items()
        ],
        ["variant", "ms", "images/s (fwd+bwd)", "note"],
    )
    payload = {"machine": machine(), "members": args.members, "batch": args.batch, "rows": res, "profiles": profiles}
    write_json(f"bench_wide_k{args.members}", payload)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], f"bench_wide_k{args.members}.json").write_text(
            json.dumps(payload, indent=1, default=str)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
