"""Running a node's backward so that it records a graph (`create_graph=True`).

The engine's walk is the same as without a graph; what changes is what flows along it: gradients
are `DArray`s (Tensors with history behind NumPy's array API), and each node's saved values are
put back in their places as Tensors with history before its own backward runs:

* a saved input becomes the input Tensor (the leaf itself, or a Tensor whose grad_fn is the
  input's node), so the second derivative reaches whatever produced it;
* a saved output becomes a Tensor whose grad_fn is this very node;
* anything else a forward kept (masks, indices, shapes) stays a constant, unless the op says
  how it depends on the inputs: an op class may define `graph_saved(ctx, saved) -> saved`,
  which returns the stand-ins with such intermediates given their history (the norms' xhat
  and invstd, see nn/functional/norm_stats.py).

An op whose backward is fused raw-array code (im2col buffers, strided views) defines
`graph_backward(ctx, *grads)` beside it: the same derivative written with differentiable ops,
used only here.
"""

from __future__ import annotations

from typing import Any

from ..backend import array_device
from ..tensor import Tensor
from .darray import DArray, raw, wrap
from .function import AccumulateGrad, Op


def as_graph_grad(g: Any) -> DArray | None:
    """A gradient (Tensor, raw array or DArray) as what flows in a graph-building pass."""
    if g is None or type(g) is DArray:
        return g
    return wrap(g)


def _input_tensor(node, j: int, arr) -> Tensor:
    edge = node.next_edges[j] if j < len(node.next_edges) else None
    if edge is None:
        return Tensor._make(arr, array_device(arr))
    child, idx = edge
    if type(child) is AccumulateGrad:
        return child.variable
    t = Tensor._make(arr, array_device(arr), requires_grad=True)
    t.grad_fn = child
    t._out_index = idx
    return t


def _output_tensor(node, k: int, arr) -> Tensor:
    t = Tensor._make(arr, array_device(arr), requires_grad=True)
    t.grad_fn = node
    t._out_index = k
    return t


def _constant(s):
    """A saved value with no history: floating arrays as DArrays (constants that mix with the
    differentiable values), masks and indices raw."""
    if getattr(s, "dtype", None) is not None and getattr(s.dtype, "kind", "") in "fcV" \
            and hasattr(s, "shape"):
        return wrap(s)
    return s


def _stand_ins(node) -> tuple:
    """The node's saved values with their history restored (see the module docstring)."""
    saved = node._saved
    array_io = node.fn._array_io
    # Function.apply recorded, per saved value, the argument (j >= 0) or output (-1 - k) it is
    src = {i: j for i, _, j in node._versions or ()}
    out = []
    for i, s in enumerate(saved):
        j = src.get(i)
        if j is None:
            out.append(_constant(s) if array_io else s)
            continue
        arr = s._data if isinstance(s, Tensor) else s
        t = _input_tensor(node, j, arr) if j >= 0 else _output_tensor(node, -1 - j, arr)
        out.append(DArray(t) if array_io else t)
    return tuple(out)


def call_backward(node, grads, fit) -> tuple:
    """`node`'s backward over stand-ins; returns one DArray (or None) per input edge.

    `fit` is the engine's check of the number of gradients a backward returned.
    """
    from .engine import _check_user_grads, _freed_error

    if node._freed:
        raise _freed_error(node)
    if node._versions:
        node.saved_tensors  # noqa: B018 - raises if a saved tensor was modified in place
    grads = [as_graph_grad(g) for g in grads]
    if len(grads) > 1 and node.materialize_grads and any(g is None for g in grads):
        meta = node.__dict__.get("_out_meta")
        if meta is not None:
            grads = [g if g is not None else wrap(xp.zeros(shape, dtype))
                     for g, (xp, shape, dtype) in zip(grads, meta)]
    fn = node.fn
    saved = node._saved
    stand = _stand_ins(node)
    restore = getattr(fn, "graph_saved", None)
    node._saved = restore(node, stand) if restore is not None else stand
    try:
        if fn._array_io:
            # an op whose fast backward is fused raw kernels has a graph formulation beside it
            graph_form = getattr(fn, "graph_backward", None)
            out = (graph_form or fn.backward)(node, *grads)
        else:
            out = fn.backward(node, *[g.t if g is not None else None for g in grads])
    finally:
        node._saved = saved
    if not isinstance(out, tuple):
        out = (out,)
    out = fit(node, out)
    out = tuple(as_graph_grad(g) for g in out)
    if not fn._array_io:
        out = _check_user_grads(node, out)
    return out


