"""fake_quantize_per_tensor_affine / fake_quantize_per_channel_affine, as PyTorch's.

Quantize and dequantize in one float op: `(clamp(rint(x / scale) + zp, qmin, qmax) - zp) * scale`
with PyTorch's float32 arithmetic. The gradient is the straight-through estimator: the incoming
gradient where `rint(x / scale) + zp` fell inside [quant_min, quant_max], zero where it clamped.
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ...autograd.function import Op
from ...tensor import Tensor


def _fake_quant(xp, x, inv, scale, zp, qmin: int, qmax: int):
    q = xp.rint(x * inv) + zp
    mask = (q >= qmin) & (q <= qmax)
    out = (xp.clip(q, qmin, qmax) - zp) * scale
    return out.astype(x.dtype, copy=False), mask


class FakeQuantizeAffine(Op):
    """x -> fake-quantized x; scale, zp, inv are float32 scalars or broadcasting arrays."""

    @staticmethod
    def forward(ctx, x, inv, scale, zp, qmin, qmax):
        out, mask = _fake_quant(backend.get_xp(x), x, inv, scale, zp, qmin, qmax)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(mask)
        return out

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None, None, None, None, None


def _check(x, qmin: int, qmax: int, what: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise RuntimeError(f"{what}: expected a floating point Tensor input")
    if qmin > qmax:
        raise RuntimeError(f"{what}: `quant_min` {qmin} should be less than or equal to "
                           f"`quant_max` {qmax}.")


def _host_value(v):
    if isinstance(v, Tensor):
        return backend.to_host(v._data).reshape(-1)[0]
    return v


def fake_quantize_per_tensor_affine(input: Tensor, scale, zero_point, quant_min: int,
                                    quant_max: int) -> Tensor:
    """Quantize then dequantize with one scale and zero point (straight-through gradient).

    Shape: any; the output has the input's shape and dtype.
    """
    _check(input, quant_min, quant_max, "fake_quantize_per_tensor_affine")
    s = np.float32(_host_value(scale))
    zp = np.float32(int(_host_value(zero_point)))
    if not quant_min <= zp <= quant_max:
        raise RuntimeError(f"fake_quantize_per_tensor_affine: `zero_point` {int(zp)} must be "
                           f"between `quant_min` {quant_min} and `quant_max` {quant_max}.")
    return FakeQuantizeAffine.apply(input, np.float32(1.0) / s, s, zp, int(quant_min),
                                    int(quant_max))


def fake_quantize_per_channel_affine(input: Tensor, scale: Tensor, zero_point: Tensor,
                                     axis: int, quant_min: int, quant_max: int) -> Tensor:
    """Quantize then dequantize with a scale and zero point per index along `axis`.

    Shape: scale and zero_point are 1-D of length `input.shape[axis]`.
    """
    _check(input, quant_min, quant_max, "fake_quantize_per_channel_affine")
    x = input._data
    axis = axis % x.ndim
    xp = backend.get_xp(x)
    s = xp.asarray(scale._data if isinstance(scale, Tensor) else scale).astype(np.float32)
    z = xp.asarray(zero_point._data if isinstance(zero_point, Tensor) else zero_point)
    if s.shape != (x.shape[axis],) or z.shape != s.shape:
        raise RuntimeError(f"fake_quantize_per_channel_affine: expected {x.shape[axis]} scales "
                           f"and zero points, got {tuple(s.shape)} and {tuple(z.shape)}")
    shape = [1] * x.ndim
    shape[axis] = -1
    s = s.reshape(shape)
    z = xp.rint(z.astype(np.float32)).reshape(shape)
    return FakeQuantizeAffine.apply(input, np.float32(1.0) / s, s, z, int(quant_min),
                                    int(quant_max))
