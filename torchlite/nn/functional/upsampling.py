"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, trilinear, area) of 3-D, 4-D
and 5-D input, pixel_shuffle, pixel_unshuffle.

Every mode but 'area' is separable: along each spatial axis the output is a fixed linear map of
the input. Nearest is a gather along the axis (its gradient a one-hot matrix product); linear
modes multiply by an (out, in) interpolation matrix with two non-zeros per row, so forward and
backward are plain matrix products. Source coordinates follow PyTorch's formulas exactly
(including its float32 scale for nearest). uint8 images resize bilinearly as PyTorch's CPU
kernel does: in fixed point, along W and then along H, rounding to uint8 after each pass.
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import get_xp
from ...ops.pad import PadIndex
from ...tensor import Tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from .pooling3d import adaptive_avg_pool3d

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")
_AREA = {1: adaptive_avg_pool1d, 2: adaptive_avg_pool2d, 3: adaptive_avg_pool3d}


def _nearest_index(n_in, n_out, scale, exact):
    """PyTorch's nearest source index: floor(dst * scale) (or (dst + 0.5) * scale), in float32."""
    s = np.float32(1.0 / scale) if scale is not None else np.float32(n_in) / np.float32(n_out)
    dst = np.arange(n_out, dtype=np.float32)
    if exact:
        dst = dst + np.float32(0.5)
    return np.minimum(np.floor(dst * s).astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners):
    """(n_out, n_in) matrix of PyTorch's linear interpolation weights along one axis."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        s = 1.0 / scale if scale is not None else n_in / n_out
        src = np.maximum(s * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    m[rows, i0] = 1.0 - lam
    m[rows, i1] += lam  # one entry per row in each statement, so fancy += is exact
    return m


def _fixed_point_pass(xp, a, m, axis):
    """One separable pass of PyTorch's uint8 resize: weights in fixed point with as many
    fraction bits as keep the largest one below 2**15, the sum rounded and clamped to uint8."""
    bits = 0
    while bits < 22 and int(0.5 + m.max() * (1 << (bits + 1))) < (1 << 15):
        bits += 1
    w = np.floor(0.5 + m * (1 << bits)).astype(np.int64)
    moved = xp.moveaxis(a.astype(np.int64), axis, -1)
    r = (moved @ xp.asarray(w.T) + (1 << (bits - 1))) >> bits
    return xp.moveaxis(xp.clip(r, 0, 255).astype(np.uint8), -1, axis)


def _sizes(input, size, scale_factor, nd, recompute):
    spatial = tuple(input.shape[-nd:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        out = tuple(size) if isinstance(size, (tuple, list)) else (size,) * nd
        if len(out) != nd:
            raise ValueError(f"interpolate: size {size!r} does not match the {nd} spatial "
                             f"dimensions of input of shape {tuple(input.shape)}")
        return tuple(int(o) for o in out), (None,) * nd
    sf = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
    if len(sf) != nd:
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} does not match the {nd} "
                         f"spatial dimensions of input of shape {tuple(input.shape)}")
    out = tuple(int(math.floor(n * float(f))) for n, f in zip(spatial, sf))
    scales = (None,) * nd if recompute else tuple(float(f) for f in sf)
    return out, scales


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as
    F.interpolate in PyTorch.

    Shape: (N, C, *spatial) -> (N, C, *size), size = floor(spatial * scale_factor) when given a
    scale. Modes: 'nearest', 'nearest-exact', 'linear' (3-D), 'bilinear' (4-D, uint8 too),
    'trilinear' (5-D), 'area'.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: expected a Tensor input, got {type(input).__name__}")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (supported: "
                                  f"{', '.join(_MODES)})")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"interpolate: expected 3-D, 4-D or 5-D input, got shape "
                                  f"{tuple(input.shape)}")
    if mode in _LINEAR:
        if _LINEAR[mode] != nd:
            raise NotImplementedError(f"interpolate: mode {mode!r} needs {_LINEAR[mode] + 2}-D "
                                      f"input, got {nd + 2}-D")
        align_corners = bool(align_corners)
    elif align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    out_size, scales = _sizes(input, size, scale_factor, nd, recompute_scale_factor)
    if min(out_size) <= 0:
        raise ValueError(f"interpolate: output size {out_size} must be positive")
    if mode == "area":
        return _AREA[nd](input, out_size)
    xp = get_xp(input._data)
    if mode in _LINEAR and input._data.dtype.kind in "biu":
        if mode != "bilinear" or input._data.dtype != np.uint8:
            from ...ops.exceptions import DtypeNotImplementedError

            raise DtypeNotImplementedError(f"interpolate: mode {mode!r} is not implemented for "
                                           f"{input.dtype} input (bilinear takes uint8)")
        a = input._data
        for axis in (-1, -2):
            n_in, n_out = a.shape[axis], out_size[axis]
            a = _fixed_point_pass(xp, a, _linear_matrix(n_in, n_out, scales[axis],
                                                        align_corners), axis)
        return Tensor._make(a, input._device)
    out = input
    for i, (n_out, sc) in enumerate(zip(out_size, scales)):
        axis = input.ndim - nd + i
        n_in = input.shape[axis]
        if mode in ("nearest", "nearest-exact"):
            if n_out != n_in or sc is not None and sc != 1.0:
                idx = _nearest_index(n_in, n_out, sc, mode == "nearest-exact")
                out = PadIndex.apply(out, axis, idx)
            continue
        m = Tensor._make(xp.asarray(_linear_matrix(n_in, n_out, sc, align_corners),
                                    dtype=input._data.dtype), input._device)
        if axis == input.ndim - 1:
            out = out.matmul(m.t())
        elif axis == input.ndim - 2:
            out = m.matmul(out)
        else:
            out = out.movedim(axis, -1).matmul(m.t()).movedim(-1, axis)
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (as in PyTorch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r), as torch.nn.functional.pixel_shuffle."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W), the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height {h} and width {w} to be divisible by "
                           f"downscale_factor {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with C = g * k -> the channels regrouped as k groups of g (ShuffleNet's shuffle),
    as torch.nn.functional.channel_shuffle."""
    g = int(groups)
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if g <= 0 or input.shape[1] % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got "
                           f"{input.shape[1]} channels and {g} groups.")
    n, c, *rest = input.shape
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)
