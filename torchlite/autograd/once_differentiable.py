"""`once_differentiable`, as `torch.autograd.function.once_differentiable`: a custom Function's
backward that is not itself differentiable."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..tensor import Tensor

_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a Function's static backward: it runs without recording, and when a graph of
    the backward pass is built its results get a history whose backward raises PyTorch's
    RuntimeError."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        from .function import _edge_for
        from .grad_mode import is_grad_enabled, no_grad
        from .graph_backward import _Underivable, hang

        with no_grad():
            outputs = fn(ctx, *args)
        edges = tuple(_edge_for(a) for a in args if isinstance(a, Tensor) and a.requires_grad)
        if not is_grad_enabled() or not edges:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        live = [o for o in outs if isinstance(o, Tensor)]
        if not live:
            return outputs
        hung = iter(hang(_Underivable, edges, tuple(o._data for o in live),
                         error=RuntimeError(_MSG)))
        result = tuple(next(hung) if isinstance(o, Tensor) else o for o in outs)
        return result[0] if single else result

    return wrapper
