"""Observers, as PyTorch's: modules that watch the values flowing through them and turn the range
they saw into a scale and zero point (`calculate_qparams`).

The qparams arithmetic is PyTorch's, in float32: affine `scale = (max(max, 0) - min(min, 0)) /
(quant_max - quant_min)` (at least float32 eps), `zero_point = quant_min - round(min / scale)`;
symmetric `scale = max(-min, max) / ((quant_max - quant_min) / 2)`, zero point 0 (128 for quint8).
"""

from __future__ import annotations

import math
import warnings
from functools import partial

import numpy as np

from ... import backend
from ...backend import qint8, qint32, quint8
from ...nn.module import Module
from ...tensor import Tensor
from .qtensor import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
)

_EPS = np.float32(np.finfo(np.float32).eps)
_SYMMETRIC = (per_tensor_symmetric, per_channel_symmetric)


def _with_args(cls, **kwargs):
    """cls.with_args(...): a factory that builds the observer with these arguments."""
    return partial(cls, **kwargs)


def _buffer(values, dtype=np.float32) -> Tensor:
    return Tensor._make(np.asarray(values, dtype=dtype), backend.CPU)


def _host(t: Tensor) -> np.ndarray:
    return backend.to_host(t._data)


class ObserverBase(Module):
    """Base of observers: `forward(x)` records and returns x; `calculate_qparams()`."""

    with_args = classmethod(_with_args)

    def __init__(self, dtype=quint8, is_dynamic: bool = False) -> None:
        super().__init__()
        self.dtype = backend.to_dtype(dtype)
        self.is_dynamic = is_dynamic

    def calculate_qparams(self):
        raise NotImplementedError


class UniformQuantizationObserverBase(ObserverBase):
    """The qparams arithmetic shared by the min/max and histogram observers."""

    def __init__(self, dtype=quint8, qscheme=per_tensor_affine, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None,
                 factory_kwargs=None, eps: float = float(_EPS), is_dynamic: bool = False,
                 **kwargs) -> None:
        super().__init__(dtype, is_dynamic)
        self.qscheme = qscheme
        self.reduce_range = reduce_range
        self.eps = np.float32(eps)
        if self.qscheme not in (per_tensor_affine, per_tensor_symmetric, per_channel_affine,
                                per_channel_symmetric, per_channel_affine_float_qparams):
            raise AssertionError("Default Observer only works for per_tensor_affine, "
                                 "per_tensor_symmetric, per_channel_affine, "
                                 "per_channel_symmetric and per_channel_float_qparams "
                                 "quantization scheme")
        if self.dtype not in (qint8, quint8, qint32, backend.int8, backend.uint8,
                              backend.int32):
            raise AssertionError(f"Default Observer only works for qint8, quint8 and quint4x2 "
                                 f"data type, got {self.dtype}")
        self.has_customized_qrange = quant_min is not None and quant_max is not None
        if self.has_customized_qrange:
            if not quant_min <= 0 <= quant_max:
                raise ValueError("Used-specified quantization range must include 0.")
            if quant_min >= quant_max:
                raise ValueError("qmin must be strictly less than qmax for user-specified "
                                 "quantization range.")
        self.quant_min, self.quant_max = self._qrange(quant_min, quant_max)

    def _qrange(self, quant_min, quant_max) -> tuple[int, int]:
        if self.has_customized_qrange:  # PyTorch halves a custom range too with reduce_range
            if self.reduce_range:
                return int(quant_min) // 2, int(quant_max) // 2
            return int(quant_min), int(quant_max)
        signed = self.dtype in (qint8, backend.int8)
        if self.dtype in (qint32, backend.int32):
            return -(2 ** 31), 2 ** 31 - 1
        if self.reduce_range:
            return (-64, 63) if signed else (0, 127)
        return (-128, 127) if signed else (0, 255)

    def _calculate_qparams(self, min_val: np.ndarray, max_val: np.ndarray):
        """float32 scale and int64 zero point arrays (1 element per tensor, per channel)."""
        min_val = np.asarray(min_val, np.float32)
        max_val = np.asarray(max_val, np.float32)
        if min_val.size == 0 or not (np.all(np.isfinite(min_val))
                                     and np.all(np.isfinite(max_val))):
            warnings.warn("must run observer before calling calculate_qparams. Returning "
                          "default values.", stacklevel=3)
            return _buffer([1.0]), _buffer([0], np.int64)
        if np.any(min_val > max_val):
            raise AssertionError(f"min {min_val} should be less than max {max_val}")
        qmin, qmax = self.quant_min, self.quant_max
        min_neg = np.minimum(min_val, np.float32(0))
        max_pos = np.maximum(max_val, np.float32(0))
        zero_point = np.zeros(min_neg.shape, np.int64)
        if self.qscheme in _SYMMETRIC:
            max_pos = np.maximum(-min_neg, max_pos)
            scale = max_pos / np.float32((qmax - qmin) / 2)
            scale = np.maximum(scale, self.eps)
            if self.dtype in (quint8, backend.uint8):
                zero_point[...] = (qmin + qmax) // 2 if self.has_customized_qrange else 128
        elif self.qscheme is per_channel_affine_float_qparams:
            scale = (max_val - min_val) / np.float32(qmax - qmin)
            scale = np.where(scale > self.eps, scale, np.float32(1)).astype(np.float32)
            zero_point = -1 * min_val / scale  # float zero points, as PyTorch
        else:
            scale = (max_pos - min_neg) / np.float32(qmax - qmin)
            scale = np.maximum(scale, self.eps)
            zero_point = qmin - np.rint(min_neg / scale).astype(np.int64)
            zero_point = np.clip(zero_point, qmin, qmax)
        if scale.ndim == 0:
            scale, zero_point = scale.reshape(1), np.asarray(zero_point).reshape(1)
        return _buffer(scale), _buffer(zero_point, zero_point.dtype)


