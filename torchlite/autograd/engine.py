"""The backward engine: iterative reverse topological walk over Context nodes.

No recursion (a chain of 100,000 ops back-propagates fine), one gradient buffer per node output,
and each node's saved arrays are released as soon as its backward has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from . import grad_mode
from . import record as _record
from .anomaly import _anomaly_check, _nan_checks_on
from .function import AccumulateGrad, accumulator
from .owned import is_handed_over
from .record import recorders as _recorders


def _collect(roots):
    """Count, for every node reachable from `roots`, how many edges lead into it."""
    deps: dict = {}
    stack = []
    for node in roots:
        if node not in deps:
            deps[node] = 0
            stack.append(node)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            if child in deps:
                deps[child] += 1
            else:
                deps[child] = 1
                stack.append(child)
    return deps


# Callables queued by a hook during backward (queue_callback); run once when that backward ends,
# as DistributedDataParallel needs to wait for its last all-reduces.
_final_callbacks: list = []


def queue_callback(callback) -> None:
    """Run `callback()` once when the backward pass now running ends (as PyTorch's engine)."""
    _final_callbacks.append(callback)


def _add(buf, g):
    # Out of place on purpose: `g` may be an array another node or a user still holds.
    return g if buf is None else buf + g


def run_backward(tensors: Sequence[Tensor], grad_tensors: Sequence[Any], retain_graph: bool,
                 capture: list[Tensor] | None = None, accumulate: bool = True,
                 create_graph: bool = False) -> dict[int, Any]:
    """Back-propagate `grad_tensors` from `tensors`.

    With `accumulate`, leaf gradients are summed into `.grad`. With `capture` (a list of tensors),
    their gradients are returned instead, as `autograd.grad` needs. With `create_graph`, the
    backward pass is itself recorded (see graph_backward): gradients flow as DArrays, and the
    captured ones are returned as such.
    """
    call, to_leaf, retain = _call_backward, _to_leaf, _retain
    if create_graph:
        from . import graph_backward as gb

        call = _graph_call
        to_leaf, retain = gb.to_leaf, gb.retain
        grad_tensors = [gb.as_graph_grad(g) for g in grad_tensors]
    buffers: dict = {}
    roots: list[Any] = []  # graph nodes: Contexts and AccumulateGrads
    handed: set = set()  # arrays already stored somewhere: copy before storing them again
    captured: dict[int, Any] = {}
    capture_leaf: dict[int, list[int]] = {}
    capture_node: dict[tuple, list[int]] = {}
    for t in tensors if capture is None else list(tensors) + list(capture):
        if t._view is not None and t._view_version != t._vbox[0]:
            t._view.sync(t)  # a view whose base changed in place: rebuild its history
    if capture is not None:
        for k, t in enumerate(capture):
            if t.grad_fn is None:
                capture_leaf.setdefault(id(t), []).append(k)
            else:
                capture_node.setdefault((t.grad_fn, t._out_index), []).append(k)

    node: Any
    for t, g in zip(tensors, grad_tensors):
        handed.add(id(g))
        if t.grad_fn is None:
            if not t.requires_grad:
                raise RuntimeError(
                    "element 0 of tensors does not require grad and does not have a grad_fn"
                )
            node = accumulator(t)
            roots.append(node)
            buf = buffers.setdefault(node, [None])
            buf[0] = _add(buf[0], g)
        else:
            node = t.grad_fn
            roots.append(node)
            buf = buffers.setdefault(node, [None] * node.n_outputs)
            buf[t._out_index] = _add(buf[t._out_index], g)

    deps = _collect(roots)
    # one root (loss.backward()) has no edge leading into it: it starts the walk
    ready = [roots[0]] if len(roots) == 1 else [n for n in dict.fromkeys(roots) if deps[n] == 0]
    anomaly = _nan_checks_on()

    # set_grad_enabled(create_graph) as a `with` block, without its object and two calls
    mode = grad_mode._state
    prev_mode = mode.enabled
    mode.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if type(node) is AccumulateGrad:
                g = grads[0] if grads else None
                if g is None:
                    continue
                if _recorders:  # the profiler's hook
                    _record.run_node(node, grads, to_leaf, node.variable, g, handed, accumulate,
                                     capture_leaf, captured)
                else:
                    to_leaf(node.variable, g, handed, accumulate, capture_leaf, captured)
                continue

            if capture_node:
                for i, g in enumerate(grads):
                    for k in capture_node.get((node, i), ()):
                        captured[k] = g
            if node._retained:
                grads = retain(node, grads)

            if grads is None or (grads[0] is None if len(grads) == 1 else
                                 all(g is None for g in grads)):
                in_grads = (None,) * len(node.next_edges)  # nothing flows through this node
            elif _recorders:  # the profiler's hook
                in_grads = _record.run_node(node, grads, call, node, grads)
            else:
                in_grads = call(node, grads)
            if node._hooks:
                for hook in node._hooks:
                    hook(in_grads, grads)
            if anomaly:
                _anomaly_check(node, in_grads if not create_graph else
                               [g.t._data if g is not None else None for g in in_grads])
            if not retain_graph:
                node._release()

            for edge, g in zip(node.next_edges, in_grads):
                if edge is None:
                    continue
                child, idx = edge
                if g is not None:
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * child.n_outputs
                    buf[idx] = _add(buf[idx], g)
                left = deps[child] - 1
                deps[child] = left
                if not left:
                    ready.append(child)
    finally:
        mode.enabled = prev_mode
    while _final_callbacks:
        _final_callbacks.pop(0)()
    return captured


def _call_backward(node, grads):
    fn = node.fn
    if node._freed:
        from .function import _FREED_MSG

        raise RuntimeError(_FREED_MSG.format(node.name()))
    if node._versions:
        node.saved_tensors  # noqa: B018 - raises if a saved tensor was modified in place
    if len(grads) > 1 and node.materialize_grads and any(g is None for g in grads):
        grads = _materialize(node, grads)
    if fn._array_io:
        out = fn.backward(node, *grads)
    else:
        out = fn.backward(
            node, *[Tensor._make(g, _device_of(g)) if g is not None else None for g in grads]
        )
    if not isinstance(out, tuple):
        out = (out,)
    if len(out) != len(node.next_edges):
        out = _fit(node, out)
    if not fn._array_io:
        out = tuple(g._data if isinstance(g, Tensor) else g for g in out)
        out = _check_user_grads(node, out)
    return out


def _fit(node, out: tuple) -> tuple:
    """A backward's gradients, one per input edge: missing trailing Nones are added, extra
    trailing Nones dropped; any other count is an error."""
    n_in = len(node.next_edges)
    if len(out) < n_in:
        if all(e is None for e in node.next_edges[len(out):]):
            return out + (None,) * (n_in - len(out))
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {n_in}, got {len(out)})"
        )
    if len(out) > n_in:
        if any(g is not None for g in out[n_in:]):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(out)})"
            )
        return out[:n_in]
    return out