def to_leaf(t: Tensor, g: DArray, handed, accumulate, capture_leaf, captured) -> None:
    """A leaf's gradient in a graph-building pass: `.grad` keeps its history."""
    if g.shape != t._data.shape or g.dtype != t._data.dtype:
        raise RuntimeError(
            f"autograd: gradient of shape {tuple(g.shape)} and dtype {g.dtype} reached a leaf of "
            f"shape {tuple(t._data.shape)} and dtype {t._data.dtype} (a bug in an op's backward)"
        )
    if t._hooks:
        for hook in t._hooks:
            r = hook(g.t)
            if r is not None:
                g = wrap(r)
    keys = capture_leaf.get(id(t)) if capture_leaf else None
    if keys:
        for k in keys:
            captured[k] = g if k not in captured else captured[k] + g
        return
    if not accumulate:
        return
    if t.grad is None:
        t.grad = g.t
    else:
        t.grad = t.grad + g.t
    post = getattr(t, "_post_acc_hooks", None)
    if post:
        for hook in tuple(post):
            hook(t)


def retain(node, grads) -> list:
    """Hooks and retain_grad requests on the node's outputs, in a graph-building pass."""
    grads = list(grads) if grads is not None else [None] * node.n_outputs
    for idx, kind, obj in node._retained:
        g = grads[idx]
        if g is None:
            continue
        if kind == "hook":
            r = obj(g.t)
            if r is not None:
                grads[idx] = as_graph_grad(r)
            continue
        t = obj()
        if t is None:
            continue
        t.grad = g.t if t.grad is None else t.grad + g.t
    return grads


def hang(op, edges: tuple, outputs: tuple, **attrs) -> list:
    """Tensors with history for `outputs`, values a forward of `op` already computed from the
    inputs on `edges`, through a node of `op` built without running its forward again.

    For `graph_saved`: an intermediate a forward kept (log_softmax inside cross_entropy, a
    norm's statistics) becomes the output of the op that computes it from the input, provided
    that op's backward reads only its outputs (saved in order) and the attributes given here.
    """
    from ..backend import get_xp
    from .function import Context

    ctx = Context(op, tuple(e is not None for e in edges))
    ctx.next_edges = tuple(edges)
    ctx.n_outputs = len(outputs)
    for k, v in attrs.items():
        setattr(ctx, k, v)
    ctx._saved = tuple(outputs)
    ctx._versions = [(k, ([0], 0), -1 - k) for k in range(len(outputs))]  # saved = outputs
    if len(outputs) > 1:
        ctx._out_meta = tuple((get_xp(a), a.shape, a.dtype) for a in outputs)
    return [_output_tensor(ctx, k, a) for k, a in enumerate(outputs)]


class _Underivable(Op):
    """The history of a gradient PyTorch cannot differentiate again: backward raises the
    error its node carries (`hang(_Underivable, edges, values, error=...)`)."""

    @staticmethod
    def forward(ctx, *args):  # never run: refuse_double_backward builds the node directly
        raise RuntimeError("_Underivable has no forward")

    @staticmethod
    def backward(ctx, *grads):
        raise ctx.error


def refuse_double_backward(what: str):
    """A `graph_backward` for an op whose backward PyTorch does not differentiate (cdist,
    embedding_bag): the gradients are computed as usual and get a history (through the
    gradient and the op's inputs) whose own backward raises PyTorch's NotImplementedError,
    naming PyTorch's backward function `what`."""

    def graph_backward(ctx, *grads):
        out = ctx.fn.backward(ctx, *grads)
        out = out if isinstance(out, tuple) else (out,)
        values = [raw(g) for g in out]
        edges = list(ctx.next_edges)
        for g in grads:
            t = g.t if type(g) is DArray else None
            if t is not None and t.requires_grad:
                edges.append(_edge_of(t))
        live = [v for v in values if v is not None]
        if not live:
            return out
        error = NotImplementedError(f"the derivative for '{what}' is not implemented.")
        hung = iter(hang(_Underivable, tuple(edges), tuple(live), error=error))
        return tuple(DArray(next(hung)) if v is not None else None for v in values)

    return graph_backward


def _edge_of(t: Tensor):
    from .function import _edge_for

    return _edge_for(t)