class MinMaxObserver(UniformQuantizationObserverBase):
    """Running minimum and maximum of everything observed."""

    def __init__(self, dtype=quint8, qscheme=per_tensor_affine, reduce_range: bool = False,
                 quant_min=None, quant_max=None, factory_kwargs=None, eps: float = float(_EPS),
                 is_dynamic: bool = False, **kwargs) -> None:
        if qscheme is per_tensor_symmetric and reduce_range and \
                backend.to_dtype(dtype) is quint8:
            raise NotImplementedError("Cannot reduce range for symmetric quantization for "
                                      "quint8")
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, factory_kwargs,
                         eps, is_dynamic, **kwargs)
        self.register_buffer("min_val", _buffer(np.inf))
        self.register_buffer("max_val", _buffer(-np.inf))

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = backend.to_host(x_orig.detach()._data)
        lo, hi = np.float32(x.min()), np.float32(x.max())
        self._update(lo, hi)
        return x_orig

    def _update(self, lo, hi) -> None:
        self.min_val._data[...] = min(np.float32(self.min_val._data), lo)
        self.max_val._data[...] = max(np.float32(self.max_val._data), hi)

    def calculate_qparams(self):
        return self._calculate_qparams(_host(self.min_val), _host(self.max_val))

    def extra_repr(self) -> str:
        return f"min_val={float(self.min_val._data)}, max_val={float(self.max_val._data)}"

    def reset_min_max_vals(self) -> None:
        self.min_val._data[...] = np.inf
        self.max_val._data[...] = -np.inf


