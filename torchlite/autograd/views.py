"""Views, in-place ops and version counters: how tensors that share memory stay consistent.

Version counter. Every tensor has `_vbox`, a one-element list holding its version; tensors that
share memory (a view and its base, `detach()`, a Parameter and the tensor it wraps) share the
list, and every in-place change bumps it (`Tensor._bump`). A graph node remembers the version of
each tensor it saved (`function._record_versions`) and its `saved_tensors` raises if a saved
tensor was modified in place after being saved, so backward never uses overwritten values.

Views. A view op (reshape/view, permute/transpose, expand, basic indexing, diagonal) returns a
tensor whose array is a view of its input's array; `view_of` gives that tensor a `View` record:
its base, the view op and the op's arguments. The record serves two directions:

* the base (or another view of it) changed in place: the view shows the new values, so its
  history must include the change. `View.sync` re-runs the view op on the base, as PyTorch
  regenerates a view's grad_fn. `tensor._view_version` is the version that the view's history
  belongs to; `Tensor.requires_grad`/`is_leaf`, `Function.apply` and the engine call `sync` when
  it is stale (a method on the record, so that tensor.py and function.py need not import this
  module, which builds on them).
* the view changed in place: the base's history must include the change. `rebase` gives the
  base a `ViewWrite` node (PyTorch's CopySlices), and the base's base after it, up the chain.

In-place ops. `inplace(t, fn, ...)` runs an out-of-place op and writes its result into t's
memory; with autograd recording, t takes over the result's history (`rebase`). `check_inplace`
refuses a recorded in-place change of a leaf that requires grad, or of a view of one.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from ..backend import get_xp
from ..tensor import Tensor
from . import grad_mode
from .function import Function, Op


class View:
    """How a view tensor was made from its base: enough to redo it (with or without a graph)."""

    __slots__ = ("base", "op", "args", "writable", "recorded", "base_fn")

    def __init__(self, base: Tensor, op: type[Function], args: tuple, writable: bool) -> None:
        self.base = base
        self.op = op
        self.args = args
        # an expanded view is read-only: in-place changes through it never reach the base
        self.writable = writable
        # A view made without grad recording has no history to rebuild; it only remembers which
        # history its base had then, to detect a later recorded in-place change of the base.
        self.recorded = grad_mode._state.enabled
        self.base_fn = None if self.recorded else base.grad_fn

    def sync(self, t: Tensor) -> None:
        """Rebuild view `t`'s history from its base's after an in-place change of their memory.

        Callers check `t._view is not None and t._view_version != t._vbox[0]` first (cheap for
        tensors that are not views).
        """
        base = self.base
        if base._view is not None and base._view_version != base._vbox[0]:
            base._view.sync(base)
        enabled = grad_mode._state.enabled
        if not self.recorded:
            if base.grad_fn is not self.base_fn and enabled:
                raise RuntimeError(
                    "A view was created in no_grad mode and its base or another view of its base "
                    "has been modified inplace with grad mode enabled. Given that this use case "
                    "is ambiguous and error-prone, it is forbidden. You can clarify your code by "
                    "moving both the view and the inplace either both inside the no_grad block "
                    "(if you don't want the inplace to be tracked) or both outside (if you want "
                    "the inplace to be tracked)."
                )
            if enabled:
                t._view_version = t._vbox[0]
            return
        t._view_version = t._vbox[0]
        if not base._requires_grad:
            return
        grad_mode._state.enabled = True
        try:
            new = self.op.apply(base, *self.args)
        finally:
            grad_mode._state.enabled = enabled
        t.grad_fn, t._out_index, t._requires_grad = new.grad_fn, new._out_index, True


def view_of(out: Tensor, base: Tensor, op: type[Function], *args: Any,
            writable: bool = True) -> Tensor:
    """Mark `out` (the result of `op.apply(base, *args)`) as a view of `base`.

    A view writes through to its base, so both share the version counter. `op.forward` run on a
    raw array must return a view of that array (no copy): `_region` relies on it.
    """
    out._vbox = base._vbox
    out._view = View(base, op, args, writable)
    out._view_version = out._vbox[0]
    return out


def _mark_synced(t: Tensor | None) -> None:
    """`t` (and the views it is a view of) just got a history matching the current version."""
    while t is not None and t._view is not None:
        t._view_version = t._vbox[0]
        t = t._view.base


def _writable_base(t: Tensor) -> Tensor | None:
    view = t._view
    return view.base if view is not None and view.writable else None


def check_inplace(t: Tensor) -> None:
    """Refuse a recorded in-place change to a leaf that requires grad, or to a view of one."""
    v: Tensor | None = t
    while v is not None:
        if v.grad_fn is None and v._requires_grad:
            what = "a leaf Variable" if v is t else "a view of a leaf Variable"
            raise RuntimeError(
                f"{what} that requires grad is being used in an in-place operation."
            )
        v = _writable_base(v)


def rebase(t: Tensor, result: Tensor) -> None:
    """Make `t` hold `result`'s values in its own memory and take over its graph history."""
    t._data[...] = result._data
    t._bump()
    t._requires_grad = result._requires_grad
    t.grad_fn = result.grad_fn
    t._out_index = result._out_index
    _mark_synced(t)  # t and the views it belongs to hold this version's history after write-back
    if t._requires_grad and t._view is not None and t._view.writable:
        _write_back(t, t._view)


