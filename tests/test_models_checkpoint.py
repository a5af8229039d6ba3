"""Checkpoint save/load: round trip, and one clear error for every broken file."""

import pickle

import pytest
import torch

from benchmark.errors import CheckpointError
from benchmark.models import build_model, load_checkpoint, make_config, save_checkpoint
from benchmark.models.checkpoint import read_checkpoint


def _cfg(**kw):
    mc = make_config("beta_vae", beta=4.0, **kw)
    return mc, {**mc.to_dict(), "dataset": "dsprites_mini", "seed": 3}


def test_round_trip(tmp_path):
    mc, cfg = _cfg()
    m = build_model(mc)
    p = save_checkpoint(tmp_path / "checkpoint.pt", m, cfg, step=7)
    m2, cfg2 = load_checkpoint(p)
    assert cfg2 == cfg and cfg2["beta"] == 4.0 and cfg2["channels"] == 1
    x = torch.rand(2, 1, 64, 64)
    assert torch.equal(m.encode(x)[0], m2.encode(x)[0])
    assert read_checkpoint(p)["step"] == 7
    assert not m2.training


def test_missing_truncated_and_corrupt(tmp_path):
    mc, cfg = _cfg()
    p = save_checkpoint(tmp_path / "c.pt", build_model(mc), cfg)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "absent.pt")
    data = p.read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "t.pt")
    (tmp_path / "g.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(tmp_path / "g.pt")


def test_refuses_code_in_pickles(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    p = tmp_path / "evil.pt"
    # protocol 2, as torch.save writes (another protocol only adds torch's "pickle protocol" warning)
    p.write_bytes(pickle.dumps({"format": "disentangle-bench/checkpoint", "x": Evil()}, protocol=2))
    with pytest.raises(
        CheckpointError, match=r"holds Python objects that a safe load refuses to run \(Unsupported global"
    ):
        load_checkpoint(p)
    # random bytes: the unpickler's own reason, not torch's paragraphs of weights_only advice
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(
        CheckpointError, match=r"not a readable checkpoint \(truncated or corrupt: [^\n]{1,160}\); delete it"
    ) as e:
        load_checkpoint(p)
    assert "PyTorch 2.6" not in str(e.value) and "\n" not in str(e.value)


class _RunsAShellCommand:
    """What a malicious checkpoint carries: unpickling it would call os.system."""

    def __reduce__(self):
        import os

        return (os.system, ("echo this must never run",))


@pytest.mark.parametrize("write", ["torch.save", "torch.save legacy", "pickle protocol 2"])
def test_a_malicious_checkpoint_names_the_refused_global_not_truncation(tmp_path, capfd, write):
    p = tmp_path / "evil.pt"
    obj = {"format": "disentangle-bench/checkpoint", "x": _RunsAShellCommand()}
    if write == "torch.save":
        torch.save(obj, p)
    elif write == "torch.save legacy":
        torch.save(obj, p, _use_new_zipfile_serialization=False)
    else:
        p.write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(p)
    msg = str(e.value)
    assert msg.startswith(f"{p} holds Python objects that a safe load refuses to run (")
    assert "system" in msg and "truncated" not in msg and "PyTorch 2.6" not in msg and "\n" not in msg
    assert "this must never run" not in capfd.readouterr().out


def test_a_protocol_4_pickle_is_named_as_such(tmp_path, recwarn):
    p = tmp_path / "p4.pt"
    p.write_bytes(pickle.dumps({"format": "disentangle-bench/checkpoint"}, protocol=4))
    with pytest.raises(
        CheckpointError,
        match=r"is a pickle of protocol 4 or later, which a safe load refuses "
        r"\(Unsupported operand 149\); it was not written by",
    ) as e:
        load_checkpoint(p)
    assert "truncated" not in str(e.value)
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]  # the error line says it all


def test_mismatched_weights_and_foreign_files(tmp_path):
    mc, cfg = _cfg()
    small = build_model(make_config("beta_vae", latent_dim=3))
    p = save_checkpoint(tmp_path / "m.pt", small, cfg)  # config says D=10, weights are D=3
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(p)
    torch.save({"state_dict": small.state_dict()}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a disentangle-bench checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(ValueError):
        save_checkpoint(tmp_path / "x.pt", small, {"model": "beta_vae"})
