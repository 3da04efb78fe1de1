"""Bitwise ops on bool and integer tensors: and, or, xor, not, and the shifts.

Operands promote as PyTorch's arithmetic does (bool & int64 -> int64, uint8 | 300 wraps 300 into
uint8); a floating operand is refused, as PyTorch refuses it. Shifts by a negative amount or by
the dtype's width or more give 0 (-1 for a negative number shifted right), as PyTorch on the CPU,
where C leaves them undefined. None of these ops has a gradient.
"""

from __future__ import annotations

import numpy as np

from ..backend import xp_for
from ..tensor import Tensor
from .broadcast import broadcast_shapes
from .elementwise import _operands
from .elementwise_factory import cast
from .exceptions import DtypeNotImplementedError
from .out import with_out
from .promotion import result_dtype

_TORCH_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "bfloat16": "BFloat16"}


def integer_operands(input, other, op: str, allow_bool: bool = True):
    """(a, b, dtype, device): the raw operands of an integer op in PyTorch's result dtype; a
    floating result dtype is refused as PyTorch refuses it."""
    a, b = _operands(input, other, op)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(a).__name__}")
    dt = result_dtype(a, b)
    if dt.kind not in ("biu" if allow_bool else "iu"):
        name = _TORCH_NAMES.get(np.dtype(dt).name, "Bool" if dt.kind == "b" else str(dt))
        raise DtypeNotImplementedError(f'"{op}_cpu" not implemented for \'{name}\'')
    dev = (a if isinstance(a, Tensor) else b)._device
    xp = xp_for(dev)

    def arr(x):
        return cast(x._data, dt) if isinstance(x, Tensor) else xp.asarray(cast(x, dt), dtype=dt)

    return arr(a), arr(b), dt, dev


def _binary(name: str, f, allow_bool: bool = True, doc: str = ""):
    def fn(input, other, *, out=None) -> Tensor:
        if out is not None:
            return with_out(fn, name, out, (input, other), exact=True)
        if isinstance(input, Tensor) and isinstance(other, Tensor):  # two masks: the fast path
            x, y = input._data, other._data
            if x.dtype == y.dtype and x.dtype.kind in ("biu" if allow_bool else "iu") \
                    and input._device is other._device:
                if x.shape != y.shape:
                    broadcast_shapes(name, x.shape, y.shape)
                return Tensor._make(f(xp_for(input._device), x, y, x.dtype), input._device)
        x, y, dt, dev = integer_operands(input, other, name, allow_bool)
        return Tensor._make(f(xp_for(dev), x, y, dt), dev)

    fn.__name__ = name
    fn.__doc__ = doc
    return fn


def _shift(xp, x, s, dt, left: bool):
    bits = np.dtype(dt).itemsize * 8
    ok = (s >= 0) & (s < bits)
    s = xp.where(ok, s, 0).astype(dt, copy=False)
    if left:
        return xp.where(ok, xp.left_shift(x, s), 0).astype(dt, copy=False)
    fill = xp.where(x < 0, -1, 0) if np.dtype(dt).kind == "i" else 0
    return xp.where(ok, xp.right_shift(x, s), fill).astype(dt, copy=False)


bitwise_and = _binary("bitwise_and", lambda xp, a, b, dt: xp.bitwise_and(a, b),
                      doc="Bitwise AND of integer or bool tensors (logical AND for bool).")
bitwise_or = _binary("bitwise_or", lambda xp, a, b, dt: xp.bitwise_or(a, b),
                     doc="Bitwise OR of integer or bool tensors (logical OR for bool).")
bitwise_xor = _binary("bitwise_xor", lambda xp, a, b, dt: xp.bitwise_xor(a, b),
                      doc="Bitwise XOR of integer or bool tensors (logical XOR for bool).")
bitwise_left_shift = _binary("bitwise_left_shift",
                             lambda xp, a, b, dt: _shift(xp, a, b, dt, True), allow_bool=False,
                             doc="input << other, elementwise, for integer tensors.")
bitwise_right_shift = _binary("bitwise_right_shift",
                              lambda xp, a, b, dt: _shift(xp, a, b, dt, False), allow_bool=False,
                              doc="input >> other (arithmetic for signed dtypes), elementwise.")


def bitwise_not(input: Tensor, *, out=None) -> Tensor:
    """~input for integer tensors; logical NOT for bool."""
    if out is not None:
        return with_out(bitwise_not, "bitwise_not", out, (input,), exact=True)
    x = input._data
    if x.dtype.kind not in "biu":
        name = _TORCH_NAMES.get(np.dtype(x.dtype).name, str(x.dtype))
        raise DtypeNotImplementedError(f'"bitwise_not_cpu" not implemented for \'{name}\'')
    return Tensor._make(xp_for(input._device).invert(x), input._device)
