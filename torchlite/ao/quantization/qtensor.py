"""Quantized tensors, as PyTorch's: an integer array plus the affine map back to real numbers.

`real = (q - zero_point) * scale`, per tensor or per channel along one axis. Quantizing rounds
half to even and saturates at the dtype's range, with PyTorch's float32 arithmetic
(`q = clamp(rint(x * (1 / scale) + zero_point))`), so `int_repr()` equals PyTorch's bit for bit.

A QTensor is a Tensor subclass, so shape queries, indexing and reshaping work; arithmetic on it
is not defined (as in PyTorch): dequantize first, or use the quantized modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import backend
from ...backend import qint8, qint32, quint8
from ...tensor import Tensor


class qscheme:
    """A quantization scheme, as `torch.per_tensor_affine`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"  # as PyTorch prints it

    def __reduce__(self):
        return (_qscheme_by_name, (self.name,))


per_tensor_affine = qscheme("per_tensor_affine")
per_channel_affine = qscheme("per_channel_affine")
per_tensor_symmetric = qscheme("per_tensor_symmetric")
per_channel_symmetric = qscheme("per_channel_symmetric")
per_channel_affine_float_qparams = qscheme("per_channel_affine_float_qparams")
_SCHEMES = {s.name: s for s in (per_tensor_affine, per_channel_affine, per_tensor_symmetric,
                                per_channel_symmetric, per_channel_affine_float_qparams)}


def _qscheme_by_name(name: str) -> qscheme:
    return _SCHEMES[name]


QRANGE = {qint8: (-128, 127), quint8: (0, 255), qint32: (-(2 ** 31), 2 ** 31 - 1)}


def _qdtype(dtype) -> backend.dtype:
    d = backend.to_dtype(dtype)
    if d not in QRANGE:
        raise RuntimeError(f"quantize: expected a quantized dtype (torchlite.qint8, quint8 or "
                           f"qint32), got {d}")
    return d


def quantize_array(xp, x, inv_scale, zero_point, dtype: backend.dtype):
    """The integer array of float array `x`: rint(x * inv_scale + zero_point), saturated.

    inv_scale and zero_point are float32 scalars or arrays broadcasting against x. This is
    PyTorch's order of float32 operations (a multiply by the reciprocal, then the offset).
    """
    lo, hi = QRANGE[dtype]
    t = xp.rint(x.astype(np.float32, copy=False) * inv_scale + zero_point)
    if dtype is qint32:  # float32 cannot hold 2**31 - 1: saturate in float64
        t = t.astype(np.float64)
    return xp.clip(t, lo, hi).astype(dtype.np)


