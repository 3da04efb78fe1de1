"""3-D pooling (max, avg, adaptive avg/max), power-average pooling (lp_pool1d/2d/3d) and
max_unpool1d/2d/3d.

The 3-D windowed pools lay windows over the padded input with Tensor.unfold along D, H and W
(strided views, no copy) and reduce the window axis, so forward and gradient are those of
unfold and max/mean. Max indices are flat positions in each input D*H*W volume, as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from ...backend import get_xp
from ...ops.elementwise import mul, pow
from ...ops.pad import pad as _pad
from ...ops.unary import abs as _abs
from ...ops.unary import relu, sign
from ...tensor import Tensor
from .pooling import (
    _adaptive_matrix,
    _bounds,
    _out_len,
    _out_size,
    _prep,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)


def _windows(x: Tensor, k, s, p, d, ceil_mode, fill, op):
    """(N, C, Do, Ho, Wo, kD*kH*kW) windows of x (N, C, D, H, W) padded with `fill`; also the
    output sizes."""
    sizes = tuple(_out_len(n, ki, si, pi, di, ceil_mode, op)
                  for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d))
    pads = []
    for n, no, ki, si, pi, di in zip(x.shape[2:], sizes, k, s, p, d):
        need = (no - 1) * si + di * (ki - 1) + 1  # the padded length the windows read
        pads.append((pi, max(need - n - pi, 0)))
    flat = [v for pair in reversed(pads) for v in pair]
    if any(flat):
        x = _pad(x, tuple(flat), value=fill)
    for axis, (no, ki, si, di) in enumerate(zip(sizes, k, s, d), 2):
        x = x.unfold(axis, di * (ki - 1) + 1, si).narrow(axis, 0, no)
        if di > 1:
            x = x[..., ::di]
    n, c = x.shape[:2]
    return x.reshape(n, c, *sizes, -1), sizes


def _fill(dtype):
    kind = np.dtype(dtype).kind
    return -np.inf if kind in "fV" else np.iinfo(dtype).min


def _window_indices(arg, sizes, shape, k, s, p, d):
    """Flat D*H*W input positions of the window elements `arg` (indices into each window)."""
    xp = get_xp(arg)
    kd, kh, kw = k
    pos = [arg // (kh * kw), (arg // kw) % kh, arg % kw]
    flat = None
    for axis in range(3):
        view = [1] * arg.ndim
        view[2 + axis] = sizes[axis]
        start = (xp.arange(sizes[axis], dtype=np.int64) * s[axis] - p[axis]).reshape(view)
        coord = start + pos[axis] * d[axis]
        flat = coord if flat is None else flat * shape[axis] + coord
    return flat


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling, as torch.nn.functional.max_pool3d.

    Shape: (N, C, D, H, W) or (C, D, H, W) -> (N, C, D_out, H_out, W_out), D_out =
    (D + 2*padding - dilation*(k-1) - 1) // stride + 1 (ceil with ceil_mode). Indices are flat
    positions in each D*H*W input volume.
    """
    x, k, s, p, d, unb = _prep("max_pool3d", input, 3, kernel_size, stride, padding, dilation)
    win, sizes = _windows(x, k, s, p, d, ceil_mode, _fill(x._data.dtype), "max_pool3d")
    values, arg = win.max(-1)
    if unb:
        values = values.squeeze(0)
    if not return_indices:
        return values
    idx = _window_indices(arg._data, sizes, x.shape[2:], k, s, p, d)
    idx = Tensor._make(idx[0] if unb else idx, x._device)
    return values, idx


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-D average pooling, as torch.nn.functional.avg_pool3d. Shape: as max_pool3d."""
    x, k, s, p, d, unb = _prep("avg_pool3d", input, 3, kernel_size, stride, padding, 1)
    win, sizes = _windows(x, k, s, p, d, ceil_mode, 0, "avg_pool3d")
    total = win.sum(-1)
    if divisor_override:
        out = total / float(divisor_override)
    else:
        per_axis = []
        for n, no, ki, si, pi in zip(x.shape[2:], sizes, k, s, p):
            start = np.arange(no) * si - pi
            end = np.minimum(start + ki, n + pi)
            per_axis.append(end - start if count_include_pad
                            else np.minimum(end, n) - np.maximum(start, 0))
        div = np.einsum("i,j,k->ijk", *per_axis)
        xp = get_xp(x._data)
        out = total / Tensor._make(xp.asarray(div, dtype=total._data.dtype), x._device)
    return out.squeeze(0) if unb else out


def _check_adaptive(op, input, output_size):
    if input.ndim not in (4, 5):
        raise RuntimeError(f"{op}: expected 4-D or 5-D input, got shape {tuple(input.shape)}")
    out_size = _out_size(output_size, input.shape, 3, op)
    if min(out_size) < 1:
        raise RuntimeError(f"{op}: output size {out_size} must be positive")
    return out_size


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Adaptive 3-D average pooling. Shape: (N, C, D, H, W) -> (N, C, *output_size); a None
    entry keeps that input size."""
    out_size = _check_adaptive("adaptive_avg_pool3d", input, output_size)
    xp, dt = get_xp(input._data), input._data.dtype
    out = input
    for axis, n_out in zip((-3, -2, -1), out_size):  # separable: one matrix product per axis
        n_in = input.shape[axis]
        m = Tensor._make(xp.asarray(_adaptive_matrix(n_in, n_out), dtype=dt), input._device)
        out = out.movedim(axis, -1).matmul(m.t()).movedim(-1, axis)
    return out


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 3-D max pooling. Shape: (N, C, D, H, W) -> (N, C, *output_size); indices are
    flat positions in each D*H*W input volume; the gradient goes to them, as PyTorch."""
    out_size = _check_adaptive("adaptive_max_pool3d", input, output_size)
    unb = input.ndim == 4
    x = input.unsqueeze(0) if unb else input
    n, c, *spatial = x.shape
    data = x._data
    xp = get_xp(data)
    bounds = [_bounds(ni, no) for ni, no in zip(spatial, out_size)]
    idx = xp.zeros((n, c, *out_size), dtype=np.int64)
    for i, (d0, d1) in enumerate(zip(*bounds[0])):  # one argmax per output cell
        for j, (h0, h1) in enumerate(zip(*bounds[1])):
            for k, (w0, w1) in enumerate(zip(*bounds[2])):
                region = data[:, :, d0:d1, h0:h1, w0:w1].reshape(n, c, -1)
                a = region.argmax(-1)  # a NaN wins (NumPy's argmax stops at the first one)
                rd, rest = a // ((h1 - h0) * (w1 - w0)), a % ((h1 - h0) * (w1 - w0))
                rh, rw = rest // (w1 - w0), rest % (w1 - w0)
                idx[:, :, i, j, k] = ((d0 + rd) * spatial[1] + h0 + rh) * spatial[2] + w0 + rw
    index = Tensor._make(idx, x._device)
    values = x.flatten(2).gather(2, index.flatten(2)).reshape(n, c, *out_size)
    if unb:
        values, index = values.squeeze(0), index.squeeze(0)
    return (values, index) if return_indices else values


def _lp_pool(avg, nd, input, norm_type, kernel_size, stride, ceil_mode):
    k = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * nd
    count = int(np.prod(k))
    out = avg(pow(input, norm_type), kernel_size, stride, 0, ceil_mode)
    return pow(mul(mul(sign(out), relu(_abs(out))), count), 1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: (sum over the window of x**p)**(1/p). Shape: as avg_pool1d."""
    return _lp_pool(avg_pool1d, 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average 2-D pooling (see lp_pool1d). Shape: as avg_pool2d."""
    return _lp_pool(avg_pool2d, 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average 3-D pooling (see lp_pool1d). Shape: as avg_pool3d."""
    return _lp_pool(avg_pool3d, 3, input, norm_type, kernel_size, stride, ceil_mode)


def _max_unpool(op, nd, input, indices, kernel_size, stride, padding, output_size):
    if not isinstance(input, Tensor) or not isinstance(indices, Tensor):
        raise TypeError(f"{op}: expected Tensor input and indices")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: Expected shape of indices to be same as that of the input "
                           f"tensor ({tuple(input.shape)}) but got indices tensor with shape: "
                           f"{tuple(indices.shape)}")

    def tup(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd

    k = tup(kernel_size)
    s = k if stride is None else tup(stride)
    p = tup(padding)
    spatial = tuple(input.shape[-nd:])
    if output_size is None:
        out_sp = tuple((n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(spatial, s, p, k))
    else:
        out_sp = tuple(int(v) for v in tuple(output_size)[-nd:])
    unb = input.ndim == nd + 1
    x, i = (input.unsqueeze(0), indices.unsqueeze(0)) if unb else (input, indices)
    n, c = x.shape[:2]
    total = int(np.prod(out_sp))
    flat_i = i.reshape(n, c, -1)
    if flat_i.numel() and get_xp(flat_i._data) is np and (
            int(flat_i._data.max()) >= total or int(flat_i._data.min()) < 0):
        raise RuntimeError(f"{op}: Found an invalid max index (output volumes are of size "
                           f"{'x'.join(str(v) for v in out_sp)})")
    out = x.new_zeros((n, c, total)).scatter(2, flat_i, x.reshape(n, c, -1))
    out = out.reshape(n, c, *out_sp)
    return out.squeeze(0) if unb else out


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool1d: each value goes back to its index, zeros elsewhere.
    Shape: (N, C, L) -> (N, C, (L-1)*stride - 2*padding + kernel_size) or output_size."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool2d (see max_unpool1d). Shape: (N, C, H, W) -> (N, C,
    H_out, W_out)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool3d (see max_unpool1d). Shape: (N, C, D, H, W) -> (N, C,
    D_out, H_out, W_out)."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)



# PyTorch's *_with_indices forms: the max pools with return_indices=True


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """max_pool1d returning (values, indices)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """max_pool2d returning (values, indices)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    """max_pool3d returning (values, indices)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """adaptive_max_pool1d returning (values, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """adaptive_max_pool2d returning (values, indices)."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """adaptive_max_pool3d returning (values, indices)."""
    return adaptive_max_pool3d(input, output_size, True)
