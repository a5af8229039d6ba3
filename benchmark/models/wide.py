"""K conv encoders / decoders of the reference architecture as one wide network.

Members are stacked along channels: activations are ``(B, K*C, H, W)`` with member k's channels at
``k*C .. (k+1)*C``, every convolution is one grouped convolution (``groups=K``) and every dense
layer one batched matmul. The weights are views of stacked member parameters (leading dimension
K, the layout of :class:`benchmark.train.stack.MemberStack`): a grouped convolution's weight
``(K*O, I, kh, kw)`` is the stacked ``(K, O, I, kh, kw)`` reshaped, so no copy is made and
gradients land in the stacked parameters. Unlike ``vmap``, the memory format is ours to choose:
``channels_last`` lets cuDNN use its NHWC grouped kernels.

Functions of ``params`` (name -> stacked tensor, the names of
:class:`benchmark.models.architectures.ConvEncoder` / ``ConvDecoder`` under ``encoder.`` /
``decoder.``), pure and vmap-free.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ENCODER_CONVS = (
    ("encoder.features.0", 2, 1),
    ("encoder.features.2", 2, 1),
    ("encoder.features.4", 2, 0),
    ("encoder.features.6", 2, 0),
)
DECODER_DECONVS = ("decoder.deconv.0", "decoder.deconv.2", "decoder.deconv.4", "decoder.deconv.6")


def _conv(x, params, name, k, stride, padding):
    w, b = params[name + ".weight"], params[name + ".bias"]
    return F.conv2d(x, w.reshape(-1, *w.shape[2:]), b.reshape(-1), stride=stride, padding=padding, groups=k)


def _deconv(x, params, name, k):
    w, b = params[name + ".weight"], params[name + ".bias"]
    return F.conv_transpose2d(x, w.reshape(-1, *w.shape[2:]), b.reshape(-1), stride=2, padding=1, groups=k)


def _dense(h, params, name):
    """h (K, B, in) -> (K, B, out) with member k's weights."""
    w, b = params[name + ".weight"], params[name + ".bias"]
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))


def to_wide(x: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """(K, B, C, H, W) member batches -> (B, K*C, H, W)."""
    k, b, c, h, w = x.shape
    out = x.transpose(0, 1).reshape(b, k * c, h, w)
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out.contiguous()


def from_wide(y: torch.Tensor, k: int) -> torch.Tensor:
    """(B, K*C, H, W) -> (K, B, C, H, W) (a view)."""
    b, kc, h, w = y.shape
    return y.reshape(b, k, kc // k, h, w).transpose(0, 1)


def wide_encode(params: dict, x_wide: torch.Tensor, k: int, logvar_head: bool = True):
    """Encoder means and log-variances, each (K, B, D), of wide input (B, K*C, 64, 64)."""
    h = x_wide
    for i, (name, stride, padding) in enumerate(ENCODER_CONVS):
        h = _conv(h, params, name, k, stride, padding)
        if i < len(ENCODER_CONVS) - 1:
            h = torch.relu(h)
    b = h.shape[0]
    # each member flattens its own (64, 4, 4) block in (C, H, W) order, as ConvEncoder does
    h = torch.relu(h.reshape(b, k, -1).transpose(0, 1))  # (K, B, 1024)
    h = torch.relu(_dense(h, params, "encoder.fc"))
    mu = _dense(h, params, "encoder.mean")
    return mu, (_dense(h, params, "encoder.logvar") if logvar_head else None)


def wide_decode(params: dict, z: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """Logits (B, K*C, 64, 64) of codes z (K, B, D)."""
    k, b, _ = z.shape
    h = torch.relu(_dense(z, params, "decoder.fc.0"))
    h = torch.relu(_dense(h, params, "decoder.fc.2"))  # (K, B, 1024)
    h = h.transpose(0, 1).reshape(b, k * 64, 4, 4)
    if channels_last:
        h = h.contiguous(memory_format=torch.channels_last)
    for i, name in enumerate(DECODER_DECONVS):
        h = _deconv(h, params, name, k)
        if i < len(DECODER_DECONVS) - 1:
            h = torch.relu(h)
    return h
