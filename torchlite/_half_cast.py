"""Exact float32 <-> float16/bfloat16 conversions on NumPy arrays, vectorised.

NumPy converts float16 one element at a time (about 2.5 ns an element from float32, 1.7 ns to
it), and ml_dtypes' bfloat16 casts are not much faster; mixed precision converts every weight
and activation each step, so these routines do the same conversions as a handful of whole-array
NumPy passes instead (about 0.1 ns an element each). Every result is bit for bit NumPy's
`astype` (float16) or ml_dtypes' (bfloat16): round to nearest even, overflow to inf, subnormals
exact, the signs of zeros kept, and NaN as those casts write it (float16 keeps the top payload
bits, 0x7c01 when they are all zero; bfloat16 is the quiet NaN 0x7fc0 with the input's sign;
upward, a payload moves to the top of the float32 one). tests/test_half_cast.py checks every
bfloat16 and float16 value and millions of float32 bit patterns.

How float32 -> float16 rounds: for |x| with exponent E (at least float16's smallest normal
exponent, -14), m = 2**(E + 13) has a float32 spacing of 2**(E - 10), float16's spacing at x,
so (|x| + m) - m is |x| rounded to nearest even on the float16 grid by the FPU itself. Then
multiplying by 2**-112 moves float16's exponent bias into float32's, for subnormals too, so the
float16 bits are the float32 bits shifted right by 13.

When onnxruntime imports (extra `onnx`), large float16 conversions run on its `Cast` kernels
instead (MLAS, about 0.1 ns an element, one session per process, see torchlite._ort_kernels):
they give NumPy's bits on every class but NaN, which onnxruntime quiets (sets the top payload
bit) where NumPy keeps a signalling NaN as it is; a NaN seen in the result (one max over the
float32 side) has those elements redone by NumPy. bfloat16 stays on the NumPy routines:
onnxruntime's Python binding cannot hand bfloat16 arrays in or out (NumPy has no such type),
and the shifts above already run at memory speed. `set_half_cast_kernel("numpy")` or the
environment variable TORCHLITE_HALF_CAST_KERNEL=numpy forces the NumPy routines (A/B, tests).

Arrays of 2M elements or more run the NumPy routines in chunks on torchlite's intra-op threads
(torchlite._parallel; the same bits, chunk by chunk); smaller ones stay on the calling thread,
where a hand-over to another thread costs more than it saves (measured figures beside
_BF16_PARALLEL_MIN and in _cast_session).

NumPy only: CuPy arrays convert with their own `astype` (its kernels are already vectorised).
"""

from __future__ import annotations

import threading

import numpy as np

from . import _ort_kernels, _workspace

F32, F16 = np.dtype(np.float32), np.dtype(np.float16)
_U16, _U32, _I32 = np.uint16, np.uint32, np.int32

_SMALLEST_NORMAL_EXP = 113 << 23  # float32 exponent bits of 2**-14
_SPACING_SHIFT = np.uint32(13 << 23)  # 2**E -> 2**(E + 13)
_F32_ZERO = np.float32(0.0)
_EXP_MASK = np.uint32(0x7F800000)
_SIGN32 = np.uint32(0x80000000)
_HIGH16 = np.uint32(0xFFFF0000)
_QNAN_BF16 = np.uint32(0x7FC00000)
_F16_EXP = np.uint16(0x7C00)
_TO_F16_BIAS = np.float32(2.0 ** -112)
_TO_F32_BIAS = np.float32(2.0 ** 112)
_F32_ABS = np.uint32(0x8FFFFFFF)  # after the sign-extending shift: the sign and 15 value bits


# -- the choice of kernel -------------------------------------------------------------------------
_switch = _ort_kernels.Switch("set_half_cast_kernel", "TORCHLITE_HALF_CAST_KERNEL")
ENV_VAR = _switch.env_var

# below this size (elements) a session call's fixed cost (about 7 us with the NaN check) is not
# clearly below the NumPy routines' (7 to 15 us); callers pick NumPy's astype below a few
# thousand elements anyway (torchlite/ops/half_compute.py)
_ORT_MIN = 1024


def set_half_cast_kernel(name: str) -> None:
    """Choose what converts large float16 NumPy arrays: "auto" (onnxruntime's Cast when it is
    installed, else NumPy) or "numpy" (the NumPy routines). The bits are the same."""
    _switch.set(name)


def get_half_cast_kernel() -> str:
    """The setting of `set_half_cast_kernel` ("auto" or "numpy")."""
    return _switch.value


