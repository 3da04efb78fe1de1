"""Which neighbouring modules `Sequential` may run as one fused Op.

A `Linear` followed by a plain ReLU (and on the GPU also Sigmoid, Tanh, SiLU or GELU) becomes
one `linear_act` node (nn/functional/linear_act.py). Only exact classes are fused, so a
subclass with its own forward runs as written, and only modules that forward hooks cannot see
into: with a hook on either module, or a global one, or a `forward` replaced on the instance,
each module is called on its own.
"""

from __future__ import annotations

from ...tensor import Tensor
from .. import hooks as _hooks
from ..functional.linear_act import fuses, linear_act
from .activation import GELU, ReLU, Sigmoid, SiLU, Tanh
from .linear import Linear

_SIMPLE = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh", SiLU: "silu"}
_GELU = {"none": "gelu", "tanh": "gelu_tanh"}


def _activation(module) -> str | None:
    kind = type(module)
    if kind is GELU:
        return _GELU.get(module.approximate)
    return _SIMPLE.get(kind)


def _plain(module) -> bool:
    """Calling `module` is exactly `type(module).forward(module, ...)`."""
    return not (module._forward_pre_hooks or module._forward_hooks
                or "forward" in module.__dict__)


def try_linear_act(first, second, input):
    """act(first(input)) as one node when `first` is a Linear and `second` an activation that
    `linear_act` fuses for this input, else None (call the modules one by one)."""
    if type(first) is not Linear or not isinstance(input, Tensor):
        return None
    act = _activation(second)
    if (act is None or _hooks._global_forward_pre_hooks or _hooks._global_forward_hooks
            or not _plain(first) or not _plain(second) or not fuses(input._data, act)):
        return None
    return linear_act(input, first.weight, first.bias, act)