class MovingAverageMinMaxObserver(MinMaxObserver):
    """Exponential moving averages of each batch's minimum and maximum."""

    def __init__(self, averaging_constant: float = 0.01, dtype=quint8,
                 qscheme=per_tensor_affine, reduce_range: bool = False, quant_min=None,
                 quant_max=None, eps: float = float(_EPS), is_dynamic: bool = False,
                 **kwargs) -> None:
        self.averaging_constant = averaging_constant
        super().__init__(dtype=dtype, qscheme=qscheme, reduce_range=reduce_range,
                         quant_min=quant_min, quant_max=quant_max, eps=eps,
                         is_dynamic=is_dynamic, **kwargs)

    def _update(self, lo, hi) -> None:
        cur_lo, cur_hi = np.float32(self.min_val._data), np.float32(self.max_val._data)
        if cur_lo == np.inf and cur_hi == -np.inf:
            self.min_val._data[...], self.max_val._data[...] = lo, hi
            return
        c = np.float32(self.averaging_constant)
        self.min_val._data[...] = cur_lo + c * (lo - cur_lo)
        self.max_val._data[...] = cur_hi + c * (hi - cur_hi)


class PerChannelMinMaxObserver(UniformQuantizationObserverBase):
    """Running minimum and maximum of each channel along `ch_axis`."""

    def __init__(self, ch_axis: int = 0, dtype=quint8, qscheme=per_channel_affine,
                 reduce_range: bool = False, quant_min=None, quant_max=None,
                 factory_kwargs=None, eps: float = float(_EPS), is_dynamic: bool = False,
                 **kwargs) -> None:
        if qscheme not in (per_channel_affine, per_channel_symmetric,
                           per_channel_affine_float_qparams):
            raise NotImplementedError("PerChannelMinMaxObserver needs a per-channel qscheme, "
                                      f"got {qscheme}")
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, factory_kwargs,
                         eps, is_dynamic, **kwargs)
        self.ch_axis = ch_axis
        self.register_buffer("min_val", _buffer(np.zeros(0)))
        self.register_buffer("max_val", _buffer(np.zeros(0)))

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = backend.to_host(x_orig.detach()._data)
        y = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        lo, hi = y.min(axis=1).astype(np.float32), y.max(axis=1).astype(np.float32)
        self._update(lo, hi)
        return x_orig

    def _update(self, lo, hi) -> None:
        if self.min_val._data.size == 0:
            self.min_val._data, self.max_val._data = lo, hi
        else:
            self.min_val._data = np.minimum(self.min_val._data, lo)
            self.max_val._data = np.maximum(self.max_val._data, hi)

    def calculate_qparams(self):
        return self._calculate_qparams(_host(self.min_val), _host(self.max_val))

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # the buffers start empty: take the stored channel count rather than refuse its shape
        for name in ("min_val", "max_val"):
            if prefix + name in state_dict:
                v = state_dict[prefix + name]
                getattr(self, name)._data = np.array(
                    backend.to_host(v._data if isinstance(v, Tensor) else v), np.float32)
        rest = {k: v for k, v in state_dict.items()
                if k not in (prefix + "min_val", prefix + "max_val")}
        super()._load_from_state_dict(rest, prefix, local_metadata, False, [], unexpected_keys,
                                      error_msgs)


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel exponential moving averages of each batch's minimum and maximum."""

    def __init__(self, averaging_constant: float = 0.01, ch_axis: int = 0, dtype=quint8,
                 qscheme=per_channel_affine, reduce_range: bool = False, quant_min=None,
                 quant_max=None, eps: float = float(_EPS), is_dynamic: bool = False,
                 **kwargs) -> None:
        self.averaging_constant = averaging_constant
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme,
                         reduce_range=reduce_range, quant_min=quant_min, quant_max=quant_max,
                         eps=eps, is_dynamic=is_dynamic, **kwargs)

    def _update(self, lo, hi) -> None:
        if self.min_val._data.size == 0:
            self.min_val._data, self.max_val._data = lo, hi
            return
        c = np.float32(self.averaging_constant)
        self.min_val._data = self.min_val._data + c * (lo - self.min_val._data)
        self.max_val._data = self.max_val._data + c * (hi - self.max_val._data)