def _write_back(view: Tensor, record: View) -> None:
    base = record.base
    new = ViewWrite.apply(base, view, record.op, record.args)
    base._requires_grad = True
    base.grad_fn = new.grad_fn
    base._out_index = 0
    if base._view is not None and base._view.writable:
        _write_back(base, base._view)


def _region(a, op: type[Function], args: tuple):
    """The region of array `a` (shaped as the base) that a view made by `op(*args)` covers."""
    return op.forward(SimpleNamespace(), a, *args)


class ViewWrite(Op):
    """The base's new history after an in-place change through one of its views: the old base
    with the view's region replaced (PyTorch's CopySlices). The memory already holds the values."""

    @staticmethod
    def forward(ctx, base, value, op, args):
        ctx.op, ctx.args, ctx.dtype = op, args, value.dtype
        return base

    @staticmethod
    def backward(ctx, g):
        gb = gv = None
        if ctx.needs_input_grad[0]:
            gb = g.copy()
            _region(gb, ctx.op, ctx.args)[...] = 0
        if ctx.needs_input_grad[1]:
            gv = get_xp(g).ascontiguousarray(_region(g, ctx.op, ctx.args)).astype(
                ctx.dtype, copy=False)
        return gb, gv, None, None


def _category(dt) -> int:
    return 0 if dt.kind == "b" else 1 if dt.kind in "iu" else 2


def inplace(t: Tensor, fn: Callable[..., Tensor], *args: Any, **kwargs: Any) -> Tensor:
    """Run the out-of-place op `fn(t, *args, **kwargs)` and write its result into t's memory.

    With autograd recording, t takes over the result's graph node (PyTorch's in-place
    semantics); a leaf that requires grad refuses, as in PyTorch.
    """
    tensors = [a for a in args if isinstance(a, Tensor)]
    record = grad_mode._state.enabled and (
        t.requires_grad or any(a.requires_grad for a in tensors)
    )
    if record:
        check_inplace(t)
        # The op runs on a snapshot of t: it may save its input for backward, and t's memory is
        # overwritten below. The snapshot carries t's place in the graph.
        src = Tensor._make(t._data.copy(), t._device, t._requires_grad)
        src.grad_fn, src._out_index = t.grad_fn, t._out_index
        args = tuple(src if a is t else a for a in args)
        result = fn(src, *args, **kwargs)
    elif grad_mode._state.enabled:
        with grad_mode.no_grad():
            result = fn(t, *args, **kwargs)
    else:  # already off (an update under no_grad, the usual case): no second switch
        result = fn(t, *args, **kwargs)
    if _category(result._data.dtype) > _category(t._data.dtype):
        raise RuntimeError(
            f"result type {result.dtype} can't be cast to the desired output type {t.dtype}"
        )
    if result._data.shape != t._data.shape:
        raise RuntimeError(
            f"output with shape {list(t._data.shape)} doesn't match the broadcast shape "
            f"{list(result._data.shape)}"
        )
    if record:
        if result._data.dtype != t._data.dtype:
            result = result.to(t.dtype)
        rebase(t, result)
    else:
        t._data[...] = result._data
        t._bump()
    return t
