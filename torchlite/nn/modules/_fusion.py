"""Which neighbouring modules `Sequential` may run as one fused node.

A `Linear` or `Conv2d` followed by a plain ReLU (and on the GPU also Sigmoid, Tanh, SiLU or
GELU) becomes one node with the activation fused in (nn/functional/fused_act.py); under CPU
autocast to float16/bfloat16, a Linear and a plain ReLU (ops/half_linear.py). Classes
with runs of their own say so (`_sequential_run`; nn/quantized/dynamic/chain.py). Only exact
classes are fused, so a subclass with its own forward runs as written, and only modules that
forward hooks cannot see into: with a hook on either module, or a global one, or a `forward`
replaced on the instance or the class, each module is called on its own.
"""

from __future__ import annotations

from ...amp import state as _amp
from ...tensor import Tensor
from .. import hooks as _hooks
from ..functional.conv import conv2d_act
from ..functional.fused_act import LinearAct, fuses
from ..functional.linear import check_linear
from .activation import GELU, ReLU, Sigmoid, SiLU, Tanh
from .conv import Conv2d
from .linear import Linear

_SIMPLE = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh", SiLU: "silu"}
_GELU = {"none": "gelu", "tanh": "gelu_tanh"}


def _activation(module) -> str | None:
    kind = type(module)
    if kind is GELU:
        return _GELU.get(module.approximate)
    return _SIMPLE.get(kind)


# the forwards the fused nodes stand for; a class patched since import is called as patched
_FORWARDS = {kind: kind.forward for kind in (Linear, Conv2d, GELU, *_SIMPLE)}


def _plain(module) -> bool:
    """Calling `module` is exactly its class's own forward, as defined here."""
    return plain_call(module, _FORWARDS[type(module)])


def try_fused(modules: tuple, i: int, input):
    """(output, index of the next module to call) when modules[i] and some after it run as one
    node on `input`, else None (call modules[i] on its own).

    A module class may offer its own such runs as `_sequential_run(modules, i, input)` (the
    dynamically quantized Linear does); then it alone decides."""
    first = modules[i]
    own = type(first)._sequential_run
    if own is not None:
        return own(modules, i, input)
    if i + 1 == len(modules):
        return None
    out = _linear_act(first, modules[i + 1], input)
    return None if out is None else (out, i + 2)


def plain_call(module, forward) -> bool:
    """Calling `module` is exactly `forward` (its class's own, as imported by the caller): no
    hooks on it or global ones, no forward replaced on the instance or the class."""
    return not (module._forward_pre_hooks or module._forward_hooks
                or _hooks._global_forward_pre_hooks or _hooks._global_forward_hooks
                or "forward" in module.__dict__ or type(module).forward is not forward)


def _linear_act(first, second, input):
    """second(first(input)) as one node when `first` is a Linear or Conv2d and `second` an
    activation fused for this input, else None."""
    kind = type(first)
    if (kind is not Linear and kind is not Conv2d) or not isinstance(input, Tensor):
        return None
    if _amp.on:  # under autocast: a Linear and a plain ReLU (ops/half_linear.py)
        if kind is Linear and type(second) is ReLU and _plain(first) and _plain(second):
            return _amp.fused_linear(input, first.weight, first.bias, True)
        return None
    act = _activation(second)
    if act is None or not _plain(first) or not _plain(second):
        return None
    weight, bias = first.weight, first.bias
    if not fuses(input._data, act, None if bias is None else bias._data):
        return None
    if kind is Linear:  # (`fuses` just passed: linear_act's own check would repeat it)
        return LinearAct.apply(input, weight, check_linear(input, weight, bias), act)
    x, padding = first._padded(input)
    return conv2d_act(x, weight, bias, first.stride, padding, first.dilation, first.groups, act)
