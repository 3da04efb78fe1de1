"""Tensor's Python operators: `+ - * / // % ** @`, their reflected and augmented forms,
comparisons, bitwise operators on integer and bool tensors, and `x[key]` / `x[key] = v`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tensor_inplace import make_inplace
from ._tensor_math import abs_any, neg_any
from .ops import bitwise, creation, indexing, linalg, unary
from .ops import comparison as cmp
from .ops import elementwise as ew
from .tensor import Tensor


class OperatorMethods:
    """The operators of a Tensor, each the torchlite function of the same meaning."""

    __slots__ = ()

    __add__ = ew.add
    __sub__ = ew.sub
    __mul__ = ew.mul
    __truediv__ = ew.div
    __floordiv__ = ew.floor_divide
    __mod__ = ew.remainder
    __pow__ = ew.pow
    __matmul__ = linalg.matmul

    def __radd__(self: Any, other: Any) -> Tensor:
        return ew.add(other, self)

    def __rsub__(self: Any, other: Any) -> Tensor:
        return ew.sub(other, self)

    def __rmul__(self: Any, other: Any) -> Tensor:
        return ew.mul(other, self)

    def __rtruediv__(self: Any, other: Any) -> Tensor:
        return ew.div(other, self)

    def __rfloordiv__(self: Any, other: Any) -> Tensor:
        return ew.floor_divide(other, self)

    def __rmod__(self: Any, other: Any) -> Tensor:
        return ew.remainder(other, self)

    def __rpow__(self: Any, other: Any) -> Tensor:
        return ew.pow(other, self)

    def __rmatmul__(self: Any, other: Any) -> Tensor:
        return linalg.matmul(creation.as_tensor(other, dtype=self.dtype, device=self._device),
                             self)

    __iadd__ = make_inplace(ew.add)
    __isub__ = make_inplace(ew.sub)
    __imul__ = make_inplace(ew.mul)
    __itruediv__ = make_inplace(ew.div)
    __ifloordiv__ = make_inplace(ew.floor_divide)
    __imod__ = make_inplace(ew.remainder)
    __ipow__ = make_inplace(ew.pow)

    __neg__ = neg_any
    __abs__ = abs_any

    def __pos__(self: Any) -> Tensor:
        return self

    def __invert__(self: Any) -> Tensor:
        if self._data.dtype == np.bool_:
            return unary.logical_not(self)
        return unary.bitwise_not(self)

    def __and__(self: Any, other: Any) -> Tensor:
        return unary.bitwise_and(self, other)

    def __or__(self: Any, other: Any) -> Tensor:
        return unary.bitwise_or(self, other)

    def __xor__(self: Any, other: Any) -> Tensor:
        return unary.bitwise_xor(self, other)

    __rand__ = __and__
    __ror__ = __or__
    __rxor__ = __xor__
    __lshift__ = bitwise.bitwise_left_shift
    __rshift__ = bitwise.bitwise_right_shift

    def __rlshift__(self: Any, other: Any) -> Tensor:
        return bitwise.bitwise_left_shift(other, self)

    def __rrshift__(self: Any, other: Any) -> Tensor:
        return bitwise.bitwise_right_shift(other, self)

    __iand__ = make_inplace(bitwise.bitwise_and)
    __ior__ = make_inplace(bitwise.bitwise_or)
    __ixor__ = make_inplace(bitwise.bitwise_xor)
    __ilshift__ = make_inplace(bitwise.bitwise_left_shift)
    __irshift__ = make_inplace(bitwise.bitwise_right_shift)

    # == and != compare elementwise; a value that cannot be compared (None, a string) makes
    # Python fall back to identity, so `t == None` is False and `t in [None]` works
    def __eq__(self: Any, other: Any) -> Tensor:  # type: ignore[override]
        try:
            return cmp.eq(self, other)
        except TypeError:
            return NotImplemented

    def __ne__(self: Any, other: Any) -> Tensor:  # type: ignore[override]
        try:
            return cmp.ne(self, other)
        except TypeError:
            return NotImplemented

    __lt__ = cmp.lt
    __le__ = cmp.le
    __gt__ = cmp.gt
    __ge__ = cmp.ge

    __getitem__ = indexing.getitem
    __setitem__ = indexing.setitem
