"""Encoders, decoders and the FactorVAE discriminator of the reference study.

Reference: disentanglement_lib ``methods/shared/architectures.py`` (``conv_encoder``,
``deconv_decoder``, ``fc_encoder``, ``fc_decoder``, ``fc_discriminator``). Inputs are
``(B, C, 64, 64)`` floats in [0, 1]; decoders return **logits** (no final activation). Initialisation follows TensorFlow
1's layer
defaults: Glorot/Xavier-uniform kernels and zero biases (PyTorch's default init differs).

* :class:`ConvEncoder` -- 32-32-64-64 convolutions (4x4/s2/p1 twice, then **2x2**/s2/p0 twice),
  dense 256, linear heads for the mean and the log-variance. 309,204 parameters for C=1, D=10.
* :class:`ConvDecoder` -- dense 256, dense 1024, reshape 64x4x4, four 4x4/s2/p1 transposed
  convolutions (64, 32, 32, C). 381,313 parameters for C=1, D=10.
* :class:`FCEncoder` / :class:`FCDecoder` -- the beta-VAE paper's dSprites MLP: 1200-1200 ReLU
  encoder, 1200x3 tanh decoder.
* :class:`Discriminator` -- FactorVAE's 6 x 1000 LeakyReLU(0.2) MLP with 2 logits
  (5,018,002 parameters for D=10).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURES = ("conv", "fc")
IMAGE_SIZE = 64


def xavier_init_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every conv / transposed conv / linear layer."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def num_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class ConvEncoder(nn.Module):
    """Reference ``conv_encoder``: x (B, C, 64, 64) -> (mean, logvar), each (B, D).

    Parameters
    ----------
    channels : int
        Input channels C.
    latent_dim : int
        Code size D.
    """

    def __init__(self, channels: int = 1, latent_dim: int = 10, logvar_head: bool = True):
        super().__init__()
        # in-place ReLUs: nothing else reads a conv's output, and writing the 8 MB activations where
        # they are saves a pass through memory (~4 % of a CPU step, benchmarks/bench_train_variants.py)
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1),
            nn.ReLU(inplace=True),  # 32x32
            nn.Conv2d(32, 32, 4, 2, 1),
            nn.ReLU(inplace=True),  # 16x16
            # 2x2 kernels below: TF "same" padding with k=2, s=2 pads nothing
            nn.Conv2d(32, 64, 2, 2, 0),
            nn.ReLU(inplace=True),  # 8x8
            nn.Conv2d(64, 64, 2, 2, 0),  # 4x4; its ReLU runs after the flatten (forward)
        )
        self.fc = nn.Linear(64 * 4 * 4, 256)
        self.mean = nn.Linear(256, latent_dim)
        self.logvar = nn.Linear(256, latent_dim) if logvar_head else None
        xavier_init_(self)

    def forward(self, x: torch.Tensor):
        # ReLU after the flatten, not before: same values, but with channels_last activations the
        # flatten's copy hands the ReLU's backward a gradient in another memory layout, where
        # ATen's threshold_backward is ~14x slower (0.40 ms of a CPU step; matched layouts: 0.03 ms)
        h = torch.relu(self.features(x).flatten(1))
        h = torch.relu(self.fc(h))
        return self.mean(h), (self.logvar(h) if self.logvar is not None else None)


class ConvDecoder(nn.Module):
    """Reference ``deconv_decoder``: z (B, D) -> logits (B, C, 64, 64)."""

    def __init__(self, channels: int = 1, latent_dim: int = 10):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(inplace=True), nn.Linear(256, 1024), nn.ReLU(inplace=True)
        )
        self.deconv = nn.Sequential(
            FastConvTranspose2d(64, 64, 4, 2, 1),
            nn.ReLU(inplace=True),  # 8x8
            FastConvTranspose2d(64, 32, 4, 2, 1),
            nn.ReLU(inplace=True),  # 16x16
            FastConvTranspose2d(32, 32, 4, 2, 1),
            nn.ReLU(inplace=True),  # 32x32
            FastConvTranspose2d(32, channels, 4, 2, 1),  # 64x64 logits, no activation
        )
        xavier_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).reshape(-1, 64, 4, 4)
        return self.deconv(h)


def _overlap_add_deconv(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``conv_transpose2d(x, w, b, stride=2, padding=1)`` for 4x4 kernels as one matmul + an overlap-add.

    Kernel tap ``kh = 2*qh + ah`` of input row ``i`` lands on padded output row ``2*(i + qh) + ah``
    (columns alike). The matmul gives every tap as a plane over (n, i, j); the four shifts (qh, qw) are
    added per output phase (ah, aw) on those planes, whose rows are contiguous, and the phases are
    interleaved into the image once at the end.
    """
    n, ci, h, wd = x.shape
    co = w.shape[1]
    taps = torch.mm(w.reshape(ci, co * 16).t(), x.permute(0, 2, 3, 1).reshape(n * h * wd, ci).t())
    taps = taps.view(co, 2, 2, 2, 2, n, h, wd)  # co, qh, ah, qw, aw, n, i, j
    phases = taps.new_zeros(2, 2, co, n, h + 1, wd + 1)  # ah, aw, co, n, padded block row, block column
    for qh in (0, 1):
        for qw in (0, 1):
            phases[:, :, :, :, qh : qh + h, qw : qw + wd] += taps[:, qh, :, qw].permute(1, 2, 0, 3, 4, 5)
    out = phases.permute(3, 2, 4, 0, 5, 1).reshape(n, co, 2 * h + 2, 2 * wd + 2)  # row 2*block + ah
    return out[:, :, 1:-1, 1:-1] + b.view(1, co, 1, 1)


