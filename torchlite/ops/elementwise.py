"""Binary elementwise ops with broadcasting: + - * / // % **, maximum/minimum (where, clamp,
lerp and addcmul/addcdiv are in ternary.py).

Operands are Tensors or Python/NumPy scalars. The public function computes PyTorch's result dtype
once; forward casts to it, and backward sums gradients back to each input's shape and dtype.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor
from .broadcast import broadcast_shapes
from .elementwise_factory import QUIET, array_module, cast, elementwise
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


def _pow_grad_base(xp, g, a, b, out):
    if isinstance(b, numbers.Number):
        return g * b * a ** (b - 1) if b != 0 else g * 0
    # x**0 has zero gradient even where x**-1 is inf (and 0 * inf is nan)
    return xp.where(b != 0, g * b * a ** (b - 1), 0).astype(out.dtype)


def _pow_grad_exponent(xp, g, a, b, out):
    # d(a**b)/db = a**b * log(a); PyTorch defines it as 0 where a == 0 and b >= 0
    return xp.where((a == 0) & (b >= 0), 0, g * out * xp.log(a)).astype(out.dtype)


Pow = elementwise("Pow", lambda xp, a, b: a**b, _pow_grad_base, _pow_grad_exponent,
                  reads=("a b out", "a b out"), quiet=QUIET)


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
    if out is not None:
        return with_out(add, "add", out, (input, other), {"alpha": alpha})
    a, b = _operands(input, other, "add")
    if alpha != 1:
        b = mul(b, alpha) if isinstance(b, Tensor) else scalar(b) * alpha
    return Add.apply(a, b, result_dtype(a, b))


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other, broadcasting."""
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
    if out is not None:
        return with_out(mul, "mul", out, (input, other))
    a, b = _operands(input, other, "mul")
    return Mul.apply(a, b, result_dtype(a, b))


multiply = mul


def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give the default float dtype), or 'trunc'/'floor' rounding."""
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
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
        )
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

    a, b = _operands(input, other, "fmod")
    q = div(a, b)
    if q._data.dtype.kind in "fV" and result_dtype(a, b).kind in "fV":
        return sub(a, mul(trunc(q).detach(), b))
    x = a._data if isinstance(a, Tensor) else scalar(a)
    y = b._data if isinstance(b, Tensor) else scalar(b)
    dev = (a if isinstance(a, Tensor) else b)._device
    return Tensor._make(_as_array(array_module(x, y).fmod(x, y), result_dtype(a, b), dev), dev)


def _as_array(r, dt, dev):
    from .. import backend

    xp = backend.xp_for(dev)
    return xp.asarray(r, dtype=dt)


def pow(input, exponent, *, out=None):  # noqa: A001 - PyTorch's name
    if out is not None:
        return with_out(pow, "pow", out, (input, exponent))
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