class HistogramObserver(UniformQuantizationObserverBase):
    """A histogram of the values seen; qparams from the range that minimises the L2 error of
    quantizing that histogram (PyTorch's greedy search, shrinking the lighter tail first).

    The histogram grows its range when later batches fall outside it, spreading each old bin's
    count over the new bins it overlaps (PyTorch upsamples instead: ranges from several batches
    can differ slightly from PyTorch's; one batch gives PyTorch's).
    """

    def __init__(self, bins: int = 2048, dtype=quint8, qscheme=per_tensor_affine,
                 reduce_range: bool = False, quant_min=None, quant_max=None,
                 factory_kwargs=None, eps: float = float(_EPS), is_dynamic: bool = False,
                 **kwargs) -> None:
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, factory_kwargs,
                         eps, is_dynamic, **kwargs)
        self.bins = bins
        self.register_buffer("histogram", _buffer(np.zeros(bins)))
        self.register_buffer("min_val", _buffer(np.inf))
        self.register_buffer("max_val", _buffer(-np.inf))
        self.dst_nbins = 2 ** (8 if self.dtype.itemsize == 1 else 32)
        self.upsample_rate = 16

    def forward(self, x_orig: Tensor) -> Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = backend.to_host(x_orig.detach()._data).astype(np.float32).ravel()
        lo, hi = np.float32(x.min()), np.float32(x.max())
        old_lo, old_hi = np.float32(self.min_val._data), np.float32(self.max_val._data)
        if not math.isfinite(old_lo):
            self.min_val._data[...], self.max_val._data[...] = lo, hi
            self.histogram._data = self._histc(x, lo, hi)
            return x_orig
        new_lo, new_hi = min(lo, old_lo), max(hi, old_hi)
        hist = self.histogram._data
        if new_lo < old_lo or new_hi > old_hi:
            hist = self._rebin(hist, old_lo, old_hi, new_lo, new_hi)
        self.min_val._data[...], self.max_val._data[...] = new_lo, new_hi
        self.histogram._data = hist + self._histc(x, new_lo, new_hi)
        return x_orig

    def _histc(self, x, lo, hi) -> np.ndarray:
        """torch.histc: equal bins over [lo, hi], the top edge in the last bin."""
        if hi == lo:
            h = np.zeros(self.bins, np.float32)
            h[0] = x.size
            return h
        idx = ((x - lo) * np.float32(self.bins / (hi - lo))).astype(np.int64)
        idx = np.clip(idx, 0, self.bins - 1)
        return np.bincount(idx, minlength=self.bins).astype(np.float32)

    def _rebin(self, hist, old_lo, old_hi, new_lo, new_hi) -> np.ndarray:
        """The counts of `hist` over [old_lo, old_hi] spread over `bins` bins of the wider
        range, each old bin's count shared by overlap (the cumulative count interpolated)."""
        old_edges = np.linspace(float(old_lo), float(old_hi), self.bins + 1)
        new_edges = np.linspace(float(new_lo), float(new_hi), self.bins + 1)
        cum = np.concatenate([[0.0], np.cumsum(hist, dtype=np.float64)])
        at_new = np.interp(new_edges, old_edges, cum)
        return np.diff(at_new).astype(np.float32)

    def _get_norm(self, delta_begin, delta_end, density):
        return density * (delta_end ** 3 - delta_begin ** 3) / 3

    def _compute_quantization_error(self, start: int, end: int) -> float:
        lo, hi = float(self.min_val._data), float(self.max_val._data)
        bin_width = (hi - lo) / self.bins
        dst_width = bin_width * (end - start + 1) / self.dst_nbins
        if dst_width == 0.0:
            return 0.0
        src = np.arange(self.bins, dtype=np.float64)
        src_begin = (src - start) * bin_width
        src_end = src_begin + bin_width
        dst_begin = np.clip(np.floor(src_begin / dst_width), 0, self.dst_nbins - 1)
        dst_end = np.clip(np.floor(src_end / dst_width), 0, self.dst_nbins - 1)
        density = self.histogram._data.astype(np.float64) / bin_width
        norm = self._get_norm(src_begin - (dst_begin + 0.5) * dst_width, dst_width / 2, density)
        norm += (dst_end - dst_begin - 1) * self._get_norm(-dst_width / 2, dst_width / 2,
                                                           density)
        norm += self._get_norm(-dst_width / 2, src_end - (dst_end * dst_width + dst_width / 2),
                               density)
        return float(norm.sum())

    def _non_linear_param_search(self) -> tuple[float, float]:
        lo, hi = float(self.min_val._data), float(self.max_val._data)
        bin_width = (hi - lo) / self.bins
        hist = self.histogram._data.astype(np.float64)
        total = float(hist.sum())
        csum = np.cumsum(hist)
        step = 1e-5
        alpha, beta = 0.0, 1.0
        start, end = 0, self.bins - 1
        norm_min = math.inf
        while alpha < beta:
            next_alpha, next_beta = alpha + step, beta - step
            left, right = start, end
            while left < end and csum[left] <= next_alpha * total:
                left += 1
            while right > start and csum[right] >= next_beta * total:
                right -= 1
            next_start, next_end = start, end
            if (left - start) > (end - right):
                next_start, alpha = left, next_alpha
            else:
                next_end, beta = right, next_beta
            if next_start == start and next_end == end:
                continue
            norm = self._compute_quantization_error(next_start, next_end)
            if norm > norm_min:
                break
            norm_min, start, end = norm, next_start, next_end
        return lo + bin_width * start, lo + bin_width * (end + 1)

    def calculate_qparams(self):
        lo, hi = np.float32(self.min_val._data), np.float32(self.max_val._data)
        if not math.isfinite(lo):
            return self._calculate_qparams(np.float32(np.inf), np.float32(-np.inf))
        if lo == hi:
            return self._calculate_qparams(lo, hi)
        new_lo, new_hi = self._non_linear_param_search()
        return self._calculate_qparams(np.float32(new_lo), np.float32(new_hi))


