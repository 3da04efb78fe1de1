"""Unary elementwise math: exp, log, trig, sqrt, activations' primitives, rounding.

Each op saves exactly what its derivative needs: the input, or the output where the derivative
is cheaper from it (exp, sqrt, tanh, sigmoid).
"""

from __future__ import annotations

import math

import numpy as np

from ..amp import state as _amp
from ..autograd.function import Op
from ..backend import get_default_dtype, get_xp
from ..tensor import Tensor
from .elementwise_factory import QUIET, elementwise
from .out import with_out


def _float_input(x: Tensor, op: str) -> Tensor:
    """Integer inputs to float math become the default float dtype, as in PyTorch."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x._data.dtype.kind in "fcV":
        return x
    return Tensor._make(x._data.astype(get_default_dtype().np), x._device)


def _unary(name: str, f, vjp, reads: str, doc: str = "", keep_int: bool = False):
    """The Op for y = f(xp, x) (see elementwise_factory) and its public function, which takes
    `out=` and turns integer inputs into the default float dtype (`keep_int`: integer in,
    integer out, as abs and square)."""
    cls = elementwise(name, f, vjp, reads=reads, quiet=QUIET, doc=doc)

    def fn(input: Tensor, *, out=None) -> Tensor:
        if out is not None:
            return with_out(fn, fn.__name__, out, (input,), exact=keep_int)
        if keep_int and isinstance(input, Tensor) and input._data.dtype.kind in "iu":
            return Tensor._make(f(get_xp(input._data), input._data), input._device)
        if _amp.on:  # (CUDA autocast runs exp, log, rsqrt, ... in float32)
            (input,) = _amp.cast(fn.__name__, input)
        return cls.apply(_float_input(input, name.lower()))

    fn.__name__ = name.lower()
    fn.__doc__ = doc
    return cls, fn


def stable_sigmoid(xp, x):
    """1 / (1 + e**-x) on an array, stable for large |x|: it never exponentiates a large
    positive number."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


# The derivatives read the input x or the output o, whichever is cheaper (exp, sqrt, tanh and
# sigmoid are their own derivatives' main term).
Exp, exp = _unary("Exp", lambda xp, x: xp.exp(x), lambda xp, g, x, o: g * o, "out", "e**x")
Exp2, exp2 = _unary("Exp2", lambda xp, x: xp.exp2(x),
                    lambda xp, g, x, o: g * (o * o.dtype.type(np.log(2))), "out", "2**x")
Expm1, expm1 = _unary("Expm1", lambda xp, x: xp.expm1(x), lambda xp, g, x, o: g * (o + 1),
                      "out", "e**x - 1")
Log, log = _unary("Log", lambda xp, x: xp.log(x), lambda xp, g, x, o: g * (1 / x), "x",
                  "natural log")
Log2, log2 = _unary("Log2", lambda xp, x: xp.log2(x),
                    lambda xp, g, x, o: g * (1 / (x * x.dtype.type(np.log(2)))), "x",
                    "log base 2")
Log10, log10 = _unary("Log10", lambda xp, x: xp.log10(x),
                      lambda xp, g, x, o: g * (1 / (x * x.dtype.type(np.log(10)))), "x",
                      "log base 10")
Log1p, log1p = _unary("Log1p", lambda xp, x: xp.log1p(x), lambda xp, g, x, o: g * (1 / (1 + x)),
                      "x", "log(1 + x), accurate for small x")
Sqrt, sqrt = _unary("Sqrt", lambda xp, x: xp.sqrt(x), lambda xp, g, x, o: g * (0.5 / o), "out",
                    "square root")
Rsqrt, rsqrt = _unary("Rsqrt", lambda xp, x: 1 / xp.sqrt(x),
                      lambda xp, g, x, o: g * (-0.5 * o * o * o), "out", "1 / sqrt(x)")
Sin, sin = _unary("Sin", lambda xp, x: xp.sin(x), lambda xp, g, x, o: g * xp.cos(x), "x", "sine")
Cos, cos = _unary("Cos", lambda xp, x: xp.cos(x), lambda xp, g, x, o: g * -xp.sin(x), "x",
                  "cosine")
Tan, tan = _unary("Tan", lambda xp, x: xp.tan(x), lambda xp, g, x, o: g * (1 + o * o), "out",
                  "tangent")
Asin, asin = _unary("Asin", lambda xp, x: xp.arcsin(x),
                    lambda xp, g, x, o: g * (1 / xp.sqrt(1 - x * x)), "x", "arcsine")
Acos, acos = _unary("Acos", lambda xp, x: xp.arccos(x),
                    lambda xp, g, x, o: g * (-1 / xp.sqrt(1 - x * x)), "x", "arccosine")