def half_cast_kernel_name() -> str:
    """What converts large float16 NumPy arrays now, for reports and benchmarks."""
    if _switch.enabled():
        return "onnxruntime Cast"
    return "NumPy"


def _cast_session(model: str, size: int):
    """The run function of cast model `model`, or None where the NumPy routine serves."""
    if size < _ORT_MIN or not _switch.enabled():
        return None
    # one intra-op thread: onnxruntime's float -> float16 Cast runs on one thread whatever the
    # pool, and its float16 -> float Cast, which may split, measured no faster with 2 threads
    # up to 1M elements (71 vs 77 us at 1M). Nor do two chunks of a cast on torchlite's pool
    # win (onnxruntime writing into preallocated halves): a hand-over to another thread and
    # back costs about 50 us on a 2-core VM, 401K elements took 106 us that way against 59 us
    # in one call, 1M 209 against 150.
    # The results come from the session's memory arena: 3,000 casts of random sizes up to 4M
    # elements levelled off at 295 MB resident (the NumPy routines: 440 MB); without the
    # arena, malloc's heap kept growing (750 MB and rising)
    return _ort_kernels.session(("half_cast", model), _CAST_MODELS[model], 1)


def _cast_model(model: str) -> bytes:
    """The ONNX model of a cast, 1-D: "both" X float32 -> Y float16 and Z, Y's values as
    float32; "round" the same with only Z an output; "up" X float16 -> Y float32."""
    ok = _ort_kernels
    if model == "up":
        return ok.model_bytes([ok.node("Cast", ["X"], ["Y"], to=ok.FLOAT)],
                              [("X", ok.FLOAT16, ("N",))], [("Y", ok.FLOAT, ("N",))],
                              "float16_up", _CAST_OPSET)
    nodes = [ok.node("Cast", ["X"], ["Y"], to=ok.FLOAT16), ok.node("Cast", ["Y"], ["Z"],
                                                                   to=ok.FLOAT)]
    outputs = [("Z", ok.FLOAT, ("N",))]
    if model == "both":
        outputs.insert(0, ("Y", ok.FLOAT16, ("N",)))
    return ok.model_bytes(nodes, [("X", ok.FLOAT, ("N",))], outputs, f"float16_{model}",
                          _CAST_OPSET)


_CAST_OPSET = 13  # Cast-13: float16 and bfloat16; later versions only add float8 options
_CAST_MODELS = {name: (lambda name=name: _cast_model(name)) for name in ("both", "round", "up")}
_Y_OUT, _BOTH_OUT, _Z_OUT = ["Y"], ["Y", "Z"], ["Z"]


def _is_f32(x) -> bool:
    return type(x) is np.ndarray and x.dtype == F32


