"""The arithmetic of quantized linear layers over raw arrays: dynamic (float in, float out,
activations quantized per call) and static (quantized in, quantized out).

Both run the exact integer product on onnxruntime's integer GEMM (NumPy arrays, onnxruntime
installed) or on float32 BLAS (ao.quantization.int8_matmul), with the same integers either way,
then scale the int32 result back: `y = x_scale * w_scale * acc + bias`. On onnxruntime the
dynamic layer runs whole, quantization and epilogue included, in one session of its own
(ao/quantization/dynamic_linear_ort.py).
"""

from __future__ import annotations

import math

import numpy as np

from .... import _workspace as ws
from .... import backend
from ...._parallel import get_num_threads
from ....ao.quantization import dynamic_linear_ort
from ....ao.quantization.dynamic_linear_ort import Layer
from ....ao.quantization.int8_gemm_ort import SERIAL_MACS
from ....ao.quantization.int8_matmul import int_matmul, use_integer_gemm
from ....ao.quantization.qtensor import QRANGE, quantize_array

_SMALL_SCALE = 6.1e-5


def choose_qparams(lo: float, hi: float, qmin: int, qmax: int) -> tuple[float, int]:
    """PyTorch's ChooseQuantizationParams for dynamic activations: the range widened to hold
    0, the zero point from whichever end rounds with the smaller error, nudged into range.
    An infinite or NaN end (such an input) has no finite range: scale NaN and zero point 0,
    so NaN flows to every output rather than the rounding failing."""
    if not math.isfinite(float(hi) - float(lo)):
        return math.nan, 0
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
    lo = hi = 0.0
    if x.size:
        lo, hi = float(x.min()), float(x.max())
    scale, zp = choose_qparams(lo, hi, 0, qmax) if x.size else (1.0, 0)
    gemm = _integer_gemm(xp, packed, x.shape[-1], qmax, x.size and math.isfinite(hi - lo))
    if gemm is not None:
        inv = np.float32(1) / np.float32(scale)
        if x.dtype == np.float32 and _fits_uint8(hi, inv, zp, qmax):
            # the whole layer in one onnxruntime run (see dynamic_linear_ort)
            bias = None if packed.bias is None else packed.bias._data
            return _run_whole(x, [Layer(gemm, bias, qmax, False)], inv, zp, scale)
        a = _quantize_u8(x, inv, zp, qmax, lo, hi)
        out = gemm.matmul(a.reshape(-1, a.shape[-1]), zp).astype(np.float32)
        out *= np.float32(scale) * gemm.scale
        if packed.bias is not None:
            out += packed.bias._data
        return out.reshape(x.shape[:-1] + out.shape[-1:])
    w_scale = np.float32(scale) * packed.weight_scale._data.astype(np.float32)
    # one buffer, updated in place: x * (1 / scale) + zp, rounded, saturated, minus zp
    a = xp.multiply(x, np.float32(1) / np.float32(scale), dtype=np.float32)
    a += np.float32(zp)
    xp.rint(a, out=a)
    xp.clip(a, 0, qmax, out=a)
    a -= np.float32(zp)
    w, wmax = packed.float_weight()
    acc = int_matmul(xp, a, w.T, qmax, wmax)
    out = acc.astype(np.float32, copy=False) * w_scale
    if packed.bias is not None:
        out += packed.bias._data
    return out


