"""A/B checks behind the CPU training decisions, alternating variants in one process (1 thread).

    flock /tmp/heavy.lock python benchmarks/bench_train_variants.py [--repeats 4]

1. Whole training steps (conv beta-VAE, beta 4, batch 64, channels_last), alternating rounds of 30
   steps: stock PyTorch layers, Adam and out-of-place ReLUs; + ``architectures.FastConvTranspose2d``
   (decoder); + fused Adam; + in-place ReLUs (what the engine runs).
2. ``torch.compile`` (inductor) of the loss vs eager (compile time reported separately).
3. Kernels: each decoder transposed conv's backward as ATen's one combined call vs input + weight
   gradients and the bias as a sum; the output layer's forward (1 and 3 channels) oneDNN vs overlap-add;
   one Adam step per-tensor loop vs fused.
4. Per layer: forward and forward+backward time of every conv / transposed conv, NCHW vs
   channels_last, with the GFLOP/s it reaches.
5. Where a whole step's time goes: ``torch.profiler`` over 10 engine-configured steps, self time per
   step grouped into convolutions, ReLU forward/backward, linear layers, Adam and the rest, plus
   the ReLUs on the two 64x32x32x32 activations alone.
Prints tables and writes ``benchmarks/out/bench_train_variants.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, print_table, write_json  # noqa: E402


def rate(variant: str = "engine", compiled: bool = False, steps: int = 30) -> tuple[float, float]:
    """(warm-up seconds, images/s) of one fresh model.

    ``variant``: "stock" (nn.ConvTranspose2d's forward and backward, per-tensor Adam, out-of-place
    ReLUs), "fast_deconv" (our decoder layers, per-tensor Adam, out-of-place ReLUs), "engine_relu_copy"
    (what the engine runs, but out-of-place ReLUs) or "engine" (our layers, fused Adam, in-place ReLUs).
    """
    import torch
    from torch import nn

    from benchmark.models import architectures, build_model, make_config
    from benchmark.train import TrainConfig
    from benchmark.train.optim import make_optimizers

    fwd = architectures.FastConvTranspose2d.forward
    if variant == "stock":
        architectures.FastConvTranspose2d.forward = nn.ConvTranspose2d.forward
    try:
        torch.manual_seed(0)
        m = build_model(make_config("beta_vae", beta=4.0)).to(memory_format=torch.channels_last)
        if variant != "engine":
            for mod in m.modules():
                if isinstance(mod, nn.ReLU):
                    mod.inplace = False
        if variant.startswith("engine"):
            opt = make_optimizers(m, TrainConfig(model="beta_vae"))["loss"]
        else:
            opt = torch.optim.Adam(m.parameters(), lr=1e-4)
        x = torch.rand(64, 1, 64, 64).round().contiguous(memory_format=torch.channels_last)
        loss = lambda v: m.loss(v)["loss"]
        if compiled:
            loss = torch.compile(loss)

        def step():
            opt.zero_grad(set_to_none=True)
            loss(x).backward()
            opt.step()

        t = time.perf_counter()
        for _ in range(8):
            step()
        warm = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(steps):
            step()
        return warm, 64 * steps / (time.perf_counter() - t)
    finally:
        architectures.FastConvTranspose2d.forward = fwd


def best_ms(f, reps: int = 20, rounds: int = 3) -> float:
    """Best-of-``rounds`` mean milliseconds of ``f()`` over ``reps`` calls (after 3 warm-up calls)."""
    for _ in range(3):
        f()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t) / reps * 1e3)
    return best


def kernels() -> list[dict]:
    """The kernel-level comparisons behind FastConvTranspose2d and fused Adam (batch 64, channels_last)."""
    import torch
    import torch.nn.functional as F

    from benchmark.models import architectures, build_model, make_config

    cl = torch.channels_last
    cb = torch.ops.aten.convolution_backward
    rows = []
    for ci, co, h in [(64, 64, 4), (64, 32, 8), (32, 32, 16), (32, 1, 32)]:
        x = torch.randn(64, ci, h, h).contiguous(memory_format=cl)
        w = torch.randn(ci, co, 4, 4).contiguous(memory_format=cl)
        g = torch.randn(64, co, 2 * h, 2 * h).contiguous(memory_format=cl)
        args = (g, x, w, [co], [2, 2], [1, 1], [1, 1], True, [0, 0], 1)
        combined = best_ms(lambda: cb(*args, [True, True, True]))
        split = best_ms(lambda: (cb(*args[:3], None, *args[4:], [True, True, False]), g.sum((0, 2, 3))))
        rows.append({"kernel": f"deconv {ci}->{co}, {h}x{h}: backward", "stock_ms": combined, "ours_ms": split})
    for co in (1, 3):
        x = torch.randn(64, 32, 32, 32).contiguous(memory_format=cl)
        w, b = torch.randn(32, co, 4, 4), torch.randn(co)
        rows.append(
            {
                "kernel": f"deconv 32->{co}, 32x32: forward",
                "stock_ms": best_ms(lambda: F.conv_transpose2d(x, w, b, 2, 1)),
                "ours_ms": best_ms(lambda: architectures._overlap_add_deconv(x, w, b)),
            }
        )
    m = build_model(make_config("beta_vae", beta=4.0)).to(memory_format=cl)
    times = {}
    for fused in (False, True):
        opt = torch.optim.Adam(m.parameters(), lr=1e-4, fused=fused)
        for p in m.parameters():
            p.grad = torch.randn_like(p)
        times[fused] = best_ms(opt.step, reps=50)
    rows.append(
        {"kernel": "Adam step, conv VAE (per-tensor loop vs fused)", "stock_ms": times[False], "ours_ms": times[True]}
    )
    for r in rows:
        r["speedup"] = r["stock_ms"] / r["ours_ms"]
    return rows


def step_profile(steps: int = 10) -> list[dict]:
    """Self CPU ms per step by op group, from torch.profiler over ``steps`` engine-configured steps."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from benchmark.models import build_model, make_config
    from benchmark.train import TrainConfig
    from benchmark.train.optim import make_optimizers

    torch.manual_seed(0)
    m = build_model(make_config("beta_vae", beta=4.0)).to(memory_format=torch.channels_last)
    opt = make_optimizers(m, TrainConfig(model="beta_vae"))["loss"]
    x = torch.rand(64, 1, 64, 64).round().contiguous(memory_format=torch.channels_last)

    def step():
        opt.zero_grad(set_to_none=True)
        m.loss(x)["loss"].backward()
        opt.step()

    for _ in range(10):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    wall = (time.perf_counter() - t) / steps * 1e3
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    groups = {
        "convolutions (forward + backward)": (
            "aten::convolution_backward",
            "aten::_convolution",
            "aten::mkldnn_convolution",
        ),
        "ReLU forward + backward": ("aten::clamp_min", "aten::threshold_backward"),
        "linear layers": ("aten::addmm",),
        "Adam (fused)": ("aten::_fused_adam_",),
    }
    out = {k: 0.0 for k in groups} | {"ReLU on the two 64x32x32x32 activations": 0.0, "everything else": 0.0}
    for e in prof.key_averages(group_by_input_shape=True):
        ms = e.self_cpu_time_total / 1e3 / steps
        key = next((k for k, names in groups.items() if e.key in names), "everything else")
        if e.key == "aten::mm" and e.input_shapes and e.input_shapes[0] and e.input_shapes[0][0] not in (16, 48):
            key = "linear layers"  # the 16- / 48-row mm is the output layer's overlap-add (a convolution)
        elif e.key == "aten::mm":
            key = "convolutions (forward + backward)"
        out[key] += ms
        if key == "ReLU forward + backward" and e.input_shapes and list(e.input_shapes[0]) == [64, 32, 32, 32]:
            out["ReLU on the two 64x32x32x32 activations"] += ms
    rows = [{"part": k, "ms_per_step": v} for k, v in out.items()]
    rows.append({"part": "step wall time without the profiler", "ms_per_step": wall})
    return rows


