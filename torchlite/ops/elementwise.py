"""Binary elementwise ops with broadcasting: + - * / // % **, maximum/minimum (where, clamp,
lerp and addcmul/addcdiv are in ternary.py).

Operands are Tensors or Python/NumPy scalars. The public function computes PyTorch's result dtype
once; forward casts to it, and backward sums gradients back to each input's shape and dtype.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..amp import state as _amp
from ..tensor import Tensor
from .broadcast import broadcast_shapes
from .elementwise_factory import QUIET, array_module, cast, elementwise
from .exceptions import BadArgumentError, DtypeNotImplementedError
from .out import with_out
from .promotion import as_tensor_arg, result_dtype, scalar

_DIV_QUIET = {"divide": "ignore", "invalid": "ignore"}

Add = elementwise("Add", lambda xp, a, b: a + b,
                  lambda xp, g, a, b, out: g,
                  lambda xp, g, a, b, out: g, reads=("", ""))
Sub = elementwise("Sub", lambda xp, a, b: a - b,
                  lambda xp, g, a, b, out: g,
                  lambda xp, g, a, b, out: -g, reads=("", ""))
Mul = elementwise("Mul", lambda xp, a, b: a * b,
                  lambda xp, g, a, b, out: g * b,  # dA needs only B and dB only A
                  lambda xp, g, a, b, out: g * a, reads=("b", "a"))
Div = elementwise("Div", lambda xp, a, b: a / b,
                  lambda xp, g, a, b, out: g / b,
                  lambda xp, g, a, b, out: -g * a / (b * b), reads=("b", "a b"), quiet=_DIV_QUIET)


def _power(a, b):
    """a ** b, with x**3 as x * x * x for float32/float64 arrays: PyTorch's CPU kernel computes
    it so (bit for bit), and NumPy's generic float pow is about 100x slower than two products
    (x**2 is already NumPy's own square). x**1 (the derivative of x**2 reads it) is a copy:
    the same values, without the generic pow (4x a copy's time)."""
    if type(b) in (int, float) and (b == 3 or b == 1) and getattr(a, "dtype", None) is not None \
            and a.dtype.char in "fd":
        return a * a * a if b == 3 else a.copy("K")  # (order K: a ufunc's layout, as before)
    return a**b


def _pow_grad_base(xp, g, a, b, out):
    if isinstance(b, numbers.Number):
        return g * b * _power(a, b - 1) if b != 0 else g * 0
    # x**0 has zero gradient even where x**-1 is inf (and 0 * inf is nan)
    return xp.where(b != 0, g * b * a ** (b - 1), 0).astype(out.dtype)


def _pow_grad_exponent(xp, g, a, b, out):
    # d(a**b)/db = a**b * log(a); PyTorch defines it as 0 where a == 0 and b >= 0
    return xp.where((a == 0) & (b >= 0), 0, g * out * xp.log(a)).astype(out.dtype)


Pow = elementwise("Pow", lambda xp, a, b: _power(a, b), _pow_grad_base, _pow_grad_exponent,
                  reads=("a b out", "a b out"), quiet=QUIET)

# the common call of each (two float32/float64 NumPy tensors, or one and a Python number; see
# elementwise_fastpath), tried first by the public functions; None sends a call down the
# general path
_add_fast, _sub_fast, _mul_fast, _div_fast, _pow_fast = (
    Add.fast, Sub.fast, Mul.fast, Div.fast, Pow.fast)


# d/da atan2(a, b) = b / (a^2 + b^2);  d/db = -a / (a^2 + b^2)
Atan2 = elementwise("Atan2", lambda xp, a, b: xp.arctan2(a, b),
                    lambda xp, g, a, b, out: g / (a * a + b * b) * b,
                    lambda xp, g, a, b, out: -(g / (a * a + b * b)) * a,
                    reads=("a b", "a b"), quiet=_DIV_QUIET)


def _share(wins):
    """The gradient of max/min for one input: where it wins, and half of it at ties (PyTorch
    splits a tie evenly between the two inputs)."""

    def grad_a(xp, g, a, b, out):
        return g * (wins(a, b) + 0.5 * (a == b)).astype(g.dtype)

    def grad_b(xp, g, a, b, out):
        return g * (1 - (wins(a, b) + 0.5 * (a == b)).astype(g.dtype))

    return grad_a, grad_b


Maximum = elementwise("Maximum", lambda xp, a, b: xp.maximum(a, b),
                      *_share(lambda a, b: a > b), reads=("a b", "a b"))
Minimum = elementwise("Minimum", lambda xp, a, b: xp.minimum(a, b),
                      *_share(lambda a, b: a < b), reads=("a b", "a b"))


# ----------------------------------------------------------------------------------------------
# public functions


def _operands(a, b, op: str):
    """Turn array-likes into Tensors; check devices and broadcastability up front."""
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if not ta and not isinstance(a, (numbers.Number, np.generic)):
        a = as_tensor_arg(a, b if tb else _cpu_like(), op)
    if not tb and not isinstance(b, (numbers.Number, np.generic)):
        b = as_tensor_arg(b, a if isinstance(a, Tensor) else _cpu_like(), op)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._device is not b._device:
            raise RuntimeError(
                f"{op}: expected all tensors to be on the same device, but found at least two "
                f"devices, {a._device} and {b._device}"
            )
        if a._data.shape != b._data.shape:
            broadcast_shapes(op, a._data.shape, b._data.shape)
    return a, b


def _cpu_like():
    from .. import backend

    return Tensor._make(np.zeros(()), backend.CPU)


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, broadcasting."""
    if alpha == 1 and out is None and (t := _add_fast(input, other)) is not None:
        return t
    if out is not None:
        return with_out(add, "add", out, (input, other), {"alpha": alpha})
    a, b = _operands(input, other, "add")
    if alpha != 1:
        b = mul(b, alpha) if isinstance(b, Tensor) else scalar(b) * alpha
    return Add.apply(a, b, result_dtype(a, b))


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other, broadcasting."""
    if alpha == 1 and out is None and (t := _sub_fast(input, other)) is not None:
        return t
    if out is not None:
        return with_out(sub, "sub", out, (input, other), {"alpha": alpha})
    a, b = _operands(input, other, "sub")
    if alpha != 1:
        b = mul(b, alpha) if isinstance(b, Tensor) else scalar(b) * alpha
    return Sub.apply(a, b, result_dtype(a, b))


subtract = sub


def rsub(input, other, alpha=1):
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None):
    if out is None and (t := _mul_fast(input, other)) is not None:
        return t
    if out is not None:
        return with_out(mul, "mul", out, (input, other))
    a, b = _operands(input, other, "mul")
    return Mul.apply(a, b, result_dtype(a, b))


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give the default float dtype), or 'trunc'/'floor' rounding."""
    if rounding_mode is None and out is None and (t := _div_fast(input, other)) is not None:
        return t
    if out is not None:
        return with_out(div, "div", out, (input, other), {"rounding_mode": rounding_mode})
    a, b = _operands(input, other, "div")
    if rounding_mode in ("floor", "trunc"):
        if result_dtype(a, b).kind not in "fV":
            if rounding_mode == "floor":
                return floor_divide(a, b)
        from .unary import floor, trunc

        rounded = (floor if rounding_mode == "floor" else trunc)(
            Div.apply(a, b, _float_result(a, b)))
        return rounded.to(result_dtype(a, b))
    if rounding_mode is not None:
        raise BadArgumentError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}")
    return Div.apply(a, b, _float_result(a, b))


divide = true_divide = div


def _float_result(a, b):
    from .. import backend

    dt = result_dtype(a, b)
    return dt if dt.kind in "fV" else backend.get_default_dtype().np


def floor_divide(input, other, *, out=None):
    """Floor division (no gradient, as in PyTorch)."""
    if out is not None:
        return with_out(floor_divide, "floor_divide", out, (input, other))
    a, b = _operands(input, other, "floor_divide")
    dt = result_dtype(a, b)
    x = a._data if isinstance(a, Tensor) else scalar(a)
    y = b._data if isinstance(b, Tensor) else scalar(b)
    dev = (a if isinstance(a, Tensor) else b)._device
    if dt.kind in "iub" and dev.type == "cpu" and bool((np.asarray(y) == 0).any()):
        # as PyTorch on the CPU, which raises RuntimeError("ZeroDivisionError"); on a GPU
        # neither checks (reading the divisor back would stall the device)
        raise RuntimeError("ZeroDivisionError: integer division or modulo by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = array_module(x, y).floor_divide(cast(x, dt), cast(y, dt))
    return Tensor._make(_as_array(r, dt, dev), dev)


def remainder(input, other, *, out=None):
    """Python-style modulus (sign of the divisor); differentiable in the dividend."""
    if out is not None:
        return with_out(remainder, "remainder", out, (input, other))
    a, b = _operands(input, other, "remainder")
    q = floor_divide(a, b)
    if q._data.dtype.kind in "fV":
        return sub(a, mul(q.detach(), b))
    dev = q._device
    x = a._data if isinstance(a, Tensor) else scalar(a)
    y = b._data if isinstance(b, Tensor) else scalar(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = array_module(x, y).remainder(x, y)
    return Tensor._make(_as_array(r, q._data.dtype, dev), dev)


def fmod(input, other, *, out=None):
    """C-style remainder (sign of the dividend)."""
    if out is not None:
        return with_out(fmod, "fmod", out, (input, other))
    from .unary import trunc

    if not isinstance(input, Tensor):  # as PyTorch: only the divisor may be a number
        raise TypeError(f"fmod(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    a, b = _operands(input, other, "fmod")
    q = div(a, b)
    if q._data.dtype.kind in "fV" and result_dtype(a, b).kind in "fV":
        return sub(a, mul(trunc(q).detach(), b))
    x = a._data
    y = b._data if isinstance(b, Tensor) else scalar(b)
    dev = a._device
    if dev.type == "cpu" and bool((np.asarray(y) == 0).any()):
        # as PyTorch on the CPU (see floor_divide; a GPU is not checked, it would stall)
        raise RuntimeError("ZeroDivisionError: integer division or modulo by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = array_module(x, y).fmod(x, cast(y, result_dtype(a, b)))
    return Tensor._make(_as_array(r, result_dtype(a, b), dev), dev)


def _as_array(r, dt, dev):
    from .. import backend

    xp = backend.xp_for(dev)
    return xp.asarray(r, dtype=dt)


def pow(input, exponent, *, out=None):  # noqa: A001 - PyTorch's name
    if out is None and not _amp.on and (t := _pow_fast(input, exponent)) is not None:
        return t
    if out is not None:
        return with_out(pow, "pow", out, (input, exponent))
    if _amp.on:
        input, exponent = _amp.cast("pow", input, exponent)
    a, b = _operands(input, exponent, "pow")
    dt = result_dtype(a, b)
    if isinstance(a, Tensor) and a._data.dtype.kind in "iu" and isinstance(b, numbers.Integral) \
            and b < 0:
        raise RuntimeError("pow: Integers to negative integer powers are not allowed.")
    return Pow.apply(a, b, dt)


float_power = pow


def atan2(input, other, *, out=None):
    """Elementwise arctangent of input / other, with the quadrant from both signs."""
    if out is not None:
        return with_out(atan2, "atan2", out, (input, other))
    a, b = _operands(input, other, "atan2")
    return Atan2.apply(a, b, _float_result(a, b))


arctan2 = atan2


def maximum(input, other, *, out=None):
    if out is not None:
        return with_out(maximum, "maximum", out, (input, other))
    a, b = _operands(input, other, "maximum")
    _need_tensors(a, b, "maximum")
    return Maximum.apply(a, b, result_dtype(a, b))


def minimum(input, other, *, out=None):
    if out is not None:
        return with_out(minimum, "minimum", out, (input, other))
    a, b = _operands(input, other, "minimum")
    _need_tensors(a, b, "minimum")
    return Minimum.apply(a, b, result_dtype(a, b))


def _need_tensors(a, b, op):
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        raise TypeError(f"{op}(): argument 'other' must be Tensor, not a Python number")


fmax, fmin = maximum, minimum


# ----------------------------------------------------------------------------------------------
# floating-point functions of two arguments: log-sum-exp pairs, sign transfer, hypotenuse


def _logaddexp_forward(base):
    def f(xp, a, b):
        m = xp.maximum(a, b)
        d = -xp.abs(a - b)
        r = m + (xp.log1p(xp.exp(d)) if base == "e" else xp.log1p(xp.exp2(d)) / math.log(2))
        # equal infinities: a - b is NaN, the answer is the infinity itself
        return xp.where(xp.isinf(m) & (a == b), m, r)
    return f


def _logaddexp_vjp(xp, g, a, b, out):
    return g * xp.exp(a - out)


def _logaddexp_vjp_b(xp, g, a, b, out):
    return g * xp.exp(b - out)


Logaddexp = elementwise("Logaddexp", _logaddexp_forward("e"), _logaddexp_vjp, _logaddexp_vjp_b,
                        reads=("a out", "b out"), quiet=QUIET)
Logaddexp2 = elementwise("Logaddexp2", _logaddexp_forward("2"),
                         lambda xp, g, a, b, out: g * xp.exp2(a - out),
                         lambda xp, g, a, b, out: g * xp.exp2(b - out),
                         reads=("a out", "b out"), quiet=QUIET)
# d/da copysign(a, b) = out / a (the sign that was applied), 0 at a == 0; b gets a zero gradient
Copysign = elementwise("Copysign", lambda xp, a, b: xp.copysign(a, b),
                       lambda xp, g, a, b, out: g * xp.where(a == 0, 0,
                                                             out / xp.where(a == 0, 1, a)),
                       lambda xp, g, a, b, out: g * 0, reads=("a out", ""), quiet=QUIET)
Hypot = elementwise("Hypot", lambda xp, a, b: xp.hypot(a, b),
                    lambda xp, g, a, b, out: g * a / out,
                    lambda xp, g, a, b, out: g * b / out, reads=("a out", "b out"), quiet=QUIET)


def _float_only(a, b, op):
    """PyTorch has these ops for floating dtypes only."""
    dt = result_dtype(a, b)
    if dt.kind not in "fV":
        raise DtypeNotImplementedError(f'"{op}_cpu" not implemented for \'{_torch_name(dt)}\'')
    return dt


def _torch_name(dt) -> str:
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(np.dtype(dt).name, str(dt))


def logaddexp(input, other, *, out=None):
    """log(e**input + e**other), without overflow."""
    if out is not None:
        return with_out(logaddexp, "logaddexp", out, (input, other))
    a, b = _operands(input, other, "logaddexp")
    return Logaddexp.apply(a, b, _float_only(a, b, "logaddexp"))


def logaddexp2(input, other, *, out=None):
    """log2(2**input + 2**other), without overflow."""
    if out is not None:
        return with_out(logaddexp2, "logaddexp2", out, (input, other))
    a, b = _operands(input, other, "logaddexp2")
    return Logaddexp2.apply(a, b, _float_only(a, b, "logaddexp2"))


def copysign(input, other, *, out=None):
    """|input| with the sign of other (integers give the default float dtype)."""
    if out is not None:
        return with_out(copysign, "copysign", out, (input, other))
    a, b = _operands(input, other, "copysign")
    return Copysign.apply(a, b, _float_result(a, b))


def hypot(input, other, *, out=None):
    """sqrt(input**2 + other**2), without overflow; both arguments are tensors."""
    if out is not None:
        return with_out(hypot, "hypot", out, (input, other))
    a, b = _operands(input, other, "hypot")
    _need_tensors(a, b, "hypot")
    return Hypot.apply(a, b, _float_only(a, b, "hypot"))


def nextafter(input, other, *, out=None):
    """The next floating-point value after input towards other (no gradient, as PyTorch)."""
    if out is not None:
        return with_out(nextafter, "nextafter", out, (input, other))
    a, b = _operands(input, other, "nextafter")
    _need_tensors(a, b, "nextafter")
    dt = _float_only(a, b, "nextafter")
    xp = array_module(a._data, b._data)
    return Tensor._make(xp.nextafter(cast(a._data, dt), cast(b._data, dt)), a._device)


def _xlogy_forward(xp, a, b):
    if not hasattr(b, "shape"):  # a NumPy log of a Python number would be float64
        b = xp.asarray(b, dtype=a.dtype)
    return xp.where((a == 0) & ~xp.isnan(b), 0, a * xp.log(b))


# d/dx = log(y) (0 where x == 0 and y is not NaN), d/dy = x / y
Xlogy = elementwise("Xlogy", _xlogy_forward,
                    lambda xp, g, a, b, out: g * _xlogy_forward(xp, (a != 0).astype(g.dtype), b),
                    lambda xp, g, a, b, out: g * a / b, reads=("a b", "a b"), quiet=QUIET)


def xlogy(input, other, *, out=None):
    """input * log(other), 0 where input is 0 (unless other is NaN)."""
    if out is not None:
        return with_out(xlogy, "xlogy", out, (input, other))
    a, b = _operands(input, other, "xlogy")
    return Xlogy.apply(a, b, _float_result(a, b))


# ----------------------------------------------------------------------------------------------
# step function and the float's parts


def heaviside(input, values, *, out=None):
    """0 where input < 0, `values` where it is 0, 1 where it is > 0 (no gradient, as PyTorch;
    both tensors of one dtype)."""
    if out is not None:
        return with_out(heaviside, "heaviside", out, (input, values))
    a, b = _operands(input, values, "heaviside")
    _need_tensors(a, b, "heaviside")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    xp = array_module(a._data, b._data)
    x = a._data
    r = xp.where(x == 0, b._data, (x > 0).astype(x.dtype))
    return Tensor._make(xp.asarray(r, dtype=x.dtype), a._device)


def ldexp(input, other, *, out=None):
    """input * 2**other (integers give the default float dtype); differentiable in both."""
    if out is not None:
        return with_out(ldexp, "ldexp", out, (input, other))
    from .unary import exp2

    a, b = _operands(input, other, "ldexp")
    return mul(a, exp2(b) if isinstance(b, Tensor) else 2.0 ** float(b))


def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1) (0 for
    0); exponent is int32. The mantissa is differentiable."""
    if out is not None:
        return with_out(frexp, "frexp", out, (input,))

    from .unary import exp2

    if input._data.dtype.kind not in "fV":
        raise RuntimeError(f"torch.frexp() only supports floating-point dtypes, got "
                           f"{input.dtype}")
    xp = array_module(input._data)
    _, e = xp.frexp(input._data)
    exponent = Tensor._make(e.astype(np.int32), input._device)
    mantissa = div(input, exp2(Tensor._make(e.astype(input._data.dtype), input._device)))
    from .. import return_types

    return return_types.frexp(mantissa, exponent)