def dynamic_linear_chain(x, layers):
    """The output of dynamically quantized Linear layers in turn, with a ReLU after each but
    maybe the last, as one onnxruntime run (dynamic_linear_ort); None when they cannot run so
    (not float32 NumPy input, no onnxruntime, a range the whole-layer path does not take), and
    the caller then runs them one by one, with the same result. `layers`: (packed params,
    reduce_range, relu after) per layer, the features matching from one to the next."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float32 or not x.size:
        return None
    chain = []
    for packed, reduce_range, relu in layers:
        qmax = 127 if reduce_range else 255
        gemm = _integer_gemm(np, packed, packed.weight._data.shape[1], qmax)
        if gemm is None:
            return None
        chain.append(Layer(gemm, None if packed.bias is None else packed.bias._data, qmax,
                           relu))
    lo, hi = float(x.min()), float(x.max())
    if not math.isfinite(hi - lo):
        return None
    qmax = chain[0].qmax
    scale, zp = choose_qparams(lo, hi, 0, qmax)
    inv = np.float32(1) / np.float32(scale)
    if not _fits_uint8(hi, inv, zp, qmax):
        return None
    return _run_whole(x, chain, inv, zp, scale)


def _run_whole(x, chain, inv, zp: int, scale: float):
    """dynamic_linear_ort.run over x (..., K), on one thread when the products are small."""
    x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    macs = x2.shape[0] * sum(layer.gemm.b.size for layer in chain)
    threads = 1 if macs < SERIAL_MACS else get_num_threads()
    out = dynamic_linear_ort.run(chain, x2, inv, zp, scale, threads)
    return out.reshape(x.shape[:-1] + out.shape[-1:])


def _integer_gemm(xp, packed, k: int, qmax: int, finite: bool = True):
    """The packed weight when the product may run on the integer GEMM: NumPy arrays, finite
    activations, and a reduction short enough that int32 sums of raw uint8 products cannot
    overflow (K <= 33,025); else None (the float32-BLAS path serves)."""
    if not finite or k * 255 * 255 >= 2 ** 31 or not use_integer_gemm(xp):
        return None
    return packed.gemm_weight(qmax > 127)


def _quantize_u8(x, inv_scale, zp: int, qmax: int, lo: float, hi: float):
    """uint8 rint(x * inv_scale + zp) saturated to 0..qmax, in the float32 order of the
    float32-BLAS path, for x in [lo, hi]. Rounded float32 multiplies and adds by constants and
    rint are monotone, so x's ends give the extreme integers; when those ends, computed in
    float64, lie inside (-0.5, qmax + 0.5) with a margin far wider than float32's rounding
    error at these magnitudes (about 3e-5), saturating changes nothing and is skipped (for
    nearly every range choose_qparams picks)."""
    alloc = ws.empty if x.size >= _POOLED else _empty
    t = alloc(np, x.shape, np.float32)
    np.multiply(x, inv_scale, out=t, dtype=np.float32)
    if zp:
        t += np.float32(zp)
    if not _inside(lo, hi, inv_scale, zp, qmax):
        np.clip(t, np.float32(0), np.float32(qmax), out=t)
    np.rint(t, out=t)
    a = alloc(np, x.shape, np.uint8)
    a[...] = t
    return a


def _fits_uint8(hi: float, inv_scale, zp: int, qmax: int) -> bool:
    """Whether rounding to uint8 with saturation to 0..255 (onnxruntime's QuantizeLinear) gives
    what rounding after clipping to 0..qmax gives, for x up to hi: always for qmax 255, and
    below 0 (ends from -0.5 down saturate to 0 either way); for qmax 127, when hi lands below
    127.5 by more than float32's rounding error (about 1e-5 here)."""
    return qmax == 255 or hi * float(inv_scale) + zp < qmax + 0.4999


def _inside(lo: float, hi: float, inv_scale, zp: int, qmax: int) -> bool:
    """Whether rint(x * inv_scale + zp) lies in 0..qmax for every x in [lo, hi], with the
    margin _quantize_u8 explains."""
    inv = float(inv_scale)
    return lo * inv + zp > -0.499 and hi * inv + zp < qmax + 0.499


_POOLED = 1 << 15  # activations from this many elements on reuse pooled buffers


def _empty(xp, shape, dtype):
    return np.empty(shape, dtype)


def static_linear(xq, x_scale: float, x_zp: int, packed, out_scale: float, out_zp: int,
                  relu: bool = False, out_dtype=backend.quint8):
    """quint8 x (..., K) -> quint8 y: the float result requantized to (out_scale, out_zp)."""
    xp = backend.get_xp(xq)
    use = xq.dtype == np.uint8 and xq.size
    gemm = _integer_gemm(xp, packed, xq.shape[-1], 255) if use else None
    if gemm is not None:
        a = np.ascontiguousarray(xq).reshape(-1, xq.shape[-1])
        acc = gemm.matmul(a, x_zp).reshape(xq.shape[:-1] + (-1,))
    else:
        a = xq.astype(np.float32) - np.float32(x_zp)
        w, wmax = packed.float_weight()
        acc = int_matmul(xp, a, w.T, 255, wmax)
    return requantize(xp, acc, x_scale, packed, out_scale, out_zp, relu, out_dtype, -1)


def requantize(xp, acc, x_scale, packed, out_scale, out_zp, relu, out_dtype, channel_axis):
    """int32-valued acc -> out_dtype integers: scaled to float, bias added, quantized."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    w_scale = packed.weight_scale._data.astype(np.float32).reshape(shape)
    y = xp.multiply(acc, np.float32(x_scale) * w_scale, dtype=np.float32)
    if packed.bias is not None:
        y += packed.bias._data.reshape(shape)
    inv_scale = np.float32(1) / np.float32(out_scale)
    if out_dtype not in (backend.quint8, backend.qint8):
        q = quantize_array(xp, y, inv_scale, np.float32(out_zp), out_dtype)
        return xp.maximum(q, out_dtype.np.type(out_zp)) if relu else q
    # quantize_array's arithmetic, in place: rint(y * (1 / out_scale) + out_zp), saturated
    lo, hi = QRANGE[out_dtype]
    if relu:  # max(q, zp) after saturation is saturation from zp up (zp lies inside lo..hi)
        lo = out_zp
    y *= inv_scale
    y += np.float32(out_zp)
    xp.rint(y, out=y)
    xp.clip(y, lo, hi, out=y)
    return y.astype(out_dtype.np)
