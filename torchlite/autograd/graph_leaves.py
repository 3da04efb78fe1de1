"""The leaves a graph reaches: which tensors that require grad an output depends on."""

from __future__ import annotations

from ..tensor import Tensor


def leaves_reached(outputs, exclude=()) -> list:
    """The leaf tensors requiring grad that the graphs of `outputs` reach, in the order found,
    `exclude` (tensors) left out. Used to find the weights a function captured."""
    skip = {id(t) for t in exclude}
    found, seen = [], set()
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:  # an AccumulateGrad node: a leaf
            if id(variable) not in skip and variable.requires_grad:
                found.append(variable)
            continue
        stack.extend(nxt for nxt, _ in getattr(node, "next_functions", ()) if nxt is not None)
    return found
