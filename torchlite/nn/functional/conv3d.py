"""3-D convolutions: conv3d and conv_transpose3d, built on the 2-D ones.

A 3-D kernel of depth kD is kD 2-D kernels applied to depth slices: for each depth offset k,
the input slices that offset reads (every stride-th one) are stacked into the batch and go
through ONE conv2d with the kernel's k-th 2-D slice; the kD results add up. The transposed
convolution spreads each slice's conv_transpose2d to its output depths the same way. So the fast
2-D machinery (im2col, fused gradients) does the work, kD calls per layer, and the gradients
(and double backward) are those of the 2-D ops and of slicing.
"""

from __future__ import annotations

from ...amp import state as _amp
from ...ops.creation import zeros_like
from ...ops.join import cat, stack
from ...ops.pad import pad as _pad
from ...tensor import Tensor
from .conv import _check_conv, _same_padding, _tuple, conv2d, conv_transpose2d


def _to_batch(x: Tensor) -> Tensor:
    """(N, C, D, H, W) -> (N*D, C, H, W)."""
    n, c, d, h, w = x.shape
    return x.permute(0, 2, 1, 3, 4).reshape(n * d, c, h, w)


def _from_batch(y: Tensor, n: int) -> Tensor:
    """(N*D, C, H, W) -> (N, C, D, H, W)."""
    nd, c, h, w = y.shape
    return y.reshape(n, nd // n, c, h, w).permute(0, 2, 1, 3, 4)


def _bias(out: Tensor, bias: Tensor | None) -> Tensor:
    return out if bias is None else out + bias.reshape(1, -1, 1, 1, 1)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D cross-correlation, as torch.nn.functional.conv3d.

    Shape: input (N, C_in, D, H, W) or (C_in, D, H, W); weight (C_out, C_in/groups, kD, kH, kW);
    output (N, C_out, D_out, H_out, W_out), D_out = (D + 2*padding - dilation*(kD-1) - 1) //
    stride + 1 (likewise H, W). padding may be 'valid' or 'same'.
    """
    if _amp.on:
        input, weight, bias = _amp.cast("conv3d", input, weight, bias)
    _check_conv("conv3d", input, weight, bias, 3, groups)
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    s = _tuple(stride, 3, "stride", "conv3d")
    d = _tuple(dilation, 3, "dilation", "conv3d")
    if min(s) < 1 or min(d) < 1:
        raise RuntimeError(f"conv3d: stride {s} and dilation {d} must be positive")
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"conv3d: invalid padding string {padding!r} (use 'valid' or "
                             "'same')")
        if padding == "same" and s != (1, 1, 1):
            raise RuntimeError("conv3d: padding='same' is not supported for strided convolutions")
        pairs = _same_padding(k, d) if padding == "same" else [(0, 0)] * 3
    else:
        p = _tuple(padding, 3, "padding", "conv3d")
        if min(p) < 0:
            raise RuntimeError(f"conv3d: negative padding {p} is not supported")
        pairs = [(q, q) for q in p]
    (d0, d1), (h0, h1), (w0, w1) = pairs
    if (d0, d1) != (0, 0) or h0 != h1 or w0 != w1:
        x = _pad(x, (w0, w1, h0, h1, d0, d1))
        hw_pad = (0, 0)
    else:
        hw_pad = (h0, w0)
    n, depth = x.shape[0], x.shape[2]
    span = d[0] * (k[0] - 1) + 1
    d_out = (depth - span) // s[0] + 1
    if d_out <= 0:
        raise RuntimeError(f"conv3d: padded input depth {depth} is smaller than the dilated "
                           f"kernel depth {span}")
    out = None
    for i in range(k[0]):
        start = i * d[0]
        part = x[:, :, start:start + s[0] * (d_out - 1) + 1:s[0]]
        y = conv2d(_to_batch(part), weight[:, :, i], None, s[1:], hw_pad, d[1:], groups)
        out = y if out is None else out + y
    out = _bias(_from_batch(out, n), bias)
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 3-D convolution, as torch.nn.functional.conv_transpose3d.

    Shape: input (N, C_in, D, H, W); weight (C_in, C_out/groups, kD, kH, kW); output
    (N, C_out, D_out, H_out, W_out), D_out = (D-1)*stride - 2*padding + dilation*(kD-1) +
    output_padding + 1 (likewise H, W).
    """
    op = "conv_transpose3d"
    if _amp.on:
        input, weight, bias = _amp.cast(op, input, weight, bias)
    _check_conv(op, input, weight, bias, 3, groups, transposed=True)
    unbatched = input.ndim == 4
    x = input.unsqueeze(0) if unbatched else input
    s, p, o, d = (_tuple(v, 3, name, op) for v, name in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"),
        (dilation, "dilation")))
    if min(s) < 1 or min(d) < 1 or min(p) < 0 or min(o) < 0:
        raise RuntimeError(f"{op}: stride and dilation must be positive, padding and "
                           "output_padding non-negative")
    for op_, si, di in zip(o, s, d):
        if op_ >= si and op_ >= di:
            raise RuntimeError(f"{op}: output padding {o} must be smaller than either stride "
                               f"{s} or dilation {d}")
    n, depth = x.shape[0], x.shape[2]
    k = weight.shape[2]
    full = (depth - 1) * s[0] + d[0] * (k - 1) + 1 + o[0]  # before the padding is cropped
    d_out = full - 2 * p[0]
    if d_out <= 0:
        raise RuntimeError(f"{op}: output depth {d_out} is not positive")
    spread_len = (depth - 1) * s[0] + 1
    xb = _to_batch(x)
    total = None
    for i in range(k):
        y = conv_transpose2d(xb, weight[:, :, i], None, s[1:], p[1:], o[1:], groups, d[1:])
        y = y.reshape(n, depth, *y.shape[1:])  # (N, D, C_out, H_out, W_out)
        if s[0] > 1:  # input depth j lands on output depth j * stride: zeros in between
            y = stack([y] + [zeros_like(y)] * (s[0] - 1), 2).reshape(n, depth * s[0], *y.shape[2:])
            y = y[:, :spread_len]
        front, back = i * d[0], full - i * d[0] - spread_len
        parts = [y]
        if front:
            parts.insert(0, y.new_zeros((n, front, *y.shape[2:])))
        if back:
            parts.append(y.new_zeros((n, back, *y.shape[2:])))
        y = cat(parts, 1) if len(parts) > 1 else y
        total = y if total is None else total + y
    out = _bias(total[:, p[0]:p[0] + d_out].permute(0, 2, 1, 3, 4), bias)
    return out.squeeze(0) if unbatched else out
