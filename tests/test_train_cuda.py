"""The CUDA engine on a GPU: a graph-replayed step equals the eager step; resume and members on the device.

Marked ``cuda`` and skipped without a GPU (CI has none): ``benchmarks/gpu_check.sh`` runs them on one.
cuDNN is made deterministic and TF32 is off here, so eager and replayed steps run the same kernels
in float32 and any difference is the graph's own doing. (With TF32 convolutions, PyTorch's default,
a stacked and a solo network already differ by two learning rates after one Adam step: TF32 rounds
to 10 mantissa bits, which flips the sign of near-zero gradients, and Adam's first step is
lr * sign(g).) Members against solo runs are compared in float64, where nothing flips.
"""

import pytest
import torch

from benchmark.models.checkpoint import read_checkpoint
from benchmark.train import TrainConfig
from benchmark.train.device_steps import CHUNK_STEPS, DeviceSteps
from benchmark.train.loop import init_model, train_members
from test_train import Kill, tiny_dataset

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.fixture(autouse=True)
def deterministic_cudnn():
    flags = ("deterministic", "benchmark", "allow_tf32")
    old = [getattr(torch.backends.cudnn, f) for f in flags], torch.backends.cuda.matmul.allow_tf32
    for f, v in zip(flags, (True, False, False)):
        setattr(torch.backends.cudnn, f, v)
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    for f, v in zip(flags, old[0]):
        setattr(torch.backends.cudnn, f, v)
    torch.backends.cuda.matmul.allow_tf32 = old[1]


MEMBERS = (("vae", {}, 0), ("beta_vae", {"beta": 4.0}, 1), ("factor_vae", {"gamma": 10.0}, 2))


def cfgs(model_rows, steps=6, **kw):
    base = dict(dataset="tiny", batch_size=8, log_every=3, checkpoint_every=3, device="cuda", amp="off", steps=steps)
    base.update(kw)
    return [TrainConfig(model=m, params=p, seed=s, **base) for m, p, s in model_rows]


@pytest.mark.parametrize("rows", [MEMBERS[:1], MEMBERS[:2], MEMBERS[2:], (("annealed_vae", {"c_max": 5.0}, 3),)])
def test_graph_replay_equals_eager_steps(rows):
    """Same initial weights, same device stream: every step's loss terms and the final weights agree,
    across the warm-up steps, the capture and a chunk boundary of the stream."""
    data = tiny_dataset()
    dev = torch.device("cuda")
    cs = cfgs(rows)
    runs = []
    for graph in (False, True):
        models = [init_model(c, 1).to(dev) for c in cs]
        steps = DeviceSteps(cs, models, data, dev, CHUNK_STEPS - 4, [], amp=False, graph=graph)
        terms = [steps.step(CHUNK_STEPS - 4 + i) for i in range(8)]
        runs.append((torch.stack(terms).cpu(), [steps.member_state(i, 8)[0] for i in range(len(cs))]))
    (t_eager, w_eager), (t_graph, w_graph) = runs
    torch.testing.assert_close(t_graph, t_eager, rtol=1e-5, atol=1e-5)
    for a, b in zip(w_graph, w_eager):
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_graph_engine_resumes_like_an_uninterrupted_run(tmp_path):
    data = tiny_dataset()
    cs = cfgs(MEMBERS[:2], steps=8)
    ref = [tmp_path / "r0", tmp_path / "r1"]
    outs = [tmp_path / "o0", tmp_path / "o1"]
    res = train_members(cs, data, ref, progress=False)
    assert res[0].engine == "graph"

    def kill(step):
        if step == 5:
            raise Kill()

    with pytest.raises(Kill):
        train_members(cs, data, outs, progress=False, on_step=kill)
    assert train_members(cs, data, outs, progress=False)[0].resumed_from == 3
    for r, o in zip(ref, outs):
        a, b = read_checkpoint(r / "checkpoint.pt")["model"], read_checkpoint(o / "checkpoint.pt")["model"]
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "rows",
    [
        (("vae", {}, 0), ("beta_vae", {"beta": 4.0}, 1), ("beta_vae", {"beta": 16.0}, 2)),
        (("factor_vae", {"gamma": 10.0}, 0), ("factor_vae", {"gamma": 40.0}, 1)),
    ],
)
def test_graph_members_equal_solo_runs_in_float64(tmp_path, rows):
    """Every member of a graph-replayed ensemble equals its graph-replayed solo run over 10 steps (3 eager
    warm-up steps, the capture, 7 replays) to float64 rounding: a wrong data row, noise row,
    hyperparameter or optimiser state would show at >= 1e-6."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        data = tiny_dataset()
        cs = cfgs(rows, steps=10, lr=1e-3)
        res = train_members(cs, data, [tmp_path / f"e{i}" for i in range(len(cs))], progress=False)
        assert all(r.engine == "graph" for r in res)
        for i, c in enumerate(cs):
            train_members([c], data, [tmp_path / f"s{i}"], progress=False)
            a = read_checkpoint(tmp_path / f"e{i}" / "checkpoint.pt")["model"]
            b = read_checkpoint(tmp_path / f"s{i}" / "checkpoint.pt")["model"]
            assert a["decoder.fc.0.weight"].dtype == torch.float64
            assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-10, (i, c.params)
    finally:
        torch.set_default_dtype(old)


def test_bf16_graph_trains(tmp_path):
    data = tiny_dataset()
    r = train_members(cfgs(MEMBERS[:2], steps=6, amp="on"), data, [tmp_path / "a", tmp_path / "b"], progress=False)
    assert all(r_.engine == "graph" and all(v == v for v in r_.final.values()) for r_ in r)