Atan, atan = _unary("Atan", lambda xp, x: xp.arctan(x), lambda xp, g, x, o: g * (1 / (1 + x * x)),
                    "x", "arctangent")
Asinh, asinh = _unary("Asinh", lambda xp, x: xp.arcsinh(x),
                      lambda xp, g, x, o: g * (1 / xp.sqrt(x * x + 1)), "x", "inverse sinh")
Acosh, acosh = _unary("Acosh", lambda xp, x: xp.arccosh(x),
                      lambda xp, g, x, o: g * (1 / xp.sqrt(x * x - 1)), "x", "inverse cosh")
Atanh, atanh = _unary("Atanh", lambda xp, x: xp.arctanh(x),
                      lambda xp, g, x, o: g * (1 / (1 - x * x)), "x", "inverse tanh")
Deg2rad, deg2rad = _unary("Deg2rad", lambda xp, x: x * x.dtype.type(math.pi / 180),
                          lambda xp, g, x, o: g * g.dtype.type(math.pi / 180), "x",
                          "degrees to radians")
Rad2deg, rad2deg = _unary("Rad2deg", lambda xp, x: x * x.dtype.type(180 / math.pi),
                          lambda xp, g, x, o: g * g.dtype.type(180 / math.pi), "x",
                          "radians to degrees")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
Sinh, sinh = _unary("Sinh", lambda xp, x: xp.sinh(x), lambda xp, g, x, o: g * xp.cosh(x), "x",
                    "sinh")
Cosh, cosh = _unary("Cosh", lambda xp, x: xp.cosh(x), lambda xp, g, x, o: g * xp.sinh(x), "x",
                    "cosh")
Tanh, tanh = _unary("Tanh", lambda xp, x: xp.tanh(x), lambda xp, g, x, o: g * (1 - o * o), "out",
                    "hyperbolic tangent")
Sigmoid, sigmoid = _unary("Sigmoid", stable_sigmoid, lambda xp, g, x, o: g * (o * (1 - o)), "out",
                          "1 / (1 + e**-x), computed without overflow")
Abs, abs = _unary("Abs", lambda xp, x: xp.abs(x), lambda xp, g, x, o: g * xp.sign(x),  # noqa: A001
                  "x", "absolute value (gradient 0 at 0)", keep_int=True)
Reciprocal, reciprocal = _unary("Reciprocal", lambda xp, x: 1 / x,
                                lambda xp, g, x, o: g * (-o * o), "out", "1 / x")
Erf, erf = _unary("Erf", lambda xp, x: _erf(xp, x),
                  lambda xp, g, x, o: g * (x.dtype.type(2 / np.sqrt(np.pi)) * xp.exp(-x * x)),
                  "x", "the error function")
Square, square = _unary("Square", lambda xp, x: x * x, lambda xp, g, x, o: g * (2 * x), "x",
                        "x * x", keep_int=True)


