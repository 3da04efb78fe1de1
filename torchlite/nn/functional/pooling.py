"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool1d/2d, adaptive_max_pool1d/2d.

Windowed pools loop over the kernel offsets (kh*kw iterations), each one elementwise step over a
whole strided (N, C, Ho, Wo) slice of the padded input: no loops over batch, channels or pixels.
Max pooling keeps the running argmax as a small integer "which offset" map, so the backward pass
routes each gradient with one masked copy per offset; when windows do not overlap (stride >= the
dilated kernel) that is a plain assignment, otherwise an add. 1-D pools are the 2-D ones with H = 1.
"""

from __future__ import annotations

import numpy as np

from ... import _workspace as ws
from ...autograd.function import Op
from ...backend import get_xp
from ...ops.scatter import bincount
from ...tensor import Tensor
from .conv import _tuple


def _out_len(n, k, s, p, d, ceil_mode, op):
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    if num < 0:
        raise RuntimeError(
            f"{op}: input size {n} (padding {p}) is smaller than the (dilated) kernel size {eff}"
        )
    if ceil_mode:
        out = -(-num // s) + 1
        if (out - 1) * s >= n + p:  # the last window must start inside the input or left padding
            out -= 1
    else:
        out = num // s + 1
    return out


class _PoolGeom:
    """Output sizes and the padded buffer for a windowed 2-D pool."""

    def __init__(self, shape, k, s, p, d, ceil_mode, op):
        self.N, self.C, self.H, self.W = shape
        self.k, self.s, self.p, self.d = k, s, p, d
        self.Ho = _out_len(self.H, k[0], s[0], p[0], d[0], ceil_mode, op)
        self.Wo = _out_len(self.W, k[1], s[1], p[1], d[1], ceil_mode, op)
        # the buffer covers the input, both paddings and whatever ceil_mode's last window needs
        self.Hb = max(self.H + 2 * p[0], (self.Ho - 1) * s[0] + d[0] * (k[0] - 1) + 1)
        self.Wb = max(self.W + 2 * p[1], (self.Wo - 1) * s[1] + d[1] * (k[1] - 1) + 1)
        self.overlap = s[0] < d[0] * (k[0] - 1) + 1 or s[1] < d[1] * (k[1] - 1) + 1
        # the windows cover the (unpadded) input exactly once: a backward writes every element
        self.tiles = (k == s and d == (1, 1) and p == (0, 0)
                      and (self.Ho * k[0], self.Wo * k[1]) == (self.H, self.W))

    def padded(self, x, fill):
        if (self.Hb, self.Wb) == (self.H, self.W):
            return x
        xp = get_xp(x)
        buf = xp.full((self.N, self.C, self.Hb, self.Wb), fill, dtype=x.dtype)
        buf[:, :, self.p[0]: self.p[0] + self.H, self.p[1]: self.p[1] + self.W] = x
        return buf

    def offsets(self):
        (kh, kw), (sh, sw), (dh, dw) = self.k, self.s, self.d
        for a in range(kh):
            for b in range(kw):
                yield a * kw + b, (slice(None), slice(None),
                                   slice(a * dh, a * dh + sh * (self.Ho - 1) + 1, sh),
                                   slice(b * dw, b * dw + sw * (self.Wo - 1) + 1, sw))

    def crop(self, buf):
        if (self.Hb, self.Wb) == (self.H, self.W):
            return buf
        xp = get_xp(buf)
        return xp.ascontiguousarray(
            buf[:, :, self.p[0]: self.p[0] + self.H, self.p[1]: self.p[1] + self.W])

    def flat_indices(self, which):
        """Offset map (N, C, Ho, Wo) -> flat index of the argmax in each input plane (int64)."""
        xp = get_xp(which)
        kw, (sh, sw), (dh, dw) = self.k[1], self.s, self.d
        w64 = which.astype(np.int64)
        rows = (xp.arange(self.Ho, dtype=np.int64).reshape(-1, 1) * sh - self.p[0]
                + (w64 // kw) * dh)
        cols = xp.arange(self.Wo, dtype=np.int64) * sw - self.p[1] + (w64 % kw) * dw
        return rows * self.W + cols


def _lowest(dtype):
    return -np.inf if np.dtype(dtype).kind in "fV" else np.iinfo(dtype).min


class MaxPool2dOp(Op):
    @staticmethod
    def forward(ctx, x, geom, want_indices):
        xp = get_xp(x)
        buf = geom.padded(x, _lowest(x.dtype))
        views = [buf[key] for _, key in geom.offsets()]
        out = ws.empty(xp, views[0].shape, x.dtype)
        out[...] = views[0]
        K = len(views)
        track = ctx.needs_input_grad[0] or want_indices
        # NumPy's ufuncs are slow over views strided along W, its copies are not: such a view
        # is copied into a contiguous scratch array first (LeNet-5's first 2x2 pool, forward
        # with the winners: 400 -> 250 us)
        tmp = ws.empty(xp, out.shape, x.dtype) if (
            xp is np and K > 1 and views[0].strides[-1] != x.itemsize) else None
        # which offset won, tracked as the scan goes: it moves only to a strictly greater
        # value, so ties go to the first element of the window in scan order, as in PyTorch
        # (which = k where greater, as integer arithmetic: xp.where is slow on small integers)
        dt = np.uint8 if K < 256 else np.int32
        if track:
            which = xp.zeros(out.shape, dtype=dt)
            gt = xp.empty(out.shape, dtype=bool)
        for k in range(1, K):
            v = views[k]
            if tmp is not None:
                tmp[...] = v
                v = tmp
            if track:
                xp.greater(v, out, out=gt)
                which += gt.view(np.uint8).astype(dt, copy=False) * (dt(k) - which)
            xp.maximum(out, v, out=out)  # propagates NaN, as PyTorch
        if not track:
            return out
        # a NaN window's maximum is its last NaN, as in PyTorch (checked first on the CPU; on
        # the GPU always done, since the check would synchronise)
        if x.dtype.kind in "fV" and (xp is not np or bool(np.isnan(out).any())):
            for k in range(K):
                hit = xp.isnan(views[k]).view(np.uint8).astype(dt, copy=False)
                which += hit * (dt(k) - which)
        ctx.geom = geom
        ctx.save_for_backward(which)
        if want_indices:
            idx = geom.flat_indices(which)
            ctx.mark_non_differentiable(idx)
            return out, idx
        return out

    @staticmethod
    def backward(ctx, g, *_):
        (which,) = ctx.saved_tensors
        geom = ctx.geom
        xp = get_xp(g)
        buf = (ws.empty if geom.tiles else ws.zeros)(xp, (geom.N, geom.C, geom.Hb, geom.Wb),
                                                     g.dtype)
        zero = g.dtype.type(0)
        # g * mask is one fast pass on NumPy but would spread inf/NaN gradients to every window
        # element, so it is taken only for finite g (not checked on the GPU: no sync per step)
        finite = xp is np and bool(xp.isfinite(g).all())
        for k, key in geom.offsets():
            hit = which == k
            if not geom.overlap and finite:  # each input position is in at most one window
                xp.multiply(g, hit, out=buf[key])
                continue
            routed = xp.where(hit, g, zero)
            if geom.overlap:
                buf[key] += routed
            else:
                buf[key] = routed
        return geom.crop(buf), None, None

    @staticmethod
    def graph_backward(ctx, g, *_):
        """The gradient routed to each window's winner as one scatter-add, which a graph of the
        backward pass can record (the fast backward writes into strided scratch views)."""
        (which,) = ctx.saved_tensors
        geom = ctx.geom
        return _route(g, geom.flat_indices(which), (geom.N, geom.C, geom.H, geom.W)), None, None


def _route(g, pos, shape):
    """Sum g (N, C, ...) into zeros of `shape` (N, C, H, W) at flat plane positions `pos`."""
    xp = get_xp(g)
    N, C, H, W = shape
    base = (np.arange(N * C, dtype=np.int64) * (H * W)).reshape((N, C) + (1,) * (pos.ndim - 2))
    gx = xp.zeros(N * C * H * W, dtype=g.dtype)
    xp.add.at(gx, (pos + xp.asarray(base)).reshape(-1), g.reshape(-1))
    return gx.reshape(shape)


class AvgPool2dOp(Op):
    @staticmethod
    def forward(ctx, x, geom, div):
        buf = geom.padded(x, 0)
        out = None
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging model: inf, NaN
            for _, key in geom.offsets():
                if out is None:
                    out = buf[key].copy()
                else:
                    out += buf[key]
            out /= div
        ctx.geom, ctx.div = geom, div
        return out

    @staticmethod
    def backward(ctx, g):
        geom = ctx.geom
        xp = get_xp(g)
        gd = g / ctx.div
        buf = xp.zeros((geom.N, geom.C, geom.Hb, geom.Wb), dtype=g.dtype)
        for _, key in geom.offsets():
            if geom.overlap:
                buf[key] += gd
            else:
                buf[key] = gd
        return geom.crop(buf), None, None


def _avg_divisor(geom, ceil_mode, count_include_pad, divisor_override, xp, dtype):
    if divisor_override:
        return float(divisor_override)
    sizes = []
    for n, no, k, s, p in zip((geom.H, geom.W), (geom.Ho, geom.Wo), geom.k, geom.s, geom.p):
        start = np.arange(no) * s - p
        end = np.minimum(start + k, n + p)
        incl = end - start
        excl = np.minimum(end, n) - np.maximum(start, 0)
        sizes.append(incl if count_include_pad else excl)
    div = np.outer(sizes[0], sizes[1])
    if div.min() == div.max():
        return float(div.flat[0])
    return xp.asarray(div, dtype=dtype)


def _prep(op, input, nd, kernel_size, stride, padding, dilation):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}-D or {nd + 2}-D input, got shape "
                           f"{tuple(input.shape)}")
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _tuple(stride, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    d = _tuple(dilation, nd, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise RuntimeError(f"{op}: kernel_size {k}, stride {s} and dilation {d} must be positive "
                           f"and padding {p} non-negative")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got "
                           f"pad={p} and kernel_size={k}")
    if nd == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
        input = input.unsqueeze(-2)
    unbatched = input.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    return input, k, s, p, d, unbatched


def _finish(out, nd, unbatched):
    if unbatched:
        out = out.squeeze(0)
    return out.squeeze(-2) if nd == 1 else out


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, k, s, p, d, unb = _prep(op, input, nd, kernel_size, stride, padding, dilation)
    geom = _PoolGeom(tuple(x.shape), k, s, p, d, ceil_mode, op)
    if return_indices:
        out, idx = MaxPool2dOp.apply(x, geom, True)
        return _finish(out, nd, unb), _finish(idx, nd, unb)
    return _finish(MaxPool2dOp.apply(x, geom, False), nd, unb)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling, as torch.nn.functional.max_pool2d.

    Shape: (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out), H_out =
    (H + 2*padding - dilation*(k-1) - 1) // stride + 1 (ceil with ceil_mode). Indices (with
    return_indices) are flat positions in each H*W input plane.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling. Shape: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override=None):
    x, k, s, p, d, unb = _prep(op, input, nd, kernel_size, stride, padding, 1)
    geom = _PoolGeom(tuple(x.shape), k, s, p, d, ceil_mode, op)
    div = _avg_divisor(geom, ceil_mode, count_include_pad, divisor_override, get_xp(x._data),
                       x._data.dtype)
    return _finish(AvgPool2dOp.apply(x, geom, div), nd, unb)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling, as torch.nn.functional.avg_pool2d. Shape: as max_pool2d."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling. Shape: (N, C, L) or (C, L) -> (N, C, L_out)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad)


# ----------------------------------------------------------------------------------------------
# adaptive pools


def _bounds(n_in, n_out):
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)  # floor, ceil


def _adaptive_matrix(n_in, n_out):
    """(n_out, n_in) averaging matrix: row i averages PyTorch's adaptive window i."""
    start, end = _bounds(n_in, n_out)
    pos = np.arange(n_in)
    m = (pos >= start[:, None]) & (pos < end[:, None])
    return m / (end - start)[:, None]


