"""Tensor's methods beyond its core state, gathered into one class, and `install()`.

tensor.py sits below autograd and the ops (they import it), so the methods that call them are
defined by mixin classes on the floor above, one per family (`_tensor_operators`, `_tensor_math`,
`_tensor_shape`, `_tensor_convert`, `_tensor_inplace` and `AutogradMethods` here). Type checkers
and editors see `TensorMethods` as Tensor's base class; at run time `install()` copies the
mixins' attributes onto Tensor itself, so that a method is found on the class's own dict (as fast
as when the ops were bound from a table) and is the same object the editor shows.
"""

from __future__ import annotations

from typing import Any

from . import autograd
from ._tensor_convert import ConversionMethods
from ._tensor_inplace import InplaceMethods
from ._tensor_math import ArithmeticMethods, ComparisonMethods, LinalgMethods, ReductionMethods
from ._tensor_operators import OperatorMethods
from ._tensor_shape import IndexingMethods, ShapeMethods
from ._tensor_sparse import SparseLayoutMethods
from .tensor import Tensor


class AutogradMethods:
    """Back-propagation from a tensor."""

    __slots__ = ()

    def backward(self: Any, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Compute d(self)/d(leaves) and accumulate it into the leaves' `.grad`."""
        autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                          inputs=inputs)


class TensorMethods(OperatorMethods, ArithmeticMethods, ReductionMethods, ComparisonMethods,
                    LinalgMethods, ShapeMethods, IndexingMethods, ConversionMethods,
                    InplaceMethods, AutogradMethods, SparseLayoutMethods):
    """Every method of Tensor that is not part of its core state (see the module docstring)."""

    __slots__ = ()


# what Python puts in every class's dict; not methods (`__hash__` is None in a class that
# defines `__eq__`: Tensor keeps hashing by identity)
_CLASS_ENTRIES = {"__module__", "__qualname__", "__doc__", "__slots__", "__dict__",
                  "__weakref__", "__hash__", "__annotations__", "__firstlineno__",
                  "__static_attributes__"}


def methods() -> dict[str, Any]:
    """The attributes that `install()` puts on Tensor, by name, as TensorMethods resolves them."""
    found: dict[str, Any] = {}
    for cls in TensorMethods.__mro__[:-1]:  # (not object)
        for name, value in vars(cls).items():
            if name not in _CLASS_ENTRIES and name not in found:
                found[name] = value
    return found


def install() -> None:
    """Copy the mixins' methods onto Tensor (once, when torchlite is imported)."""
    core = vars(Tensor)
    for name, value in methods().items():
        if name in core and core[name] is not value:
            raise RuntimeError(f"Tensor.{name} is defined both in tensor.py and in a mixin")
        setattr(Tensor, name, value)