class QTensor(Tensor):
    """A quantized tensor, as PyTorch's: `int_repr()` the integers, `dequantize()` the reals.

    Per-tensor: `q_scale()`, `q_zero_point()`; per-channel: `q_per_channel_scales()`,
    `q_per_channel_zero_points()`, `q_per_channel_axis()`.
    """

    is_quantized = True

    @classmethod
    def _wrap(cls, arr, dev, dtype: backend.dtype, scheme: qscheme, scale, zero_point,
              axis: int | None = None) -> QTensor:
        """A QTensor over integer array `arr`. Per tensor, scale/zero_point are a Python float
        and int; per channel, float64 and int64 arrays on arr's device, with `axis`."""
        t = object.__new__(cls)
        t._init(arr, dev)
        t._qdtype, t._qscheme, t._axis = dtype, scheme, axis
        t._scale, t._zero_point = scale, zero_point
        return t

    def _like(self, arr) -> QTensor:
        return QTensor._wrap(arr, self._device, self._qdtype, self._qscheme, self._scale,
                             self._zero_point, self._axis)

    @property
    def dtype(self) -> backend.dtype:
        return self._qdtype

    def qscheme(self) -> qscheme:
        return self._qscheme

    def _per_tensor(self, what: str) -> None:
        if self._axis is not None:
            raise RuntimeError(f"{what}: expected a per-tensor quantized tensor, got "
                               f"{self._qscheme}")

    def _per_channel(self, what: str) -> None:
        if self._axis is None:
            raise RuntimeError(f"{what}: expected a per-channel quantized tensor, got "
                               f"{self._qscheme}")

    def q_scale(self) -> float:
        self._per_tensor("q_scale")
        return float(self._scale)

    def q_zero_point(self) -> int:
        self._per_tensor("q_zero_point")
        return int(self._zero_point)

    def q_per_channel_scales(self) -> Tensor:
        self._per_channel("q_per_channel_scales")
        return Tensor._make(self._scale.copy(), self._device)

    def q_per_channel_zero_points(self) -> Tensor:
        self._per_channel("q_per_channel_zero_points")
        return Tensor._make(self._zero_point.copy(), self._device)

    def q_per_channel_axis(self) -> int:
        self._per_channel("q_per_channel_axis")
        return int(self._axis)

    def _channel_shape(self) -> tuple:
        shape = [1] * self._data.ndim
        shape[self._axis] = -1
        return tuple(shape)

    def _float_params(self):
        """scale and zero point as float32, broadcasting against the data."""
        if self._axis is None:
            return np.float32(self._scale), np.float32(self._zero_point)
        shape = self._channel_shape()
        return (self._scale.astype(np.float32).reshape(shape),
                self._zero_point.astype(np.float32).reshape(shape))

    def dequantize(self) -> Tensor:
        """The float32 tensor `(int_repr() - zero_point) * scale`."""
        scale, zp = self._float_params()
        return Tensor._make((self._data.astype(np.float32) - zp) * scale, self._device)

    def int_repr(self) -> Tensor:
        """The stored integers, as a uint8/int8/int32 tensor (a copy)."""
        return Tensor._make(self._data.copy(), self._device)

    # -- what works on quantized tensors as in PyTorch: copies, views, moves ----------------------
    def clone(self, *, memory_format=None) -> QTensor:
        return self._like(self._data.copy())

    def detach(self) -> QTensor:
        return self._like(self._data)

    def contiguous(self, memory_format=None) -> QTensor:
        return self

    def _reshaped(self, shape: tuple, what: str) -> QTensor:
        self._per_tensor(what)
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return self._like(self._data.reshape(shape))

    def view(self, *shape) -> QTensor:
        return self._reshaped(shape, "view")

    def reshape(self, *shape) -> QTensor:
        return self._reshaped(shape, "reshape")

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> QTensor:
        self._per_tensor("flatten")
        s = self._data.shape
        if not s:
            return self._like(self._data.reshape(1))
        a, b = start_dim % len(s), end_dim % len(s)
        return self._like(self._data.reshape(s[:a] + (-1,) + s[b + 1:]))

    def __getitem__(self, item: Any) -> QTensor:
        self._per_tensor("indexing")
        return self._like(self._data[item])

    def to(self, *args: Any, **kwargs: Any) -> QTensor:
        dev = kwargs.get("device", args[0] if args else None)
        if dev is None:
            return self
        dev = backend.to_device(dev)
        out = self._like(backend.move(self._data, dev))
        out._device = dev
        if self._axis is not None:
            out._scale = backend.move(self._scale, dev)
            out._zero_point = backend.move(self._zero_point, dev)
        return out

    def cpu(self) -> QTensor:
        return self.to(backend.CPU)

    def cuda(self, device: Any = None) -> QTensor:
        return self.to(device if device is not None else "cuda")

    def numpy(self, force: bool = False) -> np.ndarray:
        raise TypeError("numpy() of a quantized tensor: use .int_repr().numpy() or "
                        ".dequantize().numpy()")

    def __repr__(self) -> str:
        body = repr(self.dequantize())
        if body.endswith(")"):
            body = body[:-1]
        body = body.split(", dtype=")[0]
        pad = " " * len("tensor(")
        parts = [f"size={tuple(self._data.shape)}, dtype={self._qdtype}",
                 f"quantization_scheme={self._qscheme}"]
        if self._axis is None:
            parts[-1] += f", scale={float(self._scale)}, zero_point={int(self._zero_point)}"
        else:
            scales = Tensor._make(self._scale, self._device)
            zps = Tensor._make(self._zero_point, self._device)
            parts += [f"scale={scales!r}".replace("\n", "\n" + pad),
                      f"zero_point={zps!r}, axis={self._axis}"]
        last = body.rsplit("\n", 1)[-1]
        sep = ", " if len(last) + len(parts[0]) + 2 <= 80 else ",\n" + pad
        return body + sep + (",\n" + pad).join(parts) + ")"

    __str__ = __repr__