def per_layer(reps: int = 20) -> list[dict]:
    import torch
    from torch import nn

    from benchmark.models import build_model, make_config

    m = build_model(make_config("beta_vae", beta=4.0))
    shapes = {}

    def record(name):
        def hook(mod, inputs, output):  # returns None: the output is left alone
            shapes.setdefault(name, inputs[0].shape)

        return hook

    hooks = [
        mod.register_forward_hook(record(n))
        for n, mod in m.named_modules()
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d))
    ]
    m.loss(torch.rand(64, 1, 64, 64).round())
    for h in hooks:
        h.remove()
    mods = dict(m.named_modules())
    rows = []
    for name, shape in shapes.items():
        layer = mods[name]
        w = layer.weight
        for fmt in (torch.contiguous_format, torch.channels_last):
            layer.to(memory_format=fmt)
            x = torch.randn(shape).contiguous(memory_format=fmt).requires_grad_(shape[1] > 1)
            y = layer(x)
            g = torch.randn_like(y)
            macs = y.numel() * w[0].numel() if isinstance(layer, nn.Conv2d) else x.numel() * w[0].numel()

            def fw():
                return layer(x)

            def fwbw():
                layer.zero_grad(set_to_none=True)
                x.grad = None
                layer(x).backward(g)

            times = []
            for f in (fw, fwbw):
                for _ in range(3):
                    f()
                t = time.perf_counter()
                for _ in range(reps):
                    f()
                times.append((time.perf_counter() - t) / reps)
            passes = 3 if x.requires_grad else 2  # forward, weight grad, input grad
            rows.append(
                {
                    "layer": name,
                    "format": "channels_last" if fmt is torch.channels_last else "NCHW",
                    "fw_ms": 1e3 * times[0],
                    "fw_bw_ms": 1e3 * times[1],
                    "fw_gflops": 2 * macs / times[0] / 1e9,
                    "fw_bw_gflops": 2 * passes * macs / times[1] / 1e9,
                }
            )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=4, help="alternating rounds per comparison (default 4)")
    args = p.parse_args()
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1 (got {args.repeats})")

    import torch

    from benchmark import runtime

    runtime.setup()  # the package's process-wide CPU settings (idempotent)
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    rows = []
    for r in range(args.repeats):
        for variant in ("stock", "fast_deconv", "engine_relu_copy", "engine"):
            rows.append(
                {"comparison": "training step", "variant": variant, "round": r, "images_per_s": rate(variant)[1]}
            )
    for r in range(2):
        rows.append({"comparison": "compile", "variant": "eager", "round": r, "images_per_s": rate()[1]})
        warm, ips = rate(compiled=True)
        rows.append(
            {
                "comparison": "compile",
                "variant": f"torch.compile (warm-up {warm:.0f} s)",
                "round": r,
                "images_per_s": ips,
            }
        )
    print_table(rows, ["comparison", "variant", "round", "images_per_s"])
    kernel_rows = kernels()
    print_table(kernel_rows, ["kernel", "stock_ms", "ours_ms", "speedup"])
    layers = per_layer()
    print_table(layers, ["layer", "format", "fw_ms", "fw_bw_ms", "fw_gflops", "fw_bw_gflops"])
    parts = step_profile()
    print_table(parts, ["part", "ms_per_step"])
    write_json(
        "bench_train_variants",
        {
            "command": " ".join(sys.argv),
            "machine": machine(),
            "rows": rows,
            "kernels": kernel_rows,
            "per_layer": layers,
            "step_profile": parts,
        },
    )


if __name__ == "__main__":
    main()