class _Deconv4x4S2(torch.autograd.Function):
    """``conv_transpose2d(x, w, b, stride=2, padding=1)`` with a faster CPU forward and backward.

    Forward: oneDNN's kernel, or :func:`_overlap_add_deconv` when ``overlap_add`` (1-3 output
    channels, where oneDNN is slow). Backward: ATen's transposed-convolution backward for the input
    and weight gradients only, and the bias gradient as a plain sum. Asking ATen for all three in
    one call runs a slow bias reduction on CPU: 16.9 ms against 7.8 ms for input + weight and the sum,
    32 -> 32 layer at batch 64 (``benchmarks/bench_train_variants.py``, part 3).
    """

    generate_vmap_rule = True  # the vmapped ensemble trainer calls it too

    @staticmethod
    def forward(x, w, b, overlap_add):
        if overlap_add:
            return _overlap_add_deconv(x, w, b)
        return F.conv_transpose2d(x, w, b, stride=2, padding=1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], inputs[1])

    @staticmethod
    def backward(ctx, grad, *_):
        x, w = ctx.saved_tensors
        gx, gw, _ = torch.ops.aten.convolution_backward(
            grad,
            x,
            w,
            None,
            [2, 2],
            [1, 1],
            [1, 1],
            True,
            [0, 0],
            1,
            [ctx.needs_input_grad[0], ctx.needs_input_grad[1], False],
        )
        gb = grad.sum((0, 2, 3)) if ctx.needs_input_grad[2] else None
        return gx, gw, gb, None


class FastConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` whose 4x4 / stride-2 / padding-1 case runs faster on CPU.

    Same parameters, initialisation, checkpoints and function (float rounding aside); only the CPU
    kernels differ (:class:`_Deconv4x4S2`): the backward skips ATen's slow combined bias gradient,
    and with 1-3 output channels (the decoder's output layer) the forward is a matmul to per-pixel
    4x4 patches plus an overlap-add instead of oneDNN's kernel, which is slow there (32 -> 1 channel,
    32x32 -> 64x64, batch 64: 2.2 ms against 9.6; 3 channels 5.4 against 9.4). Other shapes and
    devices, autocast, ``torch.compile`` and ``output_size`` use ``nn.ConvTranspose2d`` unchanged.
    """

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if (
            x.device.type == "cpu"
            and output_size is None
            and x.dim() == 4
            and self.bias is not None
            and self.kernel_size == (4, 4)
            and self.stride == (2, 2)
            and self.padding == (1, 1)
            and self.output_padding == (0, 0)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
            and x.dtype in (torch.float32, torch.float64)
            and not torch.is_autocast_enabled("cpu")
            and not torch.compiler.is_compiling()
        ):  # inductor ran the custom path several times slower
            return _Deconv4x4S2.apply(x, self.weight, self.bias, self.out_channels <= 3)
        return super().forward(x, output_size)


class FCEncoder(nn.Module):
    """The beta-VAE paper's dSprites encoder: flatten -> 1200 ReLU -> 1200 ReLU -> (mean, logvar)."""

    def __init__(self, channels: int = 1, latent_dim: int = 10, logvar_head: bool = True, hidden: int = 1200):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * IMAGE_SIZE * IMAGE_SIZE, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
        )
        self.mean = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim) if logvar_head else None
        xavier_init_(self)

    def forward(self, x: torch.Tensor):
        h = self.body(x)
        return self.mean(h), (self.logvar(h) if self.logvar is not None else None)


class FCDecoder(nn.Module):
    """The beta-VAE paper's dSprites decoder: 1200 tanh x3 -> 64*64*C linear logits."""

    def __init__(self, channels: int = 1, latent_dim: int = 10, hidden: int = 1200):
        super().__init__()
        self.channels = channels
        self.body = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, channels * IMAGE_SIZE * IMAGE_SIZE),
        )
        xavier_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).reshape(-1, self.channels, IMAGE_SIZE, IMAGE_SIZE)


class Discriminator(nn.Module):
    """FactorVAE ``fc_discriminator``: z (B, D) -> 2 logits (class 0 = q(z), class 1 = permuted).

    LeakyReLU slope 0.2 is TensorFlow's default (PyTorch's is 0.01).
    """

    def __init__(self, latent_dim: int = 10, hidden: int = 1000, layers: int = 6):
        super().__init__()
        mods: list[nn.Module] = []
        width = latent_dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        mods.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*mods)
        xavier_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def build_encoder(architecture: str, channels: int, latent_dim: int, logvar_head: bool = True) -> nn.Module:
    """Encoder of ``architecture`` (``conv`` or ``fc``); ``logvar_head=False`` for the deterministic AE."""
    return {"conv": ConvEncoder, "fc": FCEncoder}[architecture](channels, latent_dim, logvar_head)


def build_decoder(architecture: str, channels: int, latent_dim: int) -> nn.Module:
    """Decoder of ``architecture`` (``conv`` or ``fc``)."""
    return {"conv": ConvDecoder, "fc": FCDecoder}[architecture](channels, latent_dim)