def _erf(xp, x):
    if x.dtype == np.float64 and xp is np:
        # exact to double precision via the C library; float64 is the checking dtype
        return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=np.float64)  # 0-d: a float
    # Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution near 1
    t = 1 / (1 + 0.3275911 * xp.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    y = 1 - poly * xp.exp(-x * x)
    return (xp.sign(x) * y).astype(x.dtype, copy=False)


def relu_forward(xp, x, out=None):
    """max(x, 0) on an array, into `out` when given (the fused bias+ReLU of nn.functional works
    in place). relu(-inf) = 0, where x * (x > 0) would be NaN; NaN stays NaN."""
    zero = _zeros_like(x) if xp is np and x.size >= _ZEROS_MIN else 0
    return xp.maximum(x, zero) if out is None else xp.maximum(x, zero, out=out)


# NumPy's maximum against a scalar runs about 3x slower than against an array of the same
# shape (measured with NumPy 2.4, 128x512 float32: 25 us against 8; the array-array loop is
# the vectorised one). So ReLU compares with zeros: read-only views of one buffer per dtype,
# grown to the largest activation seen up to _ZEROS_MAX elements (larger ones use the scalar).
_ZEROS_MIN, _ZEROS_MAX = 1 << 12, 1 << 22
_zeros: dict = {}


def _zeros_like(x):
    n = x.size
    if n > _ZEROS_MAX:
        return 0
    buf = _zeros.get(x.dtype)
    if buf is None or buf.size < n:
        buf = np.zeros(min(max(n, 0 if buf is None else 2 * buf.size), _ZEROS_MAX), x.dtype)
        buf.flags.writeable = False
        _zeros[x.dtype] = buf
    return buf[:n].reshape(x.shape)


def relu_vjp(xp, g, x, out):
    """The gradient of relu from its output: g where out > 0 (0 at 0, as PyTorch)."""
    return g * (out > 0)


# the hot activation: no errstate (max cannot overflow or divide)
Relu = elementwise("Relu", relu_forward, relu_vjp, reads="out")


def relu(input: Tensor) -> Tensor:
    """max(x, 0); gradient 0 at 0, as PyTorch."""
    if input._data.dtype.itemsize == 2:  # NumPy float16/bfloat16: on the bits (see half_relu)
        from .half_relu import HalfRelu

        return HalfRelu.apply(input)
    return Relu.apply(input)


def neg(input: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(neg, "neg", out, (input,), exact=True)
    return Neg.apply(input)


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                "to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


negative = neg


def positive(input: Tensor) -> Tensor:
    """input itself (bool tensors are refused, as by PyTorch)."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


class NanToNum(Op):
    """The gradient passes where the input is finite and is 0 at a replaced NaN or inf."""

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return get_xp(x).nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xp = get_xp(g)
        return xp.where(xp.isfinite(x), g, g.dtype.type(0)), None, None, None


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None, *, out=None) -> Tensor:
    """NaN -> `nan`, +inf -> `posinf`, -inf -> `neginf` (by default the dtype's largest and
    smallest finite values). Integer and bool tensors come back as a copy."""
    if out is not None:
        return with_out(nan_to_num, "nan_to_num", out, (input, nan, posinf, neginf))
    if not isinstance(input, Tensor):
        raise TypeError(f"nan_to_num(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind not in "fV":
        return Tensor._make(input._data.copy(), input._device)
    return NanToNum.apply(input, float(nan), None if posinf is None else float(posinf),
                          None if neginf is None else float(neginf))


class PiecewiseConstant(Op):
    """sign, floor, ceil, trunc, round: flat almost everywhere, so the gradient is zero (as in
    PyTorch, the output still takes part in the graph and backward gives zeros)."""

    @staticmethod
    def forward(ctx, x, f):
        return f(get_xp(x), x)

    @staticmethod
    def backward(ctx, g):
        return get_xp(g).zeros_like(g), None


def _piecewise(name, f):
    def fn(input: Tensor, *, out=None) -> Tensor:
        if out is not None:
            return with_out(fn, name, out, (input,), exact=True)
        return PiecewiseConstant.apply(input, f)

    fn.__name__ = name
    fn.__doc__ = f"{name}, elementwise (piecewise constant: its gradient is zero)"
    return fn


def _float_only(rounding):
    # integer tensors are already whole numbers: a copy keeps their dtype
    return lambda xp, x: rounding(xp)(x) if x.dtype.kind in "fV" else x.copy()


sign = _piecewise("sign", lambda xp, x: xp.sign(x))
sgn = sign
floor = _piecewise("floor", _float_only(lambda xp: xp.floor))
ceil = _piecewise("ceil", _float_only(lambda xp: xp.ceil))
trunc = _piecewise("trunc", _float_only(lambda xp: xp.trunc))
fix = trunc


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:  # noqa: A001
    """Round half to even, as PyTorch (piecewise constant: its gradient is zero)."""
    if out is not None:
        return with_out(round, "round", out, (input,), {"decimals": decimals}, exact=True)
    return PiecewiseConstant.apply(
        input, _float_only(lambda xp: lambda x: xp.round(x, decimals)))


def frac(input: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(frac, "frac", out, (input,))
    from .elementwise import sub

    if isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        from .exceptions import DtypeNotImplementedError

        raise DtypeNotImplementedError(
            f"\"frac_cpu\" not implemented for '{str(input.dtype).split('.')[-1]}'")

    return sub(input, trunc(input))


def logical_not(input: Tensor, *, out=None) -> Tensor:
    if out is not None:
        return with_out(logical_not, "logical_not", out, (input,))
    return Tensor._make(get_xp(input._data).logical_not(input._data), input._device)


def _logical(name, f):
    def fn(input: Tensor, other: Tensor, *, out=None) -> Tensor:
        if out is not None:
            return with_out(fn, name, out, (input, other))
        other_data = other._data if isinstance(other, Tensor) else other
        return Tensor._make(f(get_xp(input._data), input._data, other_data), input._device)

    fn.__name__ = name
    return fn


logical_and = _logical("logical_and", lambda xp, a, b: xp.logical_and(a, b))
logical_or = _logical("logical_or", lambda xp, a, b: xp.logical_or(a, b))
logical_xor = _logical("logical_xor", lambda xp, a, b: xp.logical_xor(a, b))
# the bitwise family lives in bitwise.py; these names stay importable from here
from .bitwise import bitwise_and, bitwise_not, bitwise_or, bitwise_xor  # noqa: E402, F401
