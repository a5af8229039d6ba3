"""The graph-safe optimiser update equals torch.optim's (with TF1's Adam epsilon) and keeps its checkpoint layout."""

import math

import pytest
import torch

from benchmark.train import TrainConfig
from benchmark.train.optim import DeviceUpdate, make_optimizers

torch.set_num_threads(1)


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(7, 5))
        self.b = torch.nn.Parameter(torch.randn(5))

    def param_groups(self):
        return {"loss": list(self.named_parameters())}


def _step_both(ref, opt_ref, dev, step_dev, step, scale=1.0):
    """Give both models the same gradients and step each with its own optimiser."""
    for model in (ref, dev):
        for p, g in zip(model.parameters(), _grads(step, scale)):
            p.grad = g.clone()
    opt_ref.step()
    step_dev()


def _grads(step, scale):
    g = torch.Generator().manual_seed(100 + step)
    # gradients spanning the epsilon scale, where TF1's and PyTorch's epsilon conventions differ
    return [torch.randn(7, 5, generator=g) * scale, torch.randn(5, generator=g) * scale]


@pytest.mark.parametrize("optimizer,scale", [("adam", 1.0), ("adam", 1e-8), ("adagrad", 1.0)])
def test_device_update_equals_torch_optimizer(optimizer, scale):
    torch.manual_seed(0)
    ref, dev = Tiny(), Tiny()
    dev.load_state_dict(ref.state_dict())
    cfg = TrainConfig(model="beta_vae", optimizer=optimizer, lr=1e-2)
    opt_ref = make_optimizers(ref, cfg)["loss"]
    upd = DeviceUpdate(make_optimizers(dev, cfg)["loss"], step=0)
    for step in range(6):
        _step_both(ref, opt_ref, dev, upd.step, step, scale)
        for p, q in zip(ref.parameters(), dev.parameters()):
            torch.testing.assert_close(
                q, p, rtol=1e-5, atol=1e-6
            )  # steps are ~lr = 1e-2: a wrong formula is off by ~1e-3
    assert float(upd.t) == 6.0


def test_tf1_epsilon_is_not_pytorchs():
    """With gradients of the order of epsilon the two conventions differ: the test above would fail with
    PyTorch's epsilon (it checks TF1's, ``m / (sqrt(v) + eps)`` with bias-corrected step size)."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1.0, eps=1e-8)
    upd = DeviceUpdate(opt, step=0)
    p.grad = torch.full((1,), 1e-8)
    upd.step()
    tf1 = -1.0 * math.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * 1e-8) / (math.sqrt(0.001) * 1e-8 + 1e-8)
    pytorch = -1.0 / (1 - 0.9) * (0.1 * 1e-8) / (math.sqrt(0.001) * 1e-8 / math.sqrt(0.001) + 1e-8)
    assert float(p.detach()) == pytest.approx(tf1, rel=1e-5)
    assert abs(tf1 - pytorch) > 0.1


def test_state_dict_resumes_in_torch_optimizer():
    """A device-trained optimiser's state dict is torch.optim.Adam's layout: the host engine continues it."""
    torch.manual_seed(0)
    ref, dev = Tiny(), Tiny()
    dev.load_state_dict(ref.state_dict())
    cfg = TrainConfig(model="beta_vae", lr=1e-2)
    opt_ref = make_optimizers(ref, cfg)["loss"]
    opt_dev = make_optimizers(dev, cfg)["loss"]
    upd = DeviceUpdate(opt_dev, step=0)
    for step in range(3):
        _step_both(ref, opt_ref, dev, upd.step, step)
    upd.sync_state(3)
    cont = make_optimizers(dev, cfg)["loss"]
    cont.load_state_dict(opt_dev.state_dict())
    for step in range(3, 5):
        _step_both(ref, opt_ref, dev, cont.step, step)
    for p, q in zip(ref.parameters(), dev.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6)  # steps are ~lr = 1e-2: a wrong formula is off by ~1e-3
