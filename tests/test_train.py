"""Training engine: resume to the bit, logs, divergence, config identity, device choice."""

import copy
import csv
import json

import numpy as np
import pytest
import torch

from benchmark.data.dataset import GroundTruthDataset, Provenance
from benchmark.data.grid import FactorGrid
from benchmark.errors import BenchmarkError
from benchmark.models import build_model, load_checkpoint, make_config
from benchmark.models.checkpoint import read_checkpoint
from benchmark.train import TrainConfig, TrainingDiverged, train
from benchmark.device import select_device
from benchmark.train.csvlog import CsvLog
from benchmark.train.host_steps import BatchStream, make_streams

torch.set_num_threads(1)


def _random_tint(x, rng):
    """Per-image random colour, drawn from the data stream."""
    colour = torch.from_numpy(rng.uniform(0.5, 1.0, size=(x.shape[0], 3, 1, 1)).astype(np.float32))
    return x * colour.to(x.device)


def tiny_dataset(channels=1, tint=False):
    """32 images of a square at 4 x 8 positions (a real, complete factor grid)."""
    grid = FactorGrid(names=("x", "y"), sizes=(4, 8), values=(np.arange(4.0), np.arange(8.0)), latent=(0, 1))
    imgs = torch.zeros(32, 1, 64, 64, dtype=torch.uint8)
    for i in range(32):
        cx, cy = grid.classes([i])[0]
        imgs[i, 0, 8 + 12 * cx : 20 + 12 * cx, 4 + 7 * cy : 12 + 7 * cy] = 1
    transform = _random_tint if tint else None
    return GroundTruthDataset(
        "tiny",
        grid,
        Provenance("procedural", generator="test", version="1"),
        images=imgs,
        max_value=1,
        channels=3 if tint else channels,
        transform=transform,
    )


def cfg(**kw):
    base = dict(
        model="beta_vae",
        params={"beta": 4.0},
        dataset="tiny",
        steps=8,
        batch_size=8,
        log_every=2,
        checkpoint_every=4,
        threads=1,
        device="cpu",
        seed=3,
    )
    base.update(kw)
    return TrainConfig(**base)


def _log(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k not in ("wall_s", "images_per_s")} for r in csv.DictReader(f)]


class Kill(BaseException):
    pass


@pytest.mark.parametrize(
    "model,params,tint", [("beta_vae", {"beta": 4.0}, False), ("factor_vae", {"gamma": 10.0}, True)]
)
def test_killed_and_resumed_run_is_bitwise_identical(tmp_path, model, params, tint):
    data = tiny_dataset(tint=tint)
    c = cfg(model=model, params=params)
    full = train(c, data, tmp_path / "a", progress=False)

    def kill(step):
        if step == 7:  # after the checkpoint at 4 and the log row at 6
            raise Kill()

    with pytest.raises(Kill):
        train(c, data, tmp_path / "b", progress=False, on_step=kill)
    assert read_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 4
    resumed = train(c, data, tmp_path / "b", progress=False)
    assert resumed.resumed_from == 4 and resumed.steps == full.steps == 8
    a, b = read_checkpoint(tmp_path / "a" / "checkpoint.pt"), read_checkpoint(tmp_path / "b" / "checkpoint.pt")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for name in a["optimizers"]:
        for i, st in a["optimizers"][name]["state"].items():
            assert all(torch.equal(st[s], b["optimizers"][name]["state"][i][s]) for s in st)
    assert a["rng"]["numpy"] == b["rng"]["numpy"]
    assert _log(tmp_path / "a" / "train_log.csv") == _log(
        tmp_path / "b" / "train_log.csv"
    )  # rows after 4 replaced, not duplicated