def _array_of(x, what: str):
    if isinstance(x, QTensor):
        raise RuntimeError(f"{what}: the input is already quantized")
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise RuntimeError(f"{what}: expected a floating point input, got {x.dtype}")
    return x._data


def _scalar(v, cast, what: str):
    if isinstance(v, Tensor):
        if v.numel() != 1:
            raise RuntimeError(f"{what}: expected one value, got a tensor of shape "
                               f"{list(v.shape)}")
        v = backend.to_host(v._data).reshape(())[()]
    return cast(v)


def quantize_per_tensor(input: Tensor, scale, zero_point, dtype) -> QTensor:
    """Quantize `input` with one scale and zero point: `clamp(rint(x / scale) + zero_point)`.

    Shape: any; the result has the input's shape.
    """
    arr = _array_of(input, "quantize_per_tensor")
    dt = _qdtype(dtype)
    scale = _scalar(scale, float, "quantize_per_tensor: scale")
    zero_point = _scalar(zero_point, int, "quantize_per_tensor: zero_point")
    if not scale > 0 or not np.isfinite(scale):
        raise RuntimeError(f"quantize_per_tensor: scale must be positive and finite, got {scale}")
    lo, hi = QRANGE[dt]
    if not lo <= zero_point <= hi:
        raise RuntimeError(f"quantize_per_tensor: zero_point {zero_point} is outside the range "
                           f"of {dt} [{lo}, {hi}]")
    xp = backend.get_xp(arr)
    inv = np.float32(1.0) / np.float32(scale)
    q = quantize_array(xp, arr, inv, np.float32(zero_point), dt)
    return QTensor._wrap(q, input.device, dt, per_tensor_affine, scale, zero_point)


def quantize_per_channel(input: Tensor, scales, zero_points, axis: int, dtype) -> QTensor:
    """Quantize `input` with one scale and zero point per index along `axis`.

    Shape: scales and zero_points are 1-D of length `input.shape[axis]`.
    """
    arr = _array_of(input, "quantize_per_channel")
    dt = _qdtype(dtype)
    xp = backend.get_xp(arr)
    if not -arr.ndim <= axis < arr.ndim:
        raise IndexError(f"quantize_per_channel: axis {axis} is out of range for a "
                         f"{arr.ndim}-d input")
    axis = axis % arr.ndim
    s = xp.asarray(scales._data if isinstance(scales, Tensor) else scales, dtype=np.float64)
    z = xp.asarray(zero_points._data if isinstance(zero_points, Tensor) else zero_points)
    n = arr.shape[axis]
    if s.shape != (n,) or z.shape != (n,):
        raise RuntimeError(f"quantize_per_channel: expected {n} scales and zero points (the "
                           f"size of axis {axis}), got {tuple(s.shape)} and {tuple(z.shape)}")
    z = z.astype(np.int64)
    shape = [1] * arr.ndim
    shape[axis] = n
    # PyTorch computes each channel's reciprocal in float32, as per tensor
    inv = (np.float32(1.0) / s.astype(np.float32)).reshape(shape)
    q = quantize_array(xp, arr, inv, z.astype(np.float32).reshape(shape), dt)
    return QTensor._wrap(q, input.device, dt, per_channel_affine, s, z, axis)


def dequantize(tensor):
    """`tensor.dequantize()`; a list of tensors gives a list."""
    if isinstance(tensor, (list, tuple)):
        return [dequantize(t) for t in tensor]
    return tensor.dequantize()


def int_repr(tensor: QTensor) -> Tensor:
    return tensor.int_repr()
