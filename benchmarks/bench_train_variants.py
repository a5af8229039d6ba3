"""A/B checks behind two CPU training decisions, alternating variants in one process (1 thread).

    flock /tmp/heavy.lock python benchmarks/bench_train_variants.py [--repeats 4]

1. The decoder's output transposed conv: oneDNN's native kernel vs our overlap-add forward
   (``architectures.OutputConvTranspose2d``), 4 alternating rounds of 30 steps.
2. ``torch.compile`` (inductor) of the loss vs eager (compile time reported separately).
3. Per layer: forward and forward+backward time of every conv / transposed conv, NCHW vs
   channels_last, with the GFLOP/s it reaches (the profile behind the utilisation notes).
Conv beta-VAE (beta 4), batch 64, channels_last, Adam. Prints images/s per round and writes
``benchmarks/out/bench_train_variants.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, print_table, write_json  # noqa: E402


def rate(native_deconv: bool = False, compiled: bool = False, steps: int = 30) -> tuple[float, float]:
    """(warm-up seconds, images/s) of one fresh model."""
    import torch
    from torch import nn

    from benchmark.models import architectures, build_model, make_config

    fwd = architectures.OutputConvTranspose2d.forward
    if native_deconv:
        architectures.OutputConvTranspose2d.forward = nn.ConvTranspose2d.forward
    try:
        torch.manual_seed(0)
        m = build_model(make_config("beta_vae", beta=4.0)).to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(m.parameters(), lr=1e-4)
        x = torch.rand(64, 1, 64, 64).round().contiguous(memory_format=torch.channels_last)
        loss = (lambda v: m.loss(v)["loss"])
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
        architectures.OutputConvTranspose2d.forward = fwd


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

    hooks = [mod.register_forward_hook(record(n))
             for n, mod in m.named_modules() if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d))]
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
            rows.append({"layer": name, "format": "channels_last" if fmt is torch.channels_last else "NCHW",
                         "fw_ms": 1e3 * times[0], "fw_bw_ms": 1e3 * times[1],
                         "fw_gflops": 2 * macs / times[0] / 1e9, "fw_bw_gflops": 2 * passes * macs / times[1] / 1e9})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=4, help="alternating rounds per comparison (default 4)")
    args = p.parse_args()

    import torch

    import benchmark  # noqa: F401

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    rows = []
    for r in range(args.repeats):
        rows.append({"comparison": "output deconv", "variant": "oneDNN native", "round": r,
                     "images_per_s": rate(True)[1]})
        rows.append({"comparison": "output deconv", "variant": "overlap-add", "round": r, "images_per_s": rate()[1]})
    for r in range(2):
        rows.append({"comparison": "compile", "variant": "eager", "round": r, "images_per_s": rate()[1]})
        warm, ips = rate(compiled=True)
        rows.append({"comparison": "compile", "variant": f"torch.compile (warm-up {warm:.0f} s)", "round": r,
                     "images_per_s": ips})
    print_table(rows, ["comparison", "variant", "round", "images_per_s"])
    layers = per_layer()
    print_table(layers, ["layer", "format", "fw_ms", "fw_bw_ms", "fw_gflops", "fw_bw_gflops"])
    write_json("bench_train_variants", {"command": " ".join(sys.argv), "machine": machine(), "rows": rows,
                                        "per_layer": layers})


if __name__ == "__main__":
    main()
