"""One loop for 1..m members: the device engine (run eagerly on CPU here), resume, divergence, grouping."""

import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.models.checkpoint import read_checkpoint
from benchmark.train import TrainConfig, TrainingDiverged
from benchmark.train.device_steps import CHUNK_STEPS
from benchmark.train.loop import engine_for, train_members
from test_train import Kill, tiny_dataset

torch.set_num_threads(1)


def member_cfgs(
    steps=4, members=(("vae", {}, 0), ("beta_vae", {"beta": 4.0}, 1), ("beta_vae", {"beta": 16.0}, 2)), **kw
):
    base = dict(
        dataset="tiny",
        batch_size=8,
        log_every=2,
        checkpoint_every=2,
        threads=1,
        device="cpu",
        channels_last="off",
        steps=steps,
    )
    base.update(kw)
    return [TrainConfig(model=m, params=p, seed=s, **base) for m, p, s in members]


def weights(folder):
    return read_checkpoint(folder / "checkpoint.pt")["model"]


def maxdiff(a, b):
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


@pytest.mark.parametrize("engine", ["host", "device"])
def test_members_match_their_solo_runs_on_the_first_step(tmp_path, engine):
    """A VAE, a beta-4 and a beta-16 member (a VAE trains in the beta-VAE stack as beta = 1) each equal their
    solo run after one step: a wrong hyperparameter, data row or noise row moves weights by ~lr = 1e-4."""
    data = tiny_dataset()
    cs = member_cfgs(steps=1)
    train_members(cs, data, [tmp_path / f"e{i}" for i in range(3)], progress=False, engine=engine)
    for i, c in enumerate(cs):
        train_members([c], data, [tmp_path / f"s{i}"], progress=False, engine=engine)
        assert maxdiff(weights(tmp_path / f"e{i}"), weights(tmp_path / f"s{i}")) < 2e-6


def test_device_stream_depends_on_seed_and_step_only(tmp_path):
    """Each member's batches and noise rows are a function of its seed and the step: a member in an
    ensemble draws what it draws alone, across a chunk boundary of the device stream."""
    from benchmark.train.device_steps import DeviceSteps
    from benchmark.train.loop import init_model

    data = tiny_dataset()
    cs = member_cfgs()
    dev = torch.device("cpu")
    ens = DeviceSteps(cs, [init_model(c, 1) for c in cs], data, dev, CHUNK_STEPS - 1, [], False, False)
    solo = DeviceSteps([cs[2]], [init_model(cs[2], 1)], data, dev, CHUNK_STEPS - 1, [], False, False)
    for step in (CHUNK_STEPS - 1, CHUNK_STEPS):
        ens._fill(step)
        solo._fill(step)
        assert torch.equal(ens.idx_buf[2], solo.idx_buf[0])
        assert torch.equal(ens.noise_buf["eps"][2], solo.noise_buf["eps"][0])
        assert int(ens.ptr) == step % CHUNK_STEPS
    assert not torch.equal(ens.idx_buf[0], ens.idx_buf[1])  # seeds differ, streams differ


@pytest.mark.parametrize("engine", ["host", "device"])
def test_killed_ensemble_resumes_bitwise(tmp_path, engine):
    data = tiny_dataset()
    cs = member_cfgs(steps=7, checkpoint_every=3, log_every=3)
    ref = [tmp_path / f"r{i}" for i in range(3)]
    outs = [tmp_path / f"o{i}" for i in range(3)]
    train_members(cs, data, ref, progress=False, engine=engine)

    def kill(step):
        if step == 5:
            raise Kill()

    with pytest.raises(Kill):
        train_members(cs, data, outs, progress=False, on_step=kill, engine=engine)
    res = train_members(cs, data, outs, progress=False, engine=engine)
    assert [r.resumed_from for r in res] == [3, 3, 3]
    for r, o in zip(ref, outs):
        a, b = weights(r), weights(o)
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert (r / "train_log.csv").read_text().splitlines()[0] == (o / "train_log.csv").read_text().splitlines()[0]


def test_device_member_continues_alone_on_either_engine(tmp_path):
    """A member folder written by the device-engine ensemble is an ordinary run: it continues alone on the
    device engine exactly as it would have in the ensemble, and on the host engine (fresh host streams)."""
    data = tiny_dataset()
    cs = member_cfgs(steps=4)
    train_members(cs, data, [tmp_path / f"e{i}" for i in range(3)], progress=False, engine="device")
    longer = [TrainConfig.from_dict({**c.to_dict(), "steps": 6}) for c in cs]
    train_members(longer, data, [tmp_path / f"l{i}" for i in range(3)], progress=False, engine="device")
    import shutil

    shutil.copytree(tmp_path / "e1", tmp_path / "alone")
    r = train_members([longer[1]], data, [tmp_path / "alone"], progress=False, engine="device")[0]
    assert r.resumed_from == 4 and r.steps == 6
    assert maxdiff(weights(tmp_path / "alone"), weights(tmp_path / "l1")) < 2e-5
    shutil.copytree(tmp_path / "e1", tmp_path / "host")
    r = train_members([longer[1]], data, [tmp_path / "host"], progress=False, engine="host")[0]
    assert r.resumed_from == 4 and r.steps == 6 and r.engine == "host"


