"""Training-engine numbers, measured in one run on whatever machine runs it.

    flock /tmp/heavy.lock python benchmarks/bench_train.py [--steps 60] [--rounds 3] [--skip-slow]
    python benchmarks/bench_train.py --gpu-only      # on a CUDA machine: the GPU part alone (a few minutes)

CPU measurements (conv beta-VAE, batch 64, dsprites_mini images held as one uint8 tensor):

* float32 matmul rate (1024^3 ``torch.mm``) at 1 and 2 threads -- the yardstick;
* engine training rate (``benchmark.train.train``) as images/s and as % of the matmul rate at the
  same thread count; FLOPs of one fwd+bwd step counted with ``torch.utils.flop_counter``;
* the same model and optimiser fed by a per-image ``torch.utils.data.DataLoader`` side by side;
* the allocator fix (``benchmark.runtime`` mallopt) before/after: "before" is a subprocess with
  ``DISENTANGLE_BENCH_NO_MALLOPT=1``. Training is measured through the real entry point
  (``python -m benchmark train`` on ``dsprites``, the main job's dataset, in fresh processes,
  alternating), because the effect depends on the process's allocation history: glibc raises its
  mmap threshold only when a chunk larger than the activations has been freed, which building
  ``dsprites_mini`` happens to do and loading the dSprites cache does not; channels_last on/off;
* the first 100 steps of a freshly initialised AE vs later steps, denormal flushing off/on;
* contention: training rate with one competing busy process at 1 and 2 threads, and OpenMP's
  wait policies (ours: a 10,000-iteration spin; PASSIVE; ACTIVE; libgomp's default) idle and beside
  the competitor (subprocesses, since the policy is read when the thread pool starts);
* encoding rate (encoder mean, inference) at batch 64 and 1024;
* the vectorised ensemble (4 models) vs 4 solo models, images/s.

With CUDA present it also measures: one model at batch 64 (bf16 autocast, compile on/off), the
DataLoader loop, and the 4-model ensemble, projecting the paper preset (4 x 300k steps).
Prints a table and writes benchmarks/out/bench_train.json.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from common import machine, print_table, write_json  # noqa: E402

BATCH = 64


def matmul_rate(threads: int, n: int = 1024, reps: int = 20) -> float:
    """Best-of-3 float32 GFLOP/s of an n x n matmul at ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
    return best


def load_data():
    from benchmark.data.registry import load_dataset

    return load_dataset("dsprites_mini")


