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
