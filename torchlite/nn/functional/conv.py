"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d.

How it is fast on NumPy: the (zero-)padded input lives in one flat buffer per (sample, channel);
`as_strided` lays a window view over it and ONE copy turns that view into the im2col matrix,
laid out (groups, C/g*kh*kw, N*positions) so that the forward pass, grad_weight and the column
gradient are each a single large matrix product (run in column blocks where few channels make
that faster: conv_matmul.py). The gradient of the input (and the forward
pass of the transposed convolution) folds columns back with one strided add per kernel offset
(kh*kw adds over whole (C, N, Ho, Wo) blocks); no np.add.at, no loops over batch or pixels.

With stride 1 the windows are taken over the flattened padded image ("flat" mode): a window
position (h, w) reads flat offset h*Wp + w, so every column is a contiguous run of Ho*Wp values
and the copies run at memory speed. The Wp - Wo extra columns per row are junk that is cropped
from the output (and zero in gradients), which costs a little extra arithmetic but saves far
more in strided copies. The input gradient of a stride-1 convolution (and the forward pass of a
stride-1 transposed one) orders its columns with the batch innermost instead, so that each
kernel offset's add is one long contiguous run per channel (measured on LeNet-5's second layer:
25 such adds take about a third of the time of the per-sample ones, and the whole backward
about 20% less).
"""

from __future__ import annotations

import numpy as np

from ... import _workspace as ws
from ...amp import state as _amp
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.half_compute import in_float32, is_half_numpy
from ...ops.pad import pad as _pad
from ...tensor import Tensor
from . import conv_hwn as _hwn
from .conv_graph import conv2d_graph_backward, conv_transpose2d_graph_backward
from .conv_matmul import matmul as _matmul
from .conv_matmul import matmul_t as _matmul_t
from .fused_act import bias_act, bias_act_grad, check_fuses


def _tuple(v, n: int, name: str, op: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{op}: {name} must be an int or a {n}-tuple, got {v!r}")
        out = tuple(int(a) for a in v)
    else:
        out = (int(v),) * n
    return out


class _Geom:
    """Window geometry over a flat (N, C, Hp*Wp + slack) buffer; see the module docstring."""

    __slots__ = ("N", "C", "Hp", "Wp", "kh", "kw", "sh", "sw", "dh", "dw", "G", "Ho", "Wo",
                 "Hq", "Wq", "F")

    def __init__(self, N, C, Hp, Wp, k, s, d, G, op):
        self.N, self.C, self.Hp, self.Wp, self.G = N, C, Hp, Wp, G
        (self.kh, self.kw), (self.sh, self.sw), (self.dh, self.dw) = k, s, d
        self.Ho = (Hp - self.dh * (self.kh - 1) - 1) // self.sh + 1
        self.Wo = (Wp - self.dw * (self.kw - 1) - 1) // self.sw + 1
        if self.Ho <= 0 or self.Wo <= 0:
            raise RuntimeError(
                f"{op}: padded input size ({Hp}, {Wp}) is smaller than the dilated kernel size "
                f"({self.dh * (self.kh - 1) + 1}, {self.dw * (self.kw - 1) + 1})"
            )
        self.Hq, self.Wq = (self.Ho, Wp) if self.flat else (self.Ho, self.Wo)
        self.F = Hp * Wp + ((self.kw - 1) * self.dw if self.flat else 0)

    @property
    def P(self) -> int:
        return self.Hq * self.Wq

    def buffer(self, xp, dtype):
        return ws.zeros(xp, (self.N, self.C, self.F), dtype)

    def image(self, buf):
        """The (N, C, Hp, Wp) image view of a flat buffer."""
        return buf[:, :, : self.Hp * self.Wp].reshape(self.N, self.C, self.Hp, self.Wp)

    def _offset_view(self, buf_t, off):
        """(C, N, Hq, Wq) view of the window positions at flat offset `off` of a (C, N, F) view."""
        xp = get_xp(buf_t)
        e = buf_t.itemsize
        sc, sn = buf_t.strides[0], buf_t.strides[1]
        return xp.lib.stride_tricks.as_strided(
            buf_t[:, :, off:], (self.C, self.N, self.Hq, self.Wq),
            (sc, sn, self.sh * self.Wp * e, self.sw * e))

    def unfold(self, buf):
        """im2col: (N, C, F) buffer -> (G, C/G*kh*kw, N*P) columns (one copy)."""
        xp = get_xp(buf)
        e = buf.itemsize
        sn, sc = buf.strides[0], buf.strides[1]
        view = xp.lib.stride_tricks.as_strided(
            buf, (self.C, self.kh, self.kw, self.N, self.Hq, self.Wq),
            (sc, self.dh * self.Wp * e, self.dw * e, sn, self.sh * self.Wp * e, self.sw * e))
        cols = ws.empty(xp, (self.G, self.C // self.G * self.kh * self.kw, self.N * self.P),
                        buf.dtype)
        cols.reshape(view.shape)[...] = view
        return cols

    def fold(self, cols, dtype):
        """col2im: (G, Kg, N*P) columns -> (N, C, F) buffer, summing overlapping windows."""
        xp = get_xp(cols)
        buf = self.buffer(xp, dtype)
        buf_t = buf.transpose(1, 0, 2)
        c6 = cols.reshape(self.C, self.kh, self.kw, self.N, self.Hq, self.Wq)
        for i in range(self.kh):
            for j in range(self.kw):
                view = self._offset_view(buf_t, i * self.dh * self.Wp + j * self.dw)
                view += c6[:, i, j]
        return buf

    @property
    def flat(self) -> bool:
        return self.sh == 1 and self.sw == 1

    def fold_input(self, wm, g, pads, H, W):
        """col2im of the columns wm^T @ g, cropped to (N, C, H, W), for flat mode only.

        The columns are ordered (h, w, n), batch innermost, for this product alone: a kernel
        offset is then a shift of the whole flattened padded batch, so each of the kh*kw adds
        is one contiguous run per channel, not one short run per (channel, sample) as the
        (n, h, w) order needs; each sum takes its terms in the same order either way."""
        xp = get_xp(g)
        N, (O, h, w) = self.N, g.shape[1:]
        L = self.Hq * self.Wq * N
        g2 = ws.zeros(xp, (O, self.Hq, self.Wq, N), g.dtype)
        g2[:, :h, :w] = g.transpose(1, 2, 3, 0)
        G = wm.shape[0]
        gcols = _mm(xp, wm.transpose(0, 2, 1), g2.reshape(G, O // G, L))
        c4 = gcols.reshape(self.C, self.kh, self.kw, L)
        buf = ws.zeros(xp, (self.C, self.F * N), g.dtype)
        for i in range(self.kh):
            for j in range(self.kw):
                off = (i * self.dh * self.Wp + j * self.dw) * N
                buf[:, off: off + L] += c4[:, i, j]
        pt, pl = pads
        img = buf[:, : self.Hp * self.Wp * N].reshape(self.C, self.Hp, self.Wp, N)
        out = ws.empty(xp, (N, self.C, H, W), g.dtype)
        out[...] = img[:, pt: pt + H, pl: pl + W].transpose(3, 0, 1, 2)
        return out

    def to_cols(self, g, groups):
        """(N, O, h, w) -> (G, O/G, N*P), zero in the junk columns of flat mode (and beyond (h, w),
        which a transposed convolution with output_padding >= stride can need)."""
        xp = get_xp(g)
        O, h, w = g.shape[1], g.shape[2], g.shape[3]
        if (self.Hq, self.Wq) == (h, w):
            out = ws.empty(xp, (O, self.N, h, w), g.dtype)
            out[...] = g.transpose(1, 0, 2, 3)
        else:
            out = ws.zeros(xp, (O, self.N, self.Hq, self.Wq), g.dtype)
            out[:, :, :h, :w] = g.transpose(1, 0, 2, 3)
        return out.reshape(groups, O // groups, self.N * self.P)

    def from_cols(self, y, bias, hw=None, act=None):
        """(G, O/G, N*P) -> contiguous (N, O, h, w) (default (Ho, Wo)), adding the bias (and
        applying a fused activation) in the same pass. Returns the output, or with `act` the
        output and what the activation's backward takes (see fused_act.bias_act)."""
        xp = get_xp(y)
        O = y.shape[0] * y.shape[1]
        h, w = hw or (self.Ho, self.Wo)
        src = y.reshape(O, self.N, self.Hq, self.Wq)[:, :, :h, :w].transpose(1, 0, 2, 3)
        out = ws.empty(xp, (self.N, O, h, w), y.dtype)
        if xp is np:
            # NumPy's ufuncs are slow over the transposed view and its copy is not: the bias
            # goes on the product's contiguous rows, then one copy, then ReLU in place
            # (measured on LeNet-5's layers: 270 -> 200 us and 145 -> 105 us)
            if bias is not None:
                y.reshape(O, -1)[...] += bias.reshape(O, 1)
            out[...] = src
            return out if act is None else (out, bias_act(out, None, act, out))
        b4 = None if bias is None else bias.reshape(1, O, 1, 1)
        if act is not None:
            return out, bias_act(src, b4, act, out)
        if bias is None:
            out[...] = src
        else:
            xp.add(src, b4, out=out)
        return out


