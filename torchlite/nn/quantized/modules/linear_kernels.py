"""The arithmetic of quantized linear layers over raw arrays: dynamic (float in, float out,
activations quantized per call) and static (quantized in, quantized out).

Both run the integer product on float32 BLAS through ao.quantization.int8_matmul (exact), then
scale the int32 result back: `y = x_scale * w_scale * acc + bias`.
"""

from __future__ import annotations

import math

import numpy as np

from .... import backend
from ....ao.quantization.int8_matmul import int_matmul
from ....ao.quantization.qtensor import QRANGE, quantize_array

_SMALL_SCALE = 6.1e-5


def choose_qparams(lo: float, hi: float, qmin: int, qmax: int) -> tuple[float, int]:
    """PyTorch's ChooseQuantizationParams for dynamic activations: the range widened to hold
    0, the zero point from whichever end rounds with the smaller error, nudged into range."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / (qmax - qmin)
    if np.float32(scale) == 0 or math.isinf(1.0 / np.float32(scale)):
        scale = 0.1
    if scale < _SMALL_SCALE:
        org = scale
        scale = _SMALL_SCALE
        if lo == 0.0:
            hi = _SMALL_SCALE * (qmax - qmin)
        elif hi == 0.0:
            lo = -_SMALL_SCALE * (qmax - qmin)
        else:
            lo, hi = lo * (_SMALL_SCALE / org), hi * (_SMALL_SCALE / org)
    zp_min, zp_max = qmin - lo / scale, qmax - hi / scale
    err_min, err_max = abs(qmin) - abs(lo / scale), abs(qmax) - abs(hi / scale)
    zp = zp_min if err_min < err_max else zp_max
    zp = qmin if zp < qmin else qmax if zp > qmax else int(np.rint(zp))
    return float(np.float32(scale)), zp


def dynamic_linear(x, packed, reduce_range: bool = True):
    """float x (..., K) @ quantized weight (N, K).T + bias, x quantized to quint8 with its own
    range (0..127 with reduce_range, as fbgemm, whose int8 kernels need the headroom)."""
    xp = backend.get_xp(x)
    qmax = 127 if reduce_range else 255
    if x.size:
        scale, zp = choose_qparams(x.min(), x.max(), 0, qmax)
    else:
        scale, zp = 1.0, 0
    # one buffer, updated in place: x * (1 / scale) + zp, rounded, saturated, minus zp
    a = xp.multiply(x, np.float32(1) / np.float32(scale), dtype=np.float32)
    a += np.float32(zp)
    xp.rint(a, out=a)
    xp.clip(a, 0, qmax, out=a)
    a -= np.float32(zp)
    w, wmax = packed.float_weight()
    acc = int_matmul(xp, a, w.T, qmax, wmax)
    out = acc.astype(np.float32, copy=False) * (np.float32(scale)
                                                * packed.weight_scale._data.astype(np.float32))
    if packed.bias is not None:
        out += packed.bias._data
    return out


def static_linear(xq, x_scale: float, x_zp: int, packed, out_scale: float, out_zp: int,
                  relu: bool = False, out_dtype=backend.quint8):
    """quint8 x (..., K) -> quint8 y: the float result requantized to (out_scale, out_zp)."""
    xp = backend.get_xp(xq)
    lo, hi = QRANGE[out_dtype]
    a = xq.astype(np.float32) - np.float32(x_zp)
    w, wmax = packed.float_weight()
    acc = int_matmul(xp, a, w.T, 255, wmax)
    return requantize(xp, acc, x_scale, packed, out_scale, out_zp, relu, out_dtype, -1)


def requantize(xp, acc, x_scale, packed, out_scale, out_zp, relu, out_dtype, channel_axis):
    """int32-valued acc -> out_dtype integers: scaled to float, bias added, quantized."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    w_scale = packed.weight_scale._data.astype(np.float32).reshape(shape)
    y = acc.astype(np.float32, copy=False) * (np.float32(x_scale) * w_scale)
    if packed.bias is not None:
        y += packed.bias._data.reshape(shape)
    q = quantize_array(xp, y, np.float32(1) / np.float32(out_scale), np.float32(out_zp),
                       out_dtype)
    if relu:
        q = xp.maximum(q, out_dtype.np.type(out_zp))
    return q