def _out_size(output_size, shape, nd, op):
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must have {nd} elements, got {output_size!r}")
    return tuple(int(n if o is None else o) for o, n in zip(sizes, shape[-nd:]))


def _adaptive_avg(op, nd, input, output_size):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}-D or {nd + 2}-D input, got shape "
                           f"{tuple(input.shape)}")
    out_size = _out_size(output_size, input.shape, nd, op)
    if min(out_size) < 1:
        raise RuntimeError(f"{op}: output size {out_size} must be positive")
    xp, dt = get_xp(input._data), input._data.dtype
    out = input
    # separable: average along W with one matrix product, then along H with another
    for axis, n_out in zip(range(-1, -nd - 1, -1), reversed(out_size)):
        n_in = input.shape[axis]
        if n_out == 1:
            out = out.sum(dim=axis, keepdim=True) * (1.0 / n_in)
            continue
        m = Tensor._make(xp.asarray(_adaptive_matrix(n_in, n_out), dtype=dt), input._device)
        out = out.matmul(m.t()) if axis == -1 else m.matmul(out)
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Adaptive 2-D average pooling. Shape: (N, C, H, W) -> (N, C, *output_size); a None entry
    keeps that input size."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Adaptive 1-D average pooling. Shape: (N, C, L) -> (N, C, output_size)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