def _mm(xp, a, b):
    """Batched (G, m, k) @ (G, k, n) into a pooled scratch array (see conv_matmul.py)."""
    return _matmul(a, b)


def _load(geom, x, pads):
    """Copy x into a fresh zero buffer at the padding offset."""
    xp = get_xp(x)
    buf = geom.buffer(xp, x.dtype)
    pt, pl = pads
    geom.image(buf)[:, :, pt: pt + x.shape[2], pl: pl + x.shape[3]] = x
    return buf


def _crop(geom, buf, pads, H, W):
    xp = get_xp(buf)
    pt, pl = pads
    out = ws.empty(xp, (buf.shape[0], buf.shape[1], H, W), buf.dtype)
    out[...] = geom.image(buf)[:, :, pt: pt + H, pl: pl + W]
    return out


class Conv2dOp(Op):
    """Grouped, strided, dilated 2-D cross-correlation with symmetric zero padding, and
    optionally a fused activation (`act`, see fused_act.py)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups, act):
        xp = get_xp(x)
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        geom = _Geom(N, C, H + 2 * padding[0], W + 2 * padding[1], (kh, kw), stride, dilation,
                     groups, "conv2d")
        ctx.geom, ctx.groups, ctx.padding, ctx.hw = geom, groups, padding, (H, W)
        ctx.has_bias, ctx.act = b is not None, act
        ctx.hwn = _hwn.takes(geom, x)
        # x itself too (a reference): the graph path differentiates through it (conv_graph.py)
        if ctx.hwn:  # a small image: the batch-innermost layout (conv_hwn.py)
            out, cols, saved = _hwn.forward(geom, x, w, b, padding, act)
            ctx.save_for_backward(cols, w, saved, x)
            return out
        cols = geom.unfold(_load(geom, x, padding))
        wm = w.reshape(groups, O // groups, -1)
        y = _mm(xp, wm, cols)
        if act is None:
            ctx.save_for_backward(cols, w, None, x)
            return geom.from_cols(y, b)
        out, saved = geom.from_cols(y, b, act=act)
        ctx.save_for_backward(cols, w, saved, x)
        return out

    graph_backward = staticmethod(conv2d_graph_backward)

    @staticmethod
    def backward(ctx, g):
        cols, w, saved, _ = ctx.saved_tensors
        geom, groups = ctx.geom, ctx.groups
        n = ctx.needs_input_grad
        if ctx.hwn:
            return _hwn.backward(geom, g, cols, w, saved, ctx.act, ctx.padding, ctx.hw, n,
                                 ctx.has_bias) + (None,) * 5
        if ctx.act is not None:
            g = bias_act_grad(g, saved, ctx.act)
        xp = get_xp(g)
        g2 = geom.to_cols(g, groups)
        gx = gw = gb = None
        if n[1]:  # cols @ g^T: BLAS is about twice as fast this way round for few channels
            gw = _matmul_t(cols, g2).transpose(0, 2, 1).reshape(w.shape)
        if n[0]:
            wm = w.reshape(groups, w.shape[0] // groups, -1)
            if geom.flat and geom.kh * geom.kw > 1:  # (one offset: nothing to gain)
                gx = geom.fold_input(wm, g, ctx.padding, *ctx.hw)
            else:
                gcols = _mm(xp, wm.transpose(0, 2, 1), g2)
                gx = _crop(geom, geom.fold(gcols, g.dtype), ctx.padding, *ctx.hw)
        if n[2] and ctx.has_bias:  # a matrix-vector product over g2's rows: BLAS sums faster
            ones = ws.empty(xp, (g2.shape[2],), g2.dtype)
            ones.fill(1)
            with np.errstate(over="ignore", invalid="ignore"):
                gb = xp.matmul(g2.reshape(-1, g2.shape[2]), ones)
        return gx, gw, gb, None, None, None, None, None


class ConvTranspose2dOp(Op):
    """The adjoint of Conv2dOp: a conv2d's input gradient, as a layer (a.k.a. deconvolution)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, dilation, groups):
        xp = get_xp(x)
        N, Cin, H, W = x.shape
        _, og, kh, kw = w.shape
        O = og * groups
        # the full (uncropped) output is the input of the conv whose output is x
        Hf = (H - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
        Wf = (W - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
        geom = _Geom(N, O, Hf, Wf, (kh, kw), stride, dilation, groups, "conv_transpose2d")
        Ho, Wo = Hf - 2 * padding[0], Wf - 2 * padding[1]
        if Ho <= 0 or Wo <= 0:
            raise RuntimeError(f"conv_transpose2d: output size ({Ho}, {Wo}) is too small")
        wm = w.reshape(groups, Cin // groups, og * kh * kw)
        if geom.flat and kh * kw > 1:
            out = geom.fold_input(wm, x, padding, Ho, Wo)
            xc = None  # the weight gradient's columns, made in backward when needed
        else:
            xc = geom.to_cols(x, groups)  # (G, Cin/G, N*P)
            out = _crop(geom, geom.fold(_mm(xp, wm.transpose(0, 2, 1), xc), x.dtype), padding,
                        Ho, Wo)
        if b is not None:
            out += b.reshape(1, O, 1, 1)
        ctx.geom, ctx.groups, ctx.padding, ctx.hw = geom, groups, padding, (H, W)
        ctx.has_bias = b is not None
        ctx.save_for_backward(xc, w, x)
        return out

    graph_backward = staticmethod(conv_transpose2d_graph_backward)

    @staticmethod
    def backward(ctx, g):
        xc, w, x = ctx.saved_tensors
        xp = get_xp(g)
        geom, groups = ctx.geom, ctx.groups
        n = ctx.needs_input_grad
        if xc is None and n[1]:
            xc = geom.to_cols(x, groups)
        cols = geom.unfold(_load(geom, g, ctx.padding))  # (G, og*kh*kw, N*P)
        gx = gw = gb = None
        if n[0]:
            wm = w.reshape(groups, w.shape[0] // groups, -1)
            gx = geom.from_cols(_mm(xp, wm, cols), None, ctx.hw)
        if n[1]:
            gw = _matmul_t(cols, xc).transpose(0, 2, 1).reshape(w.shape)
        if n[2] and ctx.has_bias:
            gb = g.sum(axis=(0, 2, 3))
        return gx, gw, gb, None, None, None, None, None


# ----------------------------------------------------------------------------------------------
# functional API


def _same_padding(k, d):
    total = [di * (ki - 1) for ki, di in zip(k, d)]
    return [(t // 2, t - t // 2) for t in total]


def _check_conv(op, x, w, b, nd, groups, transposed=False):
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{op}: expected Tensor input and weight")
    if w.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight, got shape {tuple(w.shape)}")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, got shape "
            f"{tuple(x.shape)}"
        )
    if groups < 1:
        raise RuntimeError(f"{op}: groups must be a positive integer, got {groups}")
    cin = x.shape[-nd - 1]
    if transposed:
        if w.shape[0] != cin or cin % groups:
            raise RuntimeError(
                f"{op}: weight of shape {tuple(w.shape)} expects {w.shape[0]} input channels "
                f"(divisible by groups={groups}), got input of shape {tuple(x.shape)}"
            )
    else:
        if w.shape[0] % groups or cin != w.shape[1] * groups:
            raise RuntimeError(
                f"{op}: weight of shape {tuple(w.shape)} with groups={groups} expects "
                f"{w.shape[1] * groups} input channels, got input of shape {tuple(x.shape)}"
            )
    if x.dtype != w.dtype:
        raise RuntimeError(f"{op}: input dtype {x.dtype} and weight dtype {w.dtype} differ")
    nout = w.shape[1] * groups if transposed else w.shape[0]
    if b is not None and tuple(b.shape) != (nout,):
        raise RuntimeError(f"{op}: bias must have shape ({nout},), got {tuple(b.shape)}")
    if b is not None and b.dtype != x.dtype:  # PyTorch refuses too (its backward could not cast)
        raise RuntimeError(f"{op}: input dtype {x.dtype} and bias dtype {b.dtype} differ")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, as torch.nn.functional.conv2d.

    Shape: input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in/groups, kH, kW);
    bias (C_out,); output (N, C_out, H_out, W_out) with
    H_out = (H + 2*padding - dilation*(kH-1) - 1) // stride + 1. padding may be 'valid' or 'same'.
    """
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, None)


def conv2d_act(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
               groups: int, act: str) -> Tensor:
    """act(conv2d(...)) as one node, for an input and activation that fused_act.fuses accepts."""
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, act)


def _conv2d(input, weight, bias, stride, padding, dilation, groups, act) -> Tensor:
    if _amp.on:
        input, weight, bias = _amp.cast("conv2d", input, weight, bias)
    _check_conv("conv2d", input, weight, bias, 2, groups)
    if act is not None:
        check_fuses("conv2d_act", input, act, bias)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    stride = _tuple(stride, 2, "stride", "conv2d")
    dilation = _tuple(dilation, 2, "dilation", "conv2d")
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"conv2d: stride {stride} and dilation {dilation} must be positive")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError(
                    "conv2d: padding='same' is not supported for strided convolutions")
            (t, bo), (le, r) = _same_padding(weight.shape[2:], dilation)
            if (t, le) != (bo, r):  # asymmetric: pad the extra row/column on the bottom/right
                input = _pad(input, (le, r, t, bo))
                padding = (0, 0)
            else:
                padding = (t, le)
        else:
            raise ValueError(f"conv2d: invalid padding string {padding!r} (use 'valid' or 'same')")
    else:
        padding = _tuple(padding, 2, "padding", "conv2d")
        if min(padding) < 0:
            raise RuntimeError(f"conv2d: negative padding {padding} is not supported")
    op = in_float32(Conv2dOp) if is_half_numpy(input._data) else Conv2dOp  # see half_compute
    out = op.apply(input, weight, bias, stride, padding, dilation, int(groups), act)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation (the 2-D path with H = 1).

    Shape: input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, k); output
    (N, C_out, L_out).
    """
    if _amp.on:
        input, weight, bias = _amp.cast("conv1d", input, weight, bias)
    _check_conv("conv1d", input, weight, bias, 1, groups)
    if not isinstance(padding, str):
        padding = (0, _tuple(padding, 1, "padding", "conv1d")[0])
    s = _tuple(stride, 1, "stride", "conv1d")[0]
    d = _tuple(dilation, 1, "dilation", "conv1d")[0]
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, s), padding, (1, d), groups)
    return out.squeeze(-2)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution, as torch.nn.functional.conv_transpose2d.

    Shape: input (N, C_in, H, W); weight (C_in, C_out/groups, kH, kW); output (N, C_out, H_out,
    W_out) with H_out = (H-1)*stride - 2*padding + dilation*(kH-1) + output_padding + 1.
    """
    if _amp.on:
        input, weight, bias = _amp.cast("conv_transpose2d", input, weight, bias)
    _check_conv("conv_transpose2d", input, weight, bias, 2, groups, transposed=True)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    stride = _tuple(stride, 2, "stride", "conv_transpose2d")
    padding = _tuple(padding, 2, "padding", "conv_transpose2d")
    output_padding = _tuple(output_padding, 2, "output_padding", "conv_transpose2d")
    dilation = _tuple(dilation, 2, "dilation", "conv_transpose2d")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise RuntimeError("conv_transpose2d: stride and dilation must be positive, padding and "
                           "output_padding non-negative")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise RuntimeError(
                f"conv_transpose2d: output padding {output_padding} must be smaller than either "
                f"stride {stride} or dilation {dilation}"
            )
    op = in_float32(ConvTranspose2dOp) if is_half_numpy(input._data) else ConvTranspose2dOp
    out = op.apply(input, weight, bias, stride, padding, output_padding, dilation, int(groups))
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 1-D convolution. Shape: (N, C_in, L) -> (N, C_out, L_out)."""
    if _amp.on:
        input, weight, bias = _amp.cast("conv_transpose1d", input, weight, bias)
    _check_conv("conv_transpose1d", input, weight, bias, 1, groups, transposed=True)
    op = "conv_transpose1d"
    s, p, o, d = (_tuple(v, 1, name, op)[0] for v, name in (
        (stride, "stride"), (padding, "padding"), (output_padding, "output_padding"),
        (dilation, "dilation")))
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, s), (0, p), (0, o),
                           groups, (1, d))
    return out.squeeze(-2)