def _graph_call(node, grads):
    from .graph_backward import call_backward

    return call_backward(node, grads, _fit)


def _freed_error(node) -> RuntimeError:
    from .function import _FREED_MSG

    return RuntimeError(_FREED_MSG.format(node.name()))


def _materialize(node, grads):
    """Outputs that received no gradient get zeros, so backward always sees arrays."""
    meta = getattr(node, "_out_meta", None)
    if meta is None:
        return grads
    return tuple(g if g is not None else xp.zeros(shape, dtype) for g, (xp, shape, dtype)
                 in zip(grads, meta))


def _check_user_grads(node, out):
    out = list(out)
    for i, (g, meta) in enumerate(zip(out, node._in_meta)):
        if g is None or meta is None:
            continue
        shape, dtype = meta
        if tuple(g.shape) != tuple(shape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(g.shape)} but expected shape compatible with {list(shape)}"
            )
        if g.dtype != dtype.np:  # as PyTorch: a user's gradient is cast to the input's dtype
            out[i] = g.astype(dtype.np)
    return tuple(out)


def _device_of(arr):
    from ..backend import array_device

    return array_device(arr)


def _retain(node, grads):
    """Run the hooks and retain_grad requests registered on this node's outputs."""
    grads = list(grads) if grads is not None else [None] * node.n_outputs
    for idx, kind, obj in node._retained:
        g = grads[idx]
        if g is None:
            continue
        if kind == "hook":
            r = obj(Tensor._make(g, _device_of(g)))
            if r is not None:
                grads[idx] = r._data
            continue
        t = obj()
        if t is None:
            continue
        if t.grad is None:
            t.grad = Tensor._make(g.copy(), t._device)
        else:
            t.grad._data = t.grad._data + g
    return grads


def _settle_class(grad):
    """A sparse gradient (its array is torchlite.sparse storage) gets its layout's Tensor class;
    one that became dense again (sparse + dense accumulates to dense) goes back to Tensor."""
    cls = getattr(grad._data, "tensor_class", None)
    if cls is not None:
        grad.__class__ = cls
    elif getattr(type(grad), "_sparse_layout", False):
        grad.__class__ = Tensor


def _to_leaf(t, g, handed, accumulate, capture_leaf, captured):
    if g.shape != t._data.shape or g.dtype != t._data.dtype:
        raise RuntimeError(
            f"autograd: gradient of shape {tuple(g.shape)} and dtype {g.dtype} reached a leaf of "
            f"shape {tuple(t._data.shape)} and dtype {t._data.dtype} (a bug in an op's backward)"
        )
    if t._hooks:
        for hook in t._hooks:
            r = hook(t._make(g, t._device))
            if r is not None:
                g = r._data
    keys = capture_leaf.get(id(t)) if capture_leaf else None
    if keys:
        for k in keys:
            captured[k] = g if k not in captured else captured[k] + g
        return
    if not accumulate:
        return
    if t.grad is None:
        # Store a private copy when the array may be shared (a view, or handed out already).
        if id(g) in handed or (getattr(g, "base", None) is not None and not is_handed_over(g)):
            g = g.copy()
        handed.add(id(g))
        t.grad = t._make(g, t._device)
    else:
        t.grad._data = t.grad._data + g
    if type(t.grad) is not Tensor or getattr(type(g), "__array_ufunc__", 0) is None:
        _settle_class(t.grad)  # a sparse gradient, or a grad of another class (rare)
    if t._post_acc_hooks:
        for hook in tuple(t._post_acc_hooks):
            hook(t)