@pytest.mark.parametrize("engine", ["host", "device"])
def test_diverging_member_is_named_and_checkpoints_stay_good(tmp_path, engine):
    data = tiny_dataset()
    cs = member_cfgs(steps=8)
    outs = [tmp_path / f"m{i}" for i in range(3)]
    clean = data.to_float
    calls = {"n": 0}

    def poisoned(x, rng=None):  # member 1's images turn NaN from its fourth batch on
        calls["n"] += 1
        x = clean(x, rng)
        if engine == "device":
            if calls["n"] >= 4:
                x = x.clone()
                x[8:16] = float("nan")
        elif calls["n"] >= 10 and calls["n"] % 3 == 2:  # the host engine draws member by member
            x = x * float("nan")
        return x

    train_members(cs, data, outs, progress=False, engine=engine)
    data.to_float = poisoned  # resumed at step 8: member 1's batch of step 12 is NaN
    longer = [TrainConfig.from_dict({**c.to_dict(), "steps": 14}) for c in cs]
    with pytest.raises(TrainingDiverged, match=r"ensemble member 1 .*m1.*non-finite loss at step 12 .*step 10"):
        train_members(longer, data, outs, progress=False, engine=engine)
    for o in outs:  # every member keeps its last good checkpoint (step 10), none holds the NaN step
        ck = read_checkpoint(o / "checkpoint.pt")
        assert ck["step"] == 10 and all(bool(torch.isfinite(t).all()) for t in ck["model"].values())


def test_engine_choice():
    data = tiny_dataset()
    assert engine_for(member_cfgs()[0], torch.device("cpu"), data) == "host"
    with pytest.raises(BenchmarkError, match="--graph on needs a CUDA device"):
        engine_for(TrainConfig(graph="on"), torch.device("cpu"), data)
    with pytest.raises(BenchmarkError, match="graph must be one of"):
        TrainConfig(graph="sometimes")


def test_members_must_share_one_loss(tmp_path):
    data = tiny_dataset()
    bad = member_cfgs(members=(("ae", {}, 0), ("beta_vae", {"beta": 4.0}, 1)))
    with pytest.raises(BenchmarkError, match="one loss"):
        train_members(bad, data, [tmp_path / "a", tmp_path / "b"], progress=False)


def test_sweep_groups_vae_with_beta_vae_runs():
    from benchmark.sweep.training import ensemble_groups

    def spec(model, params, seed):
        return {
            "kind": "model",
            "model": model,
            "params": params,
            "dataset": "dsprites",
            "data_source": "procedural",
            "train": {"steps": 10},
            "device": "cuda",
            "run_id": f"{model}{params}{seed}",
            "seed": seed,
        }

    runs = (
        [spec("ae", {}, s) for s in (0, 1)]
        + [spec("vae", {"beta": 1.0}, s) for s in (0, 1)]
        + [spec("beta_vae", {"beta": b}, s) for b in (4.0, 16.0) for s in (0, 1)]
    )
    groups = ensemble_groups(runs)
    assert sorted(len(g) for g in groups) == [2, 6]
    assert sorted(len(g) for g in ensemble_groups(runs, max_members=4)) == [2, 3, 3]


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # weights, noise and hyperparameter tensors
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("engine", ["host", "device"])
@pytest.mark.parametrize(
    "rows,steps",
    [
        (
            (
                ("vae", {}, 0),
                ("beta_vae", {"beta": 4.0}, 1),
                ("beta_vae", {"beta": 4.0}, 2),
                ("beta_vae", {"beta": 16.0}, 3),
            ),
            25,
        ),
        ((("factor_vae", {"gamma": 10.0}, 0), ("factor_vae", {"gamma": 40.0}, 1)), 8),
    ],
)
def test_members_equal_solo_runs_in_float64(tmp_path, float64, engine, rows, steps):
    """Each member follows its solo run. In float32 that cannot be checked per member over many steps:
    rounding differences between a stacked and a solo network (grouped convolutions, another memory
    layout) flip a ReLU whose input is within ~1e-8 of zero, and Adam turns the flipped gradient into an
    lr-sized step (beta-4 solo runs in two memory layouts drift as far apart as a member and its solo
    run do). In float64 nothing flips, so every member must equal its solo run to ~1e-12 over many
    steps, and a wrong data row, noise row, hyperparameter, optimiser state, epsilon or step count shows
    at full size (>= 1e-6)."""
    data = tiny_dataset()
    cs = member_cfgs(steps=steps, members=rows, lr=1e-3, checkpoint_every=steps, log_every=5)
    train_members(cs, data, [tmp_path / f"e{i}" for i in range(len(cs))], progress=False, engine=engine)
    for i, c in enumerate(cs):
        solo = TrainConfig.from_dict({**c.to_dict(), "channels_last": "auto"})  # the solo run's own layout
        train_members([solo], data, [tmp_path / f"s{i}"], progress=False, engine=engine)
        e, s = (read_checkpoint(tmp_path / f"{t}{i}" / "checkpoint.pt") for t in "es")
        assert e["model"]["decoder.fc.0.weight"].dtype == torch.float64
        assert maxdiff(e["model"], s["model"]) < 1e-10, (engine, i, c.params)
        for key in s["optimizers"]:
            ge, gs = e["optimizers"][key]["param_groups"][0], s["optimizers"][key]["param_groups"][0]
            assert {k: v for k, v in ge.items() if k != "params"} == {k: v for k, v in gs.items() if k != "params"}
            for pid, st in s["optimizers"][key]["state"].items():
                for k in ("exp_avg", "exp_avg_sq"):
                    scale = max(float(st[k].abs().max()), 1e-30)
                    assert float((e["optimizers"][key]["state"][pid][k] - st[k]).abs().max()) <= 1e-9 * scale


def test_progress_is_readable_lines_in_a_log_file(tmp_path, capsys):
    """Without a terminal (nohup, Slurm, CI) training reports lines, not a bar's carriage returns."""
    data = tiny_dataset()
    train_members(member_cfgs(steps=4)[:1], data, [tmp_path / "a"], progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "vae: 4/4 step (100.0 %), " in err and "ETA 00:00:00, loss " in err and "images/s " in err