class PlaceholderObserver(ObserverBase):
    """Observes nothing; carries the dtype (float32 activations of dynamic quantization)."""

    def __init__(self, dtype=backend.float32, custom_op_name: str = "", compute_dtype=None,
                 quant_min=None, quant_max=None, qscheme=None, eps=None,
                 is_dynamic: bool = False) -> None:
        super().__init__(dtype, is_dynamic)
        self.qscheme = qscheme if qscheme is not None else per_tensor_affine
        self.quant_min, self.quant_max = quant_min, quant_max

    def forward(self, x: Tensor) -> Tensor:
        return x

    def calculate_qparams(self):
        raise Exception("calculate_qparams should not be called for PlaceholderObserver")


class NoopObserver(PlaceholderObserver):
    """Observes nothing (weights kept in float16 and the like)."""


default_observer = MinMaxObserver.with_args(quant_min=0, quant_max=127)
default_weight_observer = MinMaxObserver.with_args(dtype=qint8, qscheme=per_tensor_symmetric)
default_histogram_observer = HistogramObserver.with_args(quant_min=0, quant_max=127)
default_per_channel_weight_observer = PerChannelMinMaxObserver.with_args(
    dtype=qint8, qscheme=per_channel_symmetric)
default_dynamic_quant_observer = PlaceholderObserver.with_args(
    dtype=quint8, quant_min=0, quant_max=255, is_dynamic=True)
default_placeholder_observer = PlaceholderObserver
per_channel_weight_observer_range_neg_127_to_127 = PerChannelMinMaxObserver.with_args(
    dtype=qint8, qscheme=per_channel_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
weight_observer_range_neg_127_to_127 = MinMaxObserver.with_args(
    dtype=qint8, qscheme=per_tensor_symmetric, quant_min=-127, quant_max=127, eps=2 ** -12)