def step_flops(model_name="beta_vae", params=None) -> float:
    """FLOPs of one training step (forward + backward) at batch 64, counted by torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmark.models import build_model, make_config

    m = build_model(make_config(model_name, **(params or {"beta": 4.0})))
    x = torch.rand(BATCH, 1, 64, 64).round()
    with FlopCounterMode(display=False) as fc:
        m.loss(x)["loss"].backward()
    return float(fc.get_total_flops())


def engine_rate(data, steps: int, warmup: int = 15, **kw) -> float:
    """images/s of ``benchmark.train.train`` between step ``warmup`` and the last step."""
    from benchmark.train import TrainConfig, train

    cfg = TrainConfig(
        **{
            "model": "beta_vae",
            "params": {"beta": 4.0},
            "dataset": data.name,
            "steps": warmup + steps,
            "checkpoint_every": 10**9,
            "log_every": 10**9,
            "device": "cpu",
            **kw,
        }
    )
    marks = {}

    def on_step(s):
        if s in (warmup, warmup + steps):
            marks[s] = time.perf_counter()

    with tempfile.TemporaryDirectory() as d:
        train(cfg, data, d, progress=False, on_step=on_step)
    return steps * cfg.batch_size / (marks[warmup + steps] - marks[warmup])


def dataloader_rate(data, steps: int, threads: int, warmup: int = 15, device="cpu") -> float:
    """images/s of the same model, memory format and Adam fed by a per-image DataLoader (num_workers=0)."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, Dataset, RandomSampler

    from benchmark.models import build_model, make_config
    from benchmark.train import TrainConfig
    from benchmark.train.host_steps import train_step
    from benchmark.train.loop import amp_context
    from benchmark.train.optim import make_optimizers

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)

    class PerImage(Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return data.to_float(data.uint8([i]), rng)[0]

    dev = torch.device(device)
    loader = DataLoader(
        PerImage(),
        batch_size=BATCH,
        sampler=RandomSampler(PerImage(), replacement=True, num_samples=BATCH * (warmup + steps)),
    )
    # the engine's model, memory format, optimiser and autocast: only the data path differs
    model = build_model(make_config("beta_vae", beta=4.0)).to(dev)
    fmt = torch.channels_last if dev.type == "cpu" else torch.contiguous_format
    model.to(memory_format=fmt)
    cfg = TrainConfig(model="beta_vae", params={"beta": 4.0})
    opt = make_optimizers(model, cfg)
    amp = amp_context(dev, cfg)
    groups = {"loss": list(model.parameters())}
    t = None
    for i, x in enumerate(loader):
        if i == warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
        x = x.to(dev).contiguous(memory_format=fmt)
        train_step(model, model, opt, groups, x, model.sample_noise(BATCH, None, dev), i, amp)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return steps * BATCH / (time.perf_counter() - t)


def encode_rate(data, batch: int, threads: int, n_images: int = 8192) -> float:
    """images/s of the encoder mean in inference mode (channels_last), batches from the uint8 grid."""
    import numpy as np
    import torch

    from benchmark.models import build_model, make_config

    torch.set_num_threads(threads)
    m = build_model(make_config("beta_vae")).eval().to(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(data), size=n_images)
    with torch.inference_mode():
        m.encode(data.to_float(data.uint8(idx[:batch])).contiguous(memory_format=torch.channels_last))
        t = time.perf_counter()
        for s in range(0, n_images, batch):
            x = data.to_float(data.images[torch.from_numpy(idx[s : s + batch])]).contiguous(
                memory_format=torch.channels_last
            )
            m.encode(x)[0]
    return n_images / (time.perf_counter() - t)


def first_steps(flush: bool, threads: int, total: int = 160) -> dict:
    """ms/step of a freshly initialised AE: steps 1-100 vs 101-total, denormal flushing on/off."""
    import numpy as np
    import torch

    from benchmark.models import build_model, make_config
    from benchmark.train import TrainConfig
    from benchmark.train.host_steps import train_step
    from benchmark.train.optim import make_optimizers

    torch.set_num_threads(threads)
    torch.set_flush_denormal(flush)
    data = load_data()
    torch.manual_seed(0)
    m = build_model(make_config("ae")).to(memory_format=torch.channels_last)
    opt = make_optimizers(m, TrainConfig(model="ae"))
    groups = {"loss": list(m.parameters())}
    rng = np.random.default_rng(0)
    times = []
    for i in range(total):
        x = data.to_float(data.uint8(rng.integers(0, len(data), BATCH))).contiguous(memory_format=torch.channels_last)
        t = time.perf_counter()
        train_step(m, m, opt, groups, x, {}, i, contextlib.nullcontext())
        times.append(time.perf_counter() - t)
    torch.set_flush_denormal(True)
    first, later = 1e3 * float(np.mean(times[1:100])), 1e3 * float(np.mean(times[100:]))
    return {"first_100_ms": first, "later_ms": later, "ratio": first / later}


def ensemble_rate(data, members: int, steps: int, threads: int, device="cpu", warmup: int = 5, **kw) -> float:
    """Total images/s (all members) of ``train_ensemble`` between warm-up and the end."""
    from benchmark.train import TrainConfig
    from benchmark.train.ensemble import train_ensemble

    cfgs = [
        TrainConfig(
            model="beta_vae",
            params={"beta": b},
            dataset=data.name,
            steps=warmup + steps,
            seed=s,
            checkpoint_every=10**9,
            log_every=10**9,
            device=device,
            threads=threads,
            **kw,
        )
        for s, b in enumerate([1.0, 4.0, 16.0, 2.0][:members])
    ]
    marks = {}

    def on_step(s):
        if s in (warmup, warmup + steps):
            if device != "cpu":
                import torch

                torch.cuda.synchronize()
            marks[s] = time.perf_counter()

    with tempfile.TemporaryDirectory() as d:
        train_ensemble(cfgs, data, [Path(d) / str(i) for i in range(members)], progress=False, on_step=on_step)
    return members * steps * BATCH / (marks[warmup + steps] - marks[warmup])


# ------------------------------------------------------------------------------------------------
# child processes (environment that must be set before the interpreter / thread pool starts)

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/benchmarks")
from benchmark import runtime
runtime.setup()
import bench_train as B
threads, steps, what = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = B.load_data()
out = {"allocator_tuned": runtime.tune_allocator()}
if "train" in what:
    out["train"] = B.engine_rate(data, steps, threads=threads)
if "encode" in what:
    out["encode_64"] = B.encode_rate(data, 64, threads)
    out["encode_1024"] = B.encode_rate(data, 1024, threads)
print(json.dumps(out))
"""


def child(env_extra: dict, threads: int, steps: int, what: str) -> dict:
    env = {**os.environ, **env_extra}
    for k in [k for k, v in env.items() if v is None]:  # None removes a variable (libgomp's own default)
        del env[k]
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), str(threads), str(steps), what],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def cli_train_rate(threads: int, steps: int, allocator_fix: bool, dataset: str = "dsprites") -> dict:
    """``python -m benchmark train`` (conv beta-VAE) in a fresh process, with or without the allocator fix.

    Returns the median images/s of the 50-step log windows after the first (start-up, data loading
    and the first window excluded) and the process's minor page faults per step.
    """
    env = dict(os.environ)
    env.pop("DISENTANGLE_BENCH_NO_MALLOPT", None)
    if not allocator_fix:
        env["DISENTANGLE_BENCH_NO_MALLOPT"] = "1"
    with tempfile.TemporaryDirectory() as d:
        faults0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmark",
                "train",
                "--model",
                "beta_vae",
                "--beta",
                "4",
                "--dataset",
                dataset,
                "--steps",
                str(steps),
                "--log-every",
                "50",
                "--checkpoint-every",
                str(10**9),
                "--threads",
                str(threads),
                "--no-progress",
                "--out",
                str(Path(d) / "run"),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-2000:])
        faults = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - faults0
        with open(Path(d) / "run" / "train_log.csv", newline="") as f:
            windows = [float(row["images_per_s"]) for row in csv.DictReader(f)][1:]
    return {"train": statistics.median(windows), "minor_faults_per_step": faults / steps}


@contextlib.contextmanager
def competitor():
    """One other busy process (a pure Python spin loop) for the duration of the block."""
    p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(1.0)
    try:
        yield
    finally:
        p.kill()
        p.wait()


def gpu_section(data, steps: int) -> dict:
    import torch

    out = {"device": torch.cuda.get_device_name(0)}
    for compile_ in ("off", "on"):
        try:
            out[f"train_bf16_compile_{compile_}"] = engine_rate(
                data, steps * 10, warmup=50, device="cuda", amp="on", compile=compile_
            )
        except Exception as e:  # noqa: BLE001 - report, don't die, on a machine we could not test
            out[f"train_bf16_compile_{compile_}"] = f"failed: {type(e).__name__}: {str(e)[:200]}"
    out["train_fp32"] = engine_rate(data, steps * 10, warmup=50, device="cuda", amp="off")
    out["dataloader"] = dataloader_rate(data, steps * 3, 1, device="cuda")  # bf16 autocast, as the engine
    if isinstance(out["train_bf16_compile_off"], float):
        out["engine_bf16_vs_dataloader_x"] = out["train_bf16_compile_off"] / out["dataloader"]  # target >= 5
    try:
        ens = ensemble_rate(data, 4, steps * 10, None, device="cuda", warmup=20, amp="on")
        out["ensemble4_images_per_s"] = ens
        out["paper_preset_4x300k_minutes_projected"] = 4 * 300_000 * BATCH / ens / 60
    except Exception as e:  # noqa: BLE001
        out["ensemble4_images_per_s"] = f"failed: {type(e).__name__}: {str(e)[:200]}"
    best = max(v for k, v in out.items() if k.startswith("train_") and isinstance(v, float))
    out["paper_preset_single_model_minutes_projected"] = 300_000 * BATCH / best / 60
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=60, help="measured steps per CPU training measurement (default 60)")
    ap.add_argument("--rounds", type=int, default=3, help="runs per training rate; the best is reported (default 3)")
    ap.add_argument(
        "--gpu-only",
        action="store_true",
        help="measure only the GPU part (one model bf16/fp32, compile on/off, DataLoader, 4-model "
        "ensemble, paper-preset projection): the script to run in a short GPU window",
    )
    ap.add_argument(
        "--cli-steps",
        type=int,
        default=350,
        help="steps of each `python -m benchmark train` run of the allocator before/after (default 350)",
    )
    ap.add_argument("--skip-slow", action="store_true", help="skip the AE first-steps and ensemble measurements")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.rounds < 1 or args.cli_steps < 100:
        ap.error(
            f"--steps and --rounds must be at least 1 and --cli-steps at least 100 "
            f"(got {args.steps}, {args.rounds}, {args.cli_steps})"
        )

    from benchmark import runtime

    runtime.setup()  # allocator fix, OpenMP policy: before torch is imported
    import torch

    info = machine()
    t_start = time.perf_counter()
    data = load_data()
    res: dict = {
        "machine": info,
        "batch": BATCH,
        "steps": args.steps,
        "allocator_tuned": runtime.tune_allocator(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "gomp_spincount": os.environ.get("GOMP_SPINCOUNT"),
    }
    flops = step_flops()
    res["flops_per_step"] = flops
    rows = []

    def row(what, value, unit, pct=None, note=""):
        rows.append({"measure": what, "value": value, "unit": unit, "% matmul": pct, "note": note})

    if args.gpu_only and not torch.cuda.is_available():
        print(
            "error: --gpu-only needs a CUDA device (torch.cuda.is_available() is False); drop the flag on CPU",
            file=sys.stderr,
        )
        return 2
    if not args.gpu_only:  # the CPU measurements (~4.5 min); a GPU window skips them
        mm = {t: matmul_rate(t) for t in (1, 2)}
        res["matmul_gflops"] = {str(k): v for k, v in mm.items()}
        for t in (1, 2):
            row(f"float32 matmul 1024^3, {t} thread(s)", mm[t], "GFLOP/s")
        row("FLOPs per training step (fwd+bwd, batch 64)", flops / 1e9, "GFLOP")

        # this shared VM's rate moves by up to 30 % between runs of a few seconds: every training rate
        # below is the best of --rounds runs (like the matmul yardstick), with all runs in the note, and
        # variants compared side by side alternate with the engine round by round
        def rounds(f):
            runs = [f() for _ in range(args.rounds)]
            return max(runs), runs

        def fmt(runs):
            return "runs " + " / ".join(f"{v:,.0f}" for v in runs)

        train, train_runs = {}, {}
        for t in (1, 2):
            train[t], train_runs[t] = rounds(lambda: engine_rate(data, args.steps, threads=t))
            row(
                f"engine training, {t} thread(s)",
                train[t],
                "images/s",
                100 * train[t] * flops / BATCH / 1e9 / mm[t],
                fmt(train_runs[t]),
            )
        res["train_images_per_s"] = {str(k): v for k, v in train.items()}
        res["train_runs"] = {str(k): v for k, v in train_runs.items()}
        best_t = max(train, key=train.get)
        res["best_threads"] = best_t
        cl_off, cl_runs = rounds(lambda: engine_rate(data, args.steps, threads=best_t, channels_last="off"))
        res["train_channels_last_off"] = cl_off
        row(
            f"engine, channels_last off, {best_t} thr",
            cl_off,
            "images/s",
            100 * cl_off * flops / BATCH / 1e9 / mm[best_t],
            fmt(cl_runs),
        )
        eng_runs, dl_runs = [], []
        for _ in range(args.rounds):
            eng_runs.append(engine_rate(data, args.steps, threads=best_t))
            dl_runs.append(dataloader_rate(data, args.steps, best_t))
        dl = max(dl_runs)
        res["dataloader_images_per_s"] = dl
        res["dataloader_side_by_side"] = {"engine": eng_runs, "dataloader": dl_runs}
        row(
            f"per-image DataLoader loop, {best_t} thr",
            dl,
            "images/s",
            100 * dl * flops / BATCH / 1e9 / mm[best_t],
            f"{fmt(dl_runs)}; engine in alternate rounds {fmt(eng_runs)}: {max(eng_runs) / dl:.2f}x",
        )

        alloc_runs = {"before": [], "after": []}
        for _ in range(args.rounds):
            alloc_runs["before"].append(child({"DISENTANGLE_BENCH_NO_MALLOPT": "1"}, best_t, args.steps, "encode"))
            alloc_runs["after"].append(child({}, best_t, args.steps, "encode"))
        before, after = (
            {k: max(r[k] for r in runs) for k in runs[0]} for runs in (alloc_runs["before"], alloc_runs["after"])
        )
        cli_runs = {"before": [], "after": []}
        for t in (1, 2):  # the real entry point on the main job's dataset, alternating, fresh processes
            for _ in range(args.rounds):
                cli_runs["before"].append({"threads": t, **cli_train_rate(t, args.cli_steps, False)})
                cli_runs["after"].append({"threads": t, **cli_train_rate(t, args.cli_steps, True)})
        res["allocator"] = {"before": before, "after": after, "runs": alloc_runs, "cli_train_runs": cli_runs}
        for t in (1, 2):
            b_runs = [r for r in cli_runs["before"] if r["threads"] == t]
            a_runs = [r for r in cli_runs["after"] if r["threads"] == t]
            b_best, a_best = max(r["train"] for r in b_runs), max(r["train"] for r in a_runs)

            def runs_with_faults(runs):  # faults of the whole process (loading the grid included) per step
                return "runs " + " / ".join(
                    f"{r['train']:,.0f} ({r['minor_faults_per_step']:,.0f} faults/step)" for r in runs
                )

            row(
                f"`benchmark train` on dsprites WITHOUT allocator fix, {t} thr",
                b_best,
                "images/s",
                100 * b_best * flops / BATCH / 1e9 / mm[t],
                runs_with_faults(b_runs),
            )
            row(
                f"`benchmark train` on dsprites with allocator fix, {t} thr",
                a_best,
                "images/s",
                100 * a_best * flops / BATCH / 1e9 / mm[t],
                f"{runs_with_faults(a_runs)}; {a_best / b_best:.2f}x",
            )
        for b in (64, 1024):
            row(f"encode batch {b} WITHOUT allocator fix", before[f"encode_{b}"], "images/s", None, "subprocess")
            row(f"encode batch {b} with allocator fix", after[f"encode_{b}"], "images/s", None, "subprocess")

        policies = {
            "ours (GOMP_SPINCOUNT=10000)": {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": "10000"},
            "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": None},
            "OMP_WAIT_POLICY=ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE", "GOMP_SPINCOUNT": None},
            "libgomp default spin": {"OMP_WAIT_POLICY": None, "GOMP_SPINCOUNT": None},
        }
        idle_runs = {k: [] for k in policies}
        for _ in range(args.rounds):
            for k, env in policies.items():
                idle_runs[k].append(child(env, 2, args.steps, "train")["train"])
        idle = {k: max(v) for k, v in idle_runs.items()}
        res["wait_policy_idle_2_threads"] = idle
        res["wait_policy_idle_2_threads_runs"] = idle_runs
        for k, v in idle.items():
            row(f"idle, 2 threads, {k}", v, "images/s", 100 * v * flops / BATCH / 1e9 / mm[2], fmt(idle_runs[k]))

        cont = {}
        with competitor():
            for t in (1, 2):
                cont[f"{t}_threads"] = engine_rate(data, args.steps, threads=t)
                row(f"with 1 busy competitor, {t} thread(s)", cont[f"{t}_threads"], "images/s", None, "our policy")
            for k, env in list(policies.items())[1:]:
                cont[f"2_threads {k}"] = child(env, 2, args.steps, "train")["train"]
                row(f"with 1 busy competitor, 2 threads, {k}", cont[f"2_threads {k}"], "images/s", None, "subprocess")
            cont["auto_threads"] = runtime.set_threads(None)
        res["contention"] = cont

        for b in (64, 1024):
            r = encode_rate(data, b, best_t)
            res[f"encode_{b}"] = r
            row(f"encode (mean), batch {b}, {best_t} thr", r, "images/s", None, "target >= 10,000 at 64")

        if not args.skip_slow:
            for flush in (False, True):
                fs = first_steps(flush, best_t)
                res[f"ae_first_steps_flush_{flush}"] = fs
                row(
                    f"fresh AE steps 1-100 vs later, flush_denormal={flush}",
                    fs["ratio"],
                    "x slower",
                    None,
                    f"{fs['first_100_ms']:.1f} vs {fs['later_ms']:.1f} ms/step",
                )
            ens = ensemble_rate(data, 4, max(10, args.steps // 3), best_t)
            res["ensemble4_images_per_s"] = ens
            row(
                f"ensemble of 4 (vmap), {best_t} thr, all members",
                ens,
                "images/s",
                None,
                f"solo engine {train[best_t]:.0f}: {ens / train[best_t]:.2f}x",
            )

    if torch.cuda.is_available():
        res["gpu"] = gpu_section(data, args.steps)
        for k, v in res["gpu"].items():
            row(f"GPU {k}", v if isinstance(v, float) else None, "", None, "" if isinstance(v, float) else str(v))
    else:
        res["gpu"] = None
    res["wall_s"] = time.perf_counter() - t_start
    res["loadavg_1m_end"] = os.getloadavg()[0]
    print_table(rows, ["measure", "value", "unit", "% matmul", "note"])
    print(
        f"load average at start {info['loadavg_1m']:.2f}, at end {res['loadavg_1m_end']:.2f}; "
        f"wall {res['wall_s']:.0f} s"
    )
    write_json("bench_train", res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