def test_result_folder_and_checkpoint_config(tmp_path):
    r = train(cfg(steps=4), tiny_dataset(), tmp_path, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == {
        "config.json",
        "checkpoint.pt",
        "train_log.csv",
        "train_result.json",
        ".lock",
    }  # the trainer's folder lock (kept: removing it would race)
    model, config = load_checkpoint(r.checkpoint)
    for key in ("model", "beta", "dataset", "latent_dim", "channels", "seed", "recon_reduction", "kl_reduction"):
        assert key in config
    assert config["beta"] == 4.0 and config["channels"] == 1 and config["seed"] == 3
    assert json.loads((tmp_path / "config.json").read_text())["model"] == "beta_vae"
    rows = _log(tmp_path / "train_log.csv")
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert {"loss", "recon", "kl", "elbo", "regularizer"} <= set(rows[0])
    assert json.loads((tmp_path / "train_result.json").read_text())["steps"] == 4
    # a finished run asked again does nothing; asked for more steps it continues
    again = train(cfg(steps=4), tiny_dataset(), tmp_path, progress=False)
    assert again.steps == 4 and again.resumed_from == 4
    more = train(cfg(steps=6), tiny_dataset(), tmp_path, progress=False)
    assert more.steps == 6 and [int(r["step"]) for r in _log(tmp_path / "train_log.csv")] == [2, 4, 6]


def test_training_reduces_the_loss(tmp_path):
    r = train(
        cfg(model="ae", params={}, steps=60, log_every=10, checkpoint_every=60, lr=1e-3),
        tiny_dataset(),
        tmp_path,
        progress=False,
    )
    rows = _log(tmp_path / "train_log.csv")
    assert float(rows[-1]["loss"]) < 0.5 * float(rows[0]["loss"])
    assert r.images_per_s > 0


def test_non_finite_loss_stops_with_step_and_last_checkpoint(tmp_path):
    good = train(cfg(steps=4), tiny_dataset(), tmp_path, progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    log_before = (tmp_path / "train_log.csv").read_text()
    # continue the same run with a poisoned batch source: the images become NaN from step 6 on
    data = tiny_dataset()
    orig = data.to_float
    calls = {"n": 0}

    def poisoned(batch, rng=None):
        calls["n"] += 1
        x = orig(batch, rng)
        return x * float("nan") if calls["n"] >= 2 else x

    data.to_float = poisoned
    with pytest.raises(TrainingDiverged, match=r"non-finite loss at step 6 .*checkpoint\.pt \(step 4\)"):
        train(cfg(steps=12), data, tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert (tmp_path / "train_log.csv").read_text() == log_before
    assert good.steps == 4


def test_out_of_memory_is_one_clear_error(tmp_path):
    # 2**59 images: the batch's indices alone (4 EiB) exceed any address space, so the allocation fails
    # at once on every machine (it was the allocator's multi-line RuntimeError / MemoryError). The
    # config refuses batches over 65,536 up front; set past that on purpose to reach the engine's handling.
    c = cfg(steps=4)
    c.batch_size = 2**59
    with pytest.raises(
        BenchmarkError,
        match=r"out of memory on cpu at batch size 576460752303423488 \(step 1\); "
        r"lower --batch-size",
    ):
        train(c, tiny_dataset(), tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_resume_refuses_a_different_run(tmp_path):
    train(cfg(steps=2), tiny_dataset(), tmp_path, progress=False)
    with pytest.raises(BenchmarkError, match="different run.*beta"):
        train(cfg(steps=4, params={"beta": 8.0}), tiny_dataset(), tmp_path, progress=False)
    with pytest.raises(BenchmarkError, match="already holds a checkpoint"):
        train(cfg(steps=4), tiny_dataset(), tmp_path, progress=False, resume=False)


def test_batches_are_uniform_with_replacement_and_seeded():
    data = tiny_dataset()
    rng, _ = make_streams(0, torch.device("cpu"))
    s = BatchStream(data, torch.device("cpu"), 8, rng)
    x = s.next()
    assert x.dtype == torch.float32 and x.shape == (8, 1, 64, 64) and float(x.max()) == 1.0
    rng2, _ = make_streams(0, torch.device("cpu"))
    idx = rng2.integers(0, 32, size=8)
    assert torch.equal(x, data.observe(idx))
    # uniform over the grid: all 32 images appear in 2,000 draws with roughly equal counts
    counts = np.bincount(rng2.integers(0, 32, size=32_000), minlength=32)
    assert counts.min() > 800 and counts.max() < 1200


def test_csv_log_drops_torn_and_future_rows(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("step,loss\n2,1.0\n4,0.5\n6,0.2\n8,0.")
    log = CsvLog(p, keep_through=4)
    assert p.read_text() == "step,loss\n2,1.0\n4,0.5\n"
    log.write({"step": 6, "loss": 0.25})
    assert p.read_text().endswith("6,0.25\n")


def test_device_selection(tmp_path):
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(BenchmarkError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(BenchmarkError, match="unknown device"):
        select_device("tpu9")
    with pytest.raises(BenchmarkError):
        TrainConfig(steps=-1)
    with pytest.raises(BenchmarkError, match="no parameter"):
        train(cfg(params={"gamma": 1.0}), tiny_dataset(), tmp_path, progress=False)


def test_fused_adam_with_mismatched_gradient_layout_equals_plain_adam():
    """PyTorch's fused CPU Adam (2.13) silently mixes up elements when a gradient's strides differ
    from its parameter's; make_optimizers aligns them first (without that step this test fails)."""
    from benchmark.train.optim import _tf1_adam_epsilon, make_optimizers

    torch.manual_seed(0)
    model = build_model(make_config("beta_vae", beta=4.0)).to(memory_format=torch.channels_last)
    ref = copy.deepcopy(model)
    opt = make_optimizers(model, TrainConfig(model="beta_vae", lr=0.1))["loss"]
    assert opt.defaults["fused"]
    plain = torch.optim.Adam(ref.parameters(), lr=0.1)
    plain.param_groups[0]["tf_eps"] = 1e-8  # the same epsilon convention as the engine's
    plain.register_step_pre_hook(_tf1_adam_epsilon)
    for _ in range(3):
        for p, q in zip(model.parameters(), ref.parameters()):
            g = torch.randn(p.shape)  # contiguous, while the conv weights are channels_last
            p.grad, q.grad = g.clone(), g.clone()
        opt.step()
        plain.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "model_name, key, betas", [("beta_vae", "loss", (0.9, 0.999)), ("factor_vae", "disc_loss", (0.5, 0.9))]
)
def test_adam_update_is_tensorflow1s(model_name, key, betas):
    """The reference trains with tf.train.AdamOptimizer: theta -= lr_t m / (sqrt(v) + eps) with
    lr_t = lr sqrt(1 - b2^t) / (1 - b1^t). Written out here in float64 with gradients of the order of
    epsilon, where PyTorch's own convention (eps added to sqrt(v_hat)) moves the weights very differently."""
    from benchmark.train.optim import make_optimizers

    torch.manual_seed(0)
    model = build_model(make_config(model_name))
    opt = make_optimizers(model, TrainConfig(model=model_name, lr=1e-3))[key]
    params = opt.param_groups[0]["params"]
    theta = [p.detach().double().clone() for p in params]
    m = [torch.zeros_like(t) for t in theta]
    v = [torch.zeros_like(t) for t in theta]
    b1, b2, lr, eps = betas[0], betas[1], opt.param_groups[0]["lr"], 1e-8
    assert opt.param_groups[0]["betas"] == betas
    gen = torch.Generator().manual_seed(1)
    for t in range(1, 6):
        lr_t = lr * (1 - b2**t) ** 0.5 / (1 - b1**t)
        for i, p in enumerate(params):
            g = (torch.randn(p.shape, generator=gen) * 3e-8).float()
            p.grad = g
            g = g.double()
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            theta[i] -= lr_t * m[i] / (v[i].sqrt() + eps)
        opt.step()
    for p, want in zip(params, theta):  # (off by up to 3e-3 with PyTorch's own convention)
        torch.testing.assert_close(p.detach().double(), want, rtol=0, atol=1e-7)
    # an optimiser state saved before the epsilon hook existed (no tf_eps / tf_step in its groups)
    # resumes on the same trajectory
    st = copy.deepcopy(opt.state_dict())
    for g in st["param_groups"]:
        g["eps"] = 1e-8
        del g["tf_eps"], g["tf_step"]
    model2 = copy.deepcopy(model)
    opt2 = make_optimizers(model2, TrainConfig(model=model_name, lr=1e-3))[key]
    opt2.load_state_dict(st)
    for p, q in zip(params, opt2.param_groups[0]["params"]):
        q.grad = p.grad.clone()
    opt.step()
    opt2.step()
    for p, q in zip(params, opt2.param_groups[0]["params"]):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"seed": -1}, "seed must be between 0 and 4294967295"),
        ({"seed": 10**20}, "seed must be between 0 and 4294967295"),
        ({"lr": float("inf")}, "lr must be a finite number > 0"),
    ],
)
def test_bad_config_values_are_refused_before_training(kw, match):
    # a negative or huge seed was a numpy/torch traceback; lr=inf a "non-finite loss" at step 1
    with pytest.raises(BenchmarkError, match=match):
        cfg(**kw)


@pytest.mark.parametrize("n", [0, -3, 10**5])
def test_thread_counts_outside_the_cores_are_refused(n):
    from benchmark.runtime import check_threads

    with pytest.raises(BenchmarkError, match="--threads must be between 1 and"):
        check_threads(n)


def test_train_cli_huge_threads_is_one_line_not_a_crash(tmp_path):
    import subprocess
    import sys

    # torch.set_num_threads(100000) made OpenMP crash the process (segmentation fault)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmark",
            "train",
            "--model",
            "vae",
            "--dataset",
            "dsprites_mini",
            "--steps",
            "1",
            "--out",
            str(tmp_path / "r"),
            "--threads",
            "100000",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.startswith("error: --threads must be between 1 and"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_out_folder_that_is_a_file_is_one_clear_error(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    for out in (f, f / "run"):
        with pytest.raises(BenchmarkError, match="notes.txt is a file, not a folder"):
            train(cfg(steps=2), tiny_dataset(), out, progress=False)
    assert f.read_text() == "keep me"


def test_train_cli_prints_readable_lines_and_says_when_there_is_nothing_to_do(tmp_path, capsys):
    from benchmark.cli import main

    args = [
        "train",
        "--model",
        "beta_vae",
        "--beta",
        "8",
        "--dataset",
        "dsprites_mini",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--threads",
        "1",
    ]
    assert main(args + ["--steps", "4"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("trained beta_vae beta=8 for 4 steps on cpu (") and ": loss " in first and "{" not in first
    # asking for fewer steps than the checkpoint holds trains nothing and says so (it printed '0 images/s')
    assert main(args + ["--steps", "2"]) == 0
    again = capsys.readouterr().out.splitlines()[0]
    assert again.startswith("beta_vae beta=8 was already trained for 4 steps (asked for 2); nothing to do.")
    # continuing a run says where it resumed
    assert main(args + ["--steps", "6"]) == 0
    more = capsys.readouterr().out.splitlines()[0]
    assert more.startswith("trained beta_vae beta=8 for 6 steps (resumed at step 4) on cpu (")


def test_steps_zero_is_refused_in_one_line(tmp_path):
    """Was: an untrained checkpoint written without a word."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmark",
            "train",
            "--model",
            "vae",
            "--dataset",
            "dsprites_mini",
            "--steps",
            "0",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "run"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [
        "error: --steps 0 trains nothing (a new folder would get an untrained checkpoint); pass --steps N >= 1"
    ], p.stderr
    assert not (tmp_path / "run").exists()