# -- the conversions ------------------------------------------------------------------------------
def float32_to_float16(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`x.astype(np.float16)` for a float32 NumPy array, bit for bit, and that result's values
    as float32 (its exact `astype(np.float32)`), which the rounding computes on the way."""
    run = _cast_session("both", x.size) if _is_f32(x) else None
    if run is not None:
        flat = np.ascontiguousarray(x).reshape(-1)
        out, values = run(_BOTH_OUT, {"X": flat})
        top = values.max()
        if top != top:  # a NaN: NumPy's own cast for those elements (see the docstring)
            nan = np.isnan(values)
            with np.errstate(invalid="ignore"):
                out[nan] = flat[nan].astype(F16)
            values[nan] = out[nan].astype(F32)
        return out.reshape(x.shape), values.reshape(x.shape)
    flat = np.ascontiguousarray(x).reshape(-1)
    values, out = _empty(x.shape, F32), _empty(x.shape, F16)
    arrays = (flat, values.reshape(-1), out.reshape(-1))
    if flat.size < _F16_PARALLEL_MIN:
        top = _to_float16_bits(*arrays, *_scratch(flat.size))
    else:
        top = _in_chunks(_to_float16_bits, arrays, 2)
    if not top < 65520.0:  # inf, NaN or a value that rounds to inf: NumPy's own cast there
        special = ~(np.abs(values) < 65520.0)
        with np.errstate(over="ignore", invalid="ignore"):
            out[special] = np.asarray(x)[special].astype(F16)
        values[special] = out[special].astype(F32)
    return out, values


def round_to_float16(x: np.ndarray) -> np.ndarray:
    """`x.astype(np.float16).astype(np.float32)` for a float32 NumPy array, bit for bit,
    without making the float16 array."""
    run = _cast_session("round", x.size) if _is_f32(x) else None
    if run is not None:
        flat = np.ascontiguousarray(x).reshape(-1)
        values = run(_Z_OUT, {"X": flat})[0]
        top = values.max()
        if top != top:
            nan = np.isnan(values)
            with np.errstate(invalid="ignore"):
                values[nan] = flat[nan].astype(F16).astype(F32)
        return values.reshape(x.shape)
    flat = np.ascontiguousarray(x).reshape(-1)
    values = _empty(x.shape, F32)
    if flat.size < _F16_PARALLEL_MIN:
        top = _round16(flat, values.reshape(-1), _scratch(flat.size)[0], None)
    else:
        top = _in_chunks(lambda f, v, m: _round16(f, v, m, None), (flat, values.reshape(-1)), 1)
    if not top < 65520.0:
        special = ~(np.abs(values) < 65520.0)
        with np.errstate(over="ignore", invalid="ignore"):
            values[special] = np.asarray(x)[special].astype(F16).astype(F32)
    return values


def _to_float16_bits(flat: np.ndarray, values: np.ndarray, out: np.ndarray, m: np.ndarray,
                     scaled: np.ndarray):
    """Into `out` and `values`: float32_to_float16's results for 1-D `flat`, but for the
    elements that _round16's returned largest magnitude flags."""
    top = _round16(flat, values, m, scaled)
    sign = m  # x's sign bits, which _round16 left there
    sign >>= np.uint32(3)  # to bit 28, which the shift below takes to float16's bit 15
    scaled |= sign
    scaled >>= np.uint32(13)
    np.copyto(out.view(_U16), scaled, casting="unsafe")
    return top


def _in_chunks(kernel, arrays, n_scratch: int):
    """`kernel(*arrays, *scratch)` over chunks of the 1-D `arrays` on torchlite's intra-op
    threads; the largest magnitude the chunks returned (NaN where one is NaN)."""
    from . import _parallel

    tops: list = []
    _parallel.elementwise_many(lambda *a: tops.append(kernel(*a)), [arrays], n_scratch, _U32,
                               _F16_PARALLEL_MIN)
    if not tops:
        return _F32_ZERO
    return np.max(tops)  # (NaN spreads through NumPy's max)


# Above this many elements the NumPy float16 routines run in chunks on torchlite's threads
# (see _BF16_PARALLEL_MIN for why not below)
_F16_PARALLEL_MIN = 1 << 21


def _round16(flat: np.ndarray, a: np.ndarray, m: np.ndarray, scaled: np.ndarray | None):
    """Into `a`: flat's values rounded to float16's grid (inf, NaN and what rounds to inf are
    garbage: the caller fixes them when the returned largest magnitude is not below 65520).
    Into `scaled` (if given): the rounded magnitudes times 2**-112. `m` ends with x's sign
    bits."""
    n = flat.size
    with np.errstate(over="ignore", invalid="ignore"):
        np.abs(flat, out=a)
        np.bitwise_and(a.view(_U32), _EXP_MASK, out=m)
        np.maximum(m, _const(_SMALLEST_NORMAL_EXP, n, _U32), out=m)
        m += _SPACING_SHIFT  # (wraps for |x| >= 2**115: caught as too large by the caller)
        mf = m.view(F32)
        a += mf
        a -= mf  # |x| rounded to float16's grid
        top = a.max() if n else _F32_ZERO
        if scaled is not None:
            np.multiply(a, _TO_F16_BIAS, out=scaled.view(F32))
    sign = np.bitwise_and(flat.view(_U32), _SIGN32, out=m)
    a.view(_U32)[...] |= sign
    return top


def float16_to_float32(h: np.ndarray) -> np.ndarray:
    """`h.astype(np.float32)` for a float16 NumPy array, bit for bit."""
    run = None
    if type(h) is np.ndarray and h.dtype == F16:
        run = _cast_session("up", h.size)
    if run is not None:
        flat = np.ascontiguousarray(h).reshape(-1)
        f = run(_Y_OUT, {"X": flat})[0]
        top = f.max()
        if top != top:  # NumPy keeps a signalling NaN signalling; onnxruntime quiets it
            nan = np.isnan(f)
            f[nan] = flat[nan].astype(F32)
        return f.reshape(h.shape)
    u = np.ascontiguousarray(h).view(_U16).reshape(-1)
    f = _empty(h.shape, F32)
    w = f.reshape(-1).view(_U32)
    np.copyto(w, u)
    w <<= np.uint32(16)
    v = w.view(_I32)
    v >>= 3  # the sign lands in bits 28-31, the exponent and mantissa in bits 13-27
    w &= _F32_ABS
    f *= _TO_F32_BIAS  # rebias: exact for normals and subnormals alike
    if u.size and (u & _F16_EXP).max() == _F16_EXP:  # inf or NaN: float32's all-ones exponent
        special = (u & _F16_EXP) == _F16_EXP
        s = u[special].astype(_U32)
        w[special] = ((s & np.uint32(0x8000)) << np.uint32(16)) | _EXP_MASK | (
            (s & np.uint32(0x3FF)) << np.uint32(13))
    return f


def float32_to_bfloat16(x: np.ndarray, bf16: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """`x.astype(bf16)` (ml_dtypes' bfloat16) for a float32 NumPy array, bit for bit, and that
    result's values as float32."""
    values = round_to_bfloat16(x)
    out = np.empty(x.shape, bf16)  # (not pooled: the pool keys by dtype.str, which ml_dtypes'
    # types may share)
    np.right_shift(values.reshape(-1).view(_U32), np.uint32(16), out=out.reshape(-1).view(_U16),
                   casting="unsafe")
    return out, values


def round_to_bfloat16(x: np.ndarray) -> np.ndarray:
    """`x.astype(bfloat16).astype(np.float32)` for a float32 NumPy array, bit for bit."""
    flat = np.ascontiguousarray(x).reshape(-1)
    u = flat.view(_U32)
    values = _empty(x.shape, F32)
    r = values.reshape(-1).view(_U32)
    if u.size < _BF16_PARALLEL_MIN:
        _round_bf16_bits(u, r)
    else:  # (elementwise_many runs it whole when torchlite has one thread)
        from . import _parallel  # (not at import: `import torchlite` leaves it unloaded)

        _parallel.elementwise_many(_round_bf16_bits, [(u, r)], 0, _U32, _BF16_PARALLEL_MIN)
    # NaN spreads through max: one read pass, where isnan then any wrote and read a mask
    top = flat.max() if flat.size else _F32_ZERO
    if top != top:
        nan = np.isnan(flat)
        r[nan] = np.where(u[nan] >> np.uint32(31), np.uint32(0xFFC00000), _QNAN_BF16)
    return values


def _round_bf16_bits(u: np.ndarray, r: np.ndarray) -> None:
    """Into `r`: float32 bit patterns `u` rounded to nearest even at bit 16 (NaN aside)."""
    np.right_shift(u, np.uint32(16), out=r)
    r &= np.uint32(1)
    r += np.uint32(0x7FFF)
    r += u  # a carry out of the low half bumps the high half
    r &= _HIGH16


# Above this many elements the bfloat16 rounding's passes run in two or more chunks on
# torchlite's intra-op threads (torchlite._parallel). Each pass hands the GIL between the
# threads, which cost tens of microseconds on a 2-core VM: measured with 2 threads (us, one
# thread against chunks): 401K elements 188 vs 238, 1M 390-404 vs 360-486, 2M 1051 vs 696,
# 4M 2958 vs 2581; so the arrays of a small model stay on the calling thread.
_BF16_PARALLEL_MIN = 1 << 21


def bfloat16_to_float32(b: np.ndarray) -> np.ndarray:
    """`b.astype(np.float32)` for an ml_dtypes bfloat16 NumPy array: its bits are the top half
    of the float32's, so this is a shift, exact."""
    u = np.ascontiguousarray(b).view(_U16).reshape(-1)
    f = _empty(b.shape, F32)
    w = f.reshape(-1).view(_U32)
    np.copyto(w, u)
    w <<= np.uint32(16)
    return f


def _empty(shape, dtype) -> np.ndarray:
    return _workspace.empty(np, shape, dtype)


_local = threading.local()


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two uint32 work arrays of `n` elements, this thread's own, kept between calls."""
    buf = getattr(_local, "buf", None)
    if buf is None or buf.shape[1] < n:
        buf = _local.buf = np.empty((2, max(n, 1024)), _U32)
    return buf[0, :n], buf[1, :n]


_consts: dict[tuple, np.ndarray] = {}


def _const(value, n: int, dtype: np.dtype) -> np.ndarray:
    """`n` copies of `value`: NumPy's minimum and maximum run several times faster against an
    array than against a scalar."""
    key = (value, dtype)
    arr = _consts.get(key)
    if arr is None or arr.size < n:
        arr = _consts[key] = np.full(max(n, 1024), value, dtype)
    return arr[:n]