class AdaptiveMaxPool2dOp(Op):
    """Max over PyTorch's adaptive windows (which may overlap); gathers each window padded to the
    largest window size by repeating its last index, and scatters gradients with one bincount."""

    @staticmethod
    def forward(ctx, x, out_size, want_indices):
        xp = get_xp(x)
        N, C, H, W = x.shape
        idx = []
        for n_in, n_out in zip((H, W), out_size):
            start, end = _bounds(n_in, n_out)
            kmax = int((end - start).max())
            idx.append(np.minimum(start[:, None] + np.arange(kmax), (end - 1)[:, None]))
        hi, wi = idx
        flat = xp.asarray(hi[:, None, :, None] * W + wi[None, :, None, :])  # (Ho, Wo, kh, kw)
        Ho, Wo = out_size
        win = x.reshape(N, C, H * W)[:, :, flat.reshape(-1)].reshape(N, C, Ho, Wo, -1)
        arg = win.argmax(axis=-1)
        if x.dtype.kind in "fV":  # a NaN wins, as in PyTorch (no data-dependent branch: no sync)
            isnan = xp.isnan(win)
            last_nan = isnan.shape[-1] - 1 - isnan[..., ::-1].argmax(axis=-1)
            arg = xp.where(isnan.any(axis=-1), last_nan, arg)
        out = xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        pos = xp.take_along_axis(flat.reshape(1, 1, Ho, Wo, -1), arg[..., None], axis=-1)[..., 0]
        ctx.shape = x.shape
        ctx.save_for_backward(pos)
        if want_indices:
            ctx.mark_non_differentiable(pos)
            return out, pos
        return out

    @staticmethod
    def backward(ctx, g, *_):
        (pos,) = ctx.saved_tensors
        xp = get_xp(g)
        N, C, H, W = ctx.shape
        base = (xp.arange(N * C, dtype=pos.dtype) * (H * W)).reshape(N, C, 1, 1)
        gx = bincount((pos + base).reshape(-1), N * C * H * W, weights=g.reshape(-1))
        return gx.astype(g.dtype, copy=False).reshape(ctx.shape), None, None

    @staticmethod
    def graph_backward(ctx, g, *_):
        """The same scatter as one add.at, which a graph of the backward pass can record."""
        (pos,) = ctx.saved_tensors
        return _route(g, pos, ctx.shape), None, None


