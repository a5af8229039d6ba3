"""Vectorised ensemble: each member follows its solo trajectory; member folders are ordinary, resumable runs."""

import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.models.checkpoint import read_checkpoint
from benchmark.train import TrainConfig, train
from benchmark.train.ensemble import train_ensemble
from test_train import Kill, _log, tiny_dataset

torch.set_num_threads(1)


def cfgs(model="beta_vae", key="beta", values=(1.0, 4.0), seeds=(0, 1), extra=None, **kw):
    base = dict(model=model, dataset="tiny", batch_size=8, log_every=5, threads=1, device="cpu", channels_last="off")
    base.update(kw)
    return [TrainConfig(params={key: v, **(extra or {})}, seed=s, **base) for v, s in zip(values, seeds)]


def weights(folder):
    return read_checkpoint(folder / "checkpoint.pt")["model"]


def maxdiff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize(
    "model,key,steps,extra",
    [
        ("beta_vae", "beta", 2, None),
        ("factor_vae", "gamma", 2, None),
        ("annealed_vae", "c_max", 2, {"iteration_threshold": 1}),
        ("beta_tcvae", "beta", 1, None),
        ("dip_vae_ii", "lambda_od", 2, None),
    ],
)
def test_first_steps_match_solo_training(tmp_path, model, key, steps, extra):
    """A wrong hyperparameter, data stream, noise or gradient moves weights by ~lr = 1e-4 per Adam step
    (measured 4e-4 for a wrong beta/gamma/lambda); float noise between vmap and a solo run is ~3e-6.
    (Later steps amplify float noise where gradients nearly cancel; see the many-steps test.)"""
    data = tiny_dataset()
    cs = cfgs(model, key, values=(2.0, 10.0), steps=steps, checkpoint_every=steps, extra=extra)
    train_ensemble(cs, data, [tmp_path / "e0", tmp_path / "e1"], progress=False)
    for i, c in enumerate(cs):
        train(c, data, tmp_path / f"s{i}", progress=False)
        assert maxdiff(weights(tmp_path / f"e{i}"), weights(tmp_path / f"s{i}")) < 2e-5
        e, s = _log(tmp_path / f"e{i}" / "train_log.csv"), _log(tmp_path / f"s{i}" / "train_log.csv")
        assert float(e[0]["loss"]) == pytest.approx(float(s[0]["loss"]), rel=1e-5)


def test_members_follow_solo_trajectories_over_many_steps(tmp_path):
    """Over 60 steps at batch 8 this training is chaotic: float noise of 1e-7 grows to 1e-3 in some
    runs and not in others, whatever its source. Measured over 8 members: ensemble vs solo 2e-7 to
    4e-3, and the same solo run in another memory layout vs solo 1e-6 to 2e-3. So the check is that the
    ensemble stays inside the envelope that float noise alone produces over the same members, not a
    per-member tolerance (which holds or fails by luck of the seed)."""
    data = tiny_dataset()
    cs = cfgs(values=(1.0, 4.0) * 4, seeds=range(8), steps=60, checkpoint_every=60)
    train_ensemble(cs, data, [tmp_path / f"e{i}" for i in range(8)], progress=False)
    ens, noise = [], []
    for i, c in enumerate(cs):
        train(c, data, tmp_path / f"s{i}", progress=False)
        train(TrainConfig.from_dict({**c.to_dict(), "channels_last": "on"}), data, tmp_path / f"n{i}", progress=False)
        solo = weights(tmp_path / f"s{i}")
        ens.append(maxdiff(weights(tmp_path / f"e{i}"), solo))
        noise.append(maxdiff(weights(tmp_path / f"n{i}"), solo))
    assert max(ens) <= max(5e-5, 3 * max(noise)), (ens, noise)
    # and most members stay at float-noise level (a wrong hyperparameter or stream moves all by >> 1e-4)
    assert sorted(ens)[3] < 1e-4, ens


def test_killed_ensemble_resumes_and_members_continue_alone(tmp_path):
    data = tiny_dataset(tint=True)
    cs = cfgs(steps=6, checkpoint_every=3)
    outs = [tmp_path / "a", tmp_path / "b"]
    ref = [tmp_path / "ra", tmp_path / "rb"]
    train_ensemble(cs, data, ref, progress=False)

    def kill(step):
        if step == 5:
            raise Kill()

    with pytest.raises(Kill):
        train_ensemble(cs, data, outs, progress=False, on_step=kill)
    res = train_ensemble(cs, data, outs, progress=False)
    assert [r.resumed_from for r in res] == [3, 3]
    for o, r in zip(outs, ref):
        w, wr = weights(o), weights(r)
        assert all(torch.equal(w[k], wr[k]) for k in w)
    # a member folder is an ordinary run: extend it alone
    more = train(TrainConfig.from_dict({**cs[0].to_dict(), "steps": 8}), data, outs[0], progress=False)
    assert more.resumed_from == 6 and more.steps == 8


def test_members_checkpointed_at_different_steps_are_levelled(tmp_path):
    data = tiny_dataset()
    cs = cfgs(steps=4, checkpoint_every=2)
    train(TrainConfig.from_dict({**cs[1].to_dict(), "steps": 2}), data, tmp_path / "b", progress=False)
    res = train_ensemble(cs, data, [tmp_path / "a", tmp_path / "b"], progress=False)
    assert [r.steps for r in res] == [4, 4]


def test_incompatible_members_are_refused(tmp_path):
    a, b = cfgs(steps=2)
    with pytest.raises(BenchmarkError, match="differ in lr"):
        train_ensemble(
            [a, TrainConfig.from_dict({**b.to_dict(), "lr": 1e-3})], tiny_dataset(), [tmp_path / "x", tmp_path / "y"]
        )
    with pytest.raises(BenchmarkError, match="own result folder"):
        train_ensemble([a, b], tiny_dataset(), [tmp_path / "x", tmp_path / "x"])


def test_out_of_memory_is_one_clear_error(tmp_path):
    # 2**59 images per member: the indices alone exceed any address space, so the allocation fails at once
    # (past the config's 65,536 bound on purpose, to reach the engine's own handling)
    a, b = cfgs(steps=2)
    a.batch_size = b.batch_size = 2**59
    with pytest.raises(
        BenchmarkError,
        match=r"out of memory on cpu at batch size 576460752303423488 x 2 members "
        r"\(step 1\); lower --batch-size",
    ):
        train_ensemble([a, b], tiny_dataset(), [tmp_path / "x", tmp_path / "y"], progress=False)
