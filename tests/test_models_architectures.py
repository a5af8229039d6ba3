"""Reference architectures: parameter counts, shapes, kernel sizes, initialisation."""

import math

import pytest
import torch
from torch import nn

from benchmark.models.architectures import ConvDecoder, ConvEncoder, Discriminator, FCDecoder, FCEncoder, num_parameters


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
        ((4, 4), (2, 2), (1, 1), 32),
        ((4, 4), (2, 2), (1, 1), 32),
        ((2, 2), (2, 2), (0, 0), 64),
        ((2, 2), (2, 2), (0, 0), 64),
    ]
    last = [m for m in dec.modules() if isinstance(m, nn.ConvTranspose2d)][-1]
    assert (
        isinstance(list(dec.deconv.children())[-1], nn.ConvTranspose2d) and last.out_channels == 3
    )  # logits, no activation


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
            # uniform on [-a, a] has std a / sqrt(3); PyTorch's default (kaiming a=sqrt(5)) is much smaller for the
            # dense layer
            assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.2)


def test_no_logvar_head_for_deterministic_encoder():
    enc = ConvEncoder(1, 10, logvar_head=False)
    mu, lv = enc(torch.rand(1, 1, 64, 64))
    assert lv is None and num_parameters(enc) == 309_204 - 2570


@pytest.mark.parametrize("channels,ci,size", [(1, 32, 8), (3, 32, 8), (32, 32, 6), (64, 64, 4)])
def test_fast_deconv_cpu_path_equals_conv_transpose(channels, ci, size):
    """Both CPU paths (overlap-add for <= 3 output channels, oneDNN otherwise) are nn.ConvTranspose2d's
    function, with its gradients (the bias gradient computed separately)."""
    from torch.nn import functional as F

    from benchmark.models.architectures import FastConvTranspose2d

    torch.manual_seed(0)
    layer = FastConvTranspose2d(ci, channels, 4, 2, 1).double()
    x = torch.randn(3, ci, size, size, dtype=torch.double, requires_grad=True)
    y = layer(x)
    ref = F.conv_transpose2d(x, layer.weight, layer.bias, stride=2, padding=1)
    assert y.shape == (3, channels, 2 * size, 2 * size)
    assert y.grad_fn is not None and "_Deconv4x4S2" in type(y.grad_fn).__name__  # the fast path ran
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, layer.weight, layer.bias), g)
    grads_ref = torch.autograd.grad(ref, (x, layer.weight, layer.bias), g)
    for a, r in zip(grads, grads_ref):
        torch.testing.assert_close(a, r, rtol=0, atol=1e-12)


@pytest.mark.parametrize("overlap_add", [True, False])
def test_fast_deconv_gradcheck(overlap_add):
    from benchmark.models.architectures import _Deconv4x4S2

    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 3, dtype=torch.double, requires_grad=True)
    w = torch.randn(4, 5, 4, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: _Deconv4x4S2.apply(x, w, b, overlap_add), (x, w, b))


def test_fast_deconv_channels_last_float32_matches_native():
    """The layout training uses: channels_last float32, gradients as ATen's within float rounding."""
    from torch.nn import functional as F

    from benchmark.models.architectures import FastConvTranspose2d

    torch.manual_seed(2)
    layer = FastConvTranspose2d(32, 32, 4, 2, 1).to(memory_format=torch.channels_last)
    x = torch.randn(8, 32, 16, 16).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = layer(x)
    ref = F.conv_transpose2d(x, layer.weight, layer.bias, stride=2, padding=1)
    torch.testing.assert_close(y, ref)
    g = torch.randn_like(y)
    gx, gw, gb = torch.autograd.grad(y, (x, layer.weight, layer.bias), g)
    rx, rw, rb = torch.autograd.grad(ref, (x, layer.weight, layer.bias), g)
    torch.testing.assert_close(gx, rx, rtol=0, atol=0)  # the same ATen kernels
    torch.testing.assert_close(gw, rw, rtol=0, atol=0)
    # bias: a float32 sum of 8,192 terms either way; ours is the closer one to the float64 sum
    truth = g.double().sum((0, 2, 3))
    assert (gb.double() - truth).abs().max() <= (rb.double() - truth).abs().max() + 1e-6
    torch.testing.assert_close(gb.double(), truth, rtol=0, atol=1e-4)


def test_fast_deconv_other_shapes_use_native_layer():
    from benchmark.models.architectures import FastConvTranspose2d

    layer = FastConvTranspose2d(4, 2, 3, 1, 1)
    y = layer(torch.randn(2, 4, 5, 5, requires_grad=True))
    assert y.shape == (2, 2, 5, 5) and "_Deconv4x4S2" not in type(y.grad_fn).__name__


@pytest.mark.parametrize("channels", [1, 32])
def test_fast_deconv_under_vmap_matches_per_member(channels):
    from torch.func import vmap
    from torch.nn import functional as F

    from benchmark.models.architectures import _Deconv4x4S2

    torch.manual_seed(1)
    w = torch.randn(4, 32, channels, 4, 4, dtype=torch.double, requires_grad=True)
    b = torch.randn(4, channels, dtype=torch.double, requires_grad=True)
    x = torch.randn(4, 2, 32, 8, 8, dtype=torch.double, requires_grad=True)
    y = vmap(lambda x, w, b: _Deconv4x4S2.apply(x, w, b, channels <= 3))(x, w, b)
    ref = torch.stack([F.conv_transpose2d(x[i], w[i], b[i], 2, 1) for i in range(4)])
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    g = torch.autograd.grad(y.square().sum(), (x, w, b))
    g_ref = torch.autograd.grad(ref.square().sum(), (x, w, b))
    for a, r in zip(g, g_ref):
        torch.testing.assert_close(a, r)