def _adaptive_max(op, nd, input, output_size, return_indices):
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected {nd + 1}-D or {nd + 2}-D input, got shape "
                           f"{tuple(input.shape)}")
    out_size = _out_size(output_size, input.shape, nd, op)
    if min(out_size) < 1:
        raise RuntimeError(f"{op}: output size {out_size} must be positive")
    x = input.unsqueeze(-2) if nd == 1 else input
    unb = x.ndim == 3
    if unb:
        x = x.unsqueeze(0)
    size2 = (1,) + out_size if nd == 1 else out_size
    if x.shape[2] % size2[0] == 0 and x.shape[3] % size2[1] == 0:  # regular windows
        k = (x.shape[2] // size2[0], x.shape[3] // size2[1])
        geom = _PoolGeom(tuple(x.shape), k, k, (0, 0), (1, 1), False, op)
        res = MaxPool2dOp.apply(x, geom, return_indices)
    else:
        res = AdaptiveMaxPool2dOp.apply(x, size2, return_indices)
    if return_indices:
        return _finish(res[0], nd, unb), _finish(res[1], nd, unb)
    return _finish(res, nd, unb)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 2-D max pooling. Shape: (N, C, H, W) -> (N, C, *output_size)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 1-D max pooling. Shape: (N, C, L) -> (N, C, output_size)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)
