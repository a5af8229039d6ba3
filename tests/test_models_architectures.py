"""Reference architectures: parameter counts, shapes, kernel sizes, initialisation."""
import math

import pytest
import torch
from torch import nn

import benchmark  # noqa: F401
from benchmark.models.architectures import (ConvDecoder, ConvEncoder, Discriminator, FCDecoder, FCEncoder,
                                            num_parameters)


@pytest.mark.parametrize("c,enc,dec", [(1, 309_204, 381_313), (3, 310_228, 382_339)])
def test_conv_parameter_counts_match_reference(c, enc, dec):
    assert num_parameters(ConvEncoder(c, 10)) == enc
    assert num_parameters(ConvDecoder(c, 10)) == dec


def test_discriminator_parameter_count_and_slope():
    d = Discriminator(10)
    assert num_parameters(d) == 5_018_002
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    assert d(torch.zeros(3, 10)).shape == (3, 2)


def test_conv_shapes_and_kernels():
    enc, dec = ConvEncoder(3, 7), ConvDecoder(3, 7)
    mu, lv = enc(torch.rand(2, 3, 64, 64))
    assert mu.shape == lv.shape == (2, 7)
    assert dec(mu).shape == (2, 3, 64, 64)
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.kernel_size, m.stride, m.padding, m.out_channels) for m in convs] == [
        ((4, 4), (2, 2), (1, 1), 32), ((4, 4), (2, 2), (1, 1), 32), ((2, 2), (2, 2), (0, 0), 64), ((2, 2), (2, 2), (0, 0), 64)]
    last = [m for m in dec.modules() if isinstance(m, nn.ConvTranspose2d)][-1]
    assert isinstance(list(dec.deconv.children())[-1], nn.ConvTranspose2d) and last.out_channels == 3  # logits, no activation


def test_decoder_outputs_unbounded_logits():
    dec = ConvDecoder(1, 10)
    out = dec(torch.randn(16, 10) * 30)
    assert out.min() < 0 or out.max() > 1


def test_fc_architecture():
    enc, dec = FCEncoder(1, 10), FCDecoder(1, 10)
    widths = [m.out_features for m in enc.modules() if isinstance(m, nn.Linear)]
    assert widths == [1200, 1200, 10, 10]
    assert [m.out_features for m in dec.modules() if isinstance(m, nn.Linear)] == [1200, 1200, 1200, 4096]
    assert sum(isinstance(m, nn.Tanh) for m in dec.modules()) == 3
    mu, _ = enc(torch.rand(2, 1, 64, 64))
    assert dec(mu).shape == (2, 1, 64, 64)


def test_xavier_uniform_init_zero_biases():
    torch.manual_seed(0)
    enc = ConvEncoder(1, 10)
    for m in enc.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            assert torch.count_nonzero(m.bias) == 0
            w = m.weight
            rf = w[0][0].numel() if w.dim() > 2 else 1
            bound = math.sqrt(6.0 / (w.shape[1] * rf + w.shape[0] * rf))
            assert w.abs().max() <= bound
            # uniform on [-a, a] has std a / sqrt(3); PyTorch's default (kaiming a=sqrt(5)) is much smaller for the dense layer
            assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.2)


def test_no_logvar_head_for_deterministic_encoder():
    enc = ConvEncoder(1, 10, logvar_head=False)
    mu, lv = enc(torch.rand(1, 1, 64, 64))
    assert lv is None and num_parameters(enc) == 309_204 - 2570


@pytest.mark.parametrize("channels", [1, 3])
def test_output_deconv_fast_cpu_path_equals_conv_transpose(channels):
    """The overlap-add forward is nn.ConvTranspose2d's function; gradients are ATen's own."""
    from torch.nn import functional as F

    from benchmark.models.architectures import OutputConvTranspose2d

    torch.manual_seed(0)
    layer = OutputConvTranspose2d(32, channels, 4, 2, 1).double()
    x = torch.randn(3, 32, 8, 8, dtype=torch.double, requires_grad=True)
    y = layer(x)
    ref = F.conv_transpose2d(x, layer.weight, layer.bias, stride=2, padding=1)
    assert y.shape == (3, channels, 16, 16)
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, layer.weight, layer.bias), g)
    grads_ref = torch.autograd.grad(ref, (x, layer.weight, layer.bias), g)
    for a, r in zip(grads, grads_ref):
        torch.testing.assert_close(a, r, rtol=0, atol=1e-12)
    from benchmark.models.architectures import _OverlapAddDeconv

    assert torch.autograd.gradcheck(_OverlapAddDeconv.apply, (x[:1], layer.weight, layer.bias))


def test_output_deconv_under_vmap_matches_per_member():
    from torch.func import vmap
    from torch.nn import functional as F

    from benchmark.models.architectures import _OverlapAddDeconv

    torch.manual_seed(1)
    w = torch.randn(4, 32, 1, 4, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(4, 1, dtype=torch.double, requires_grad=True)
    x = torch.randn(4, 2, 32, 8, 8, dtype=torch.double)
    y = vmap(_OverlapAddDeconv.apply)(x, w, b)
    ref = torch.stack([F.conv_transpose2d(x[i], w[i], b[i], 2, 1) for i in range(4)])
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    g = torch.autograd.grad(y.square().sum(), (w, b))
    g_ref = torch.autograd.grad(ref.square().sum(), (w, b))
    for a, r in zip(g, g_ref):
        torch.testing.assert_close(a, r)
