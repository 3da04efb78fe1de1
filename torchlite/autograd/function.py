"""Function, the unit of differentiation, and Context, the graph node it records.

Two kinds of Function share one mechanism:

* library ops (subclasses of `Op`) see raw arrays: `forward(ctx, *arrays, **attrs)` returns an
  array (or a tuple of arrays) and `backward(ctx, *grads)` returns one array or None per input.
  Working on arrays keeps the hot path free of Tensor wrappers.
* user functions (subclasses of `Function`, as in PyTorch) see Tensors in both directions, so a
  PyTorch custom-autograd tutorial runs unchanged.

Every call to `apply` that needs a gradient creates one Context. The Context *is* the graph node:
it holds the edges to the inputs' nodes, whatever forward saved, and it is what `tensor.grad_fn`
returns.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ..backend import get_xp
from ..tensor import Tensor
from . import grad_mode
from . import record as _record
from .anomaly import _forward_trace
from .anomaly import _state as _anomaly_state
from .grad_fn_names import NAME_ATTRIBUTES, NAMED_BY_ATTRIBUTES, pytorch_name
from .record import recorders as _recorders


class Context:
    """The `ctx` of a Function call and the backward node of the graph (`tensor.grad_fn`)."""

    __slots__ = (
        "fn",
        "next_edges",
        "needs_input_grad",
        "n_outputs",
        "_saved",
        "_versions",
        "_non_diff",
        "_retained",
        "_hooks",
        "_freed",
        "_in_meta",
        "materialize_grads",
        "__dict__",
        "__weakref__",
    )

    next_edges: tuple
    _saved: tuple
    _versions: list | None
    _non_diff: tuple | None
    _retained: list | None
    _hooks: list | None
    _in_meta: tuple | None
    # set in the instance dict when needed: outputs' (xp, shape, dtype) of a multi-output op,
    # and the forward's stack under detect_anomaly
    _out_meta: tuple
    _anomaly_trace: Any

    def __init__(self, fn: type[Function], needs_input_grad: tuple) -> None:
        self.fn = fn
        self.needs_input_grad = needs_input_grad
        self.next_edges = ()
        self.n_outputs = 1
        self._saved = ()
        self._versions = None
        self._non_diff = None
        self._retained = None
        self._hooks = None
        self._freed = False
        self._in_meta = None
        self.materialize_grads = True

    # -- the PyTorch ctx API -------------------------------------------------------------------
    def save_for_backward(self, *items: Any) -> None:
        """Keep inputs or outputs for backward (changing them in place afterwards is an error)."""
        self._saved = items

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(_FREED_MSG.format(self.name()))
        if self._versions:
            for i, (box, version), _ in self._versions:
                if box[0] != version:
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been modified "
                        f"by an inplace operation: saved tensor {i} of {self.name()} is at version "
                        f"{box[0]}; expected version {version} instead."
                    )
        return self._saved

    def mark_non_differentiable(self, *outputs: Any) -> None:
        self._non_diff = outputs

    def mark_dirty(self, *tensors: Any) -> None:  # accepted for PyTorch compatibility
        pass

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    # -- node introspection --------------------------------------------------------------------
    def name(self) -> str:
        return pytorch_name(self)

    @property
    def next_functions(self) -> tuple:
        edges = self.next_edges
        meta = self._in_meta
        if meta is not None:
            # a user Function lists its Tensor arguments only, as PyTorch's does; a library op
            # keeps one entry per argument (it does not record which ones were Tensors)
            edges = tuple(e for e, m in zip(edges, meta) if m is not None)
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in edges)

    def register_hook(self, hook: Callable[[tuple, tuple], Any]) -> None:
        """`hook(grad_inputs, grad_outputs)` runs after this node's backward (PyTorch's form)."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def _release(self) -> None:
        """Drop saved arrays and attributes once backward has used them."""
        if self._saved or self.__dict__:
            self._freed = True
        self._saved = ()
        if self.fn.__name__ in NAMED_BY_ATTRIBUTES:  # grad_fn.name() still reads them
            d = self.__dict__
            kept = [(k, d[k]) for k in NAME_ATTRIBUTES if k in d]
            d.clear()
            d.update(kept)
            return
        self.__dict__.clear()


_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed) in {}. Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class AccumulateGrad:
    """The edge target for a leaf that requires grad: gradients arriving here go to `.grad`.

    A leaf has one such node while a graph uses it (the leaf keeps a weak reference to it), so
    a leaf used by several ops gets its gradients summed first and its hooks run once, with the
    total, as in PyTorch.
    """

    __slots__ = ("variable", "__weakref__")
    next_edges = ()
    n_outputs = 1

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def _edge_for(t):
    """The graph edge leading from an op back to input tensor `t`."""
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._out_index)
    return (accumulator(t), 0)


def accumulator(t: Tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node: the live one if a graph still holds it, else a new one."""
    ref = t._acc
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(t)
        t._acc = weakref.ref(node)
    return node


class _FunctionMeta(type):
    def __repr__(cls) -> str:
        return f"<class '{cls.__module__}.{cls.__qualname__}'>"


class Function(metaclass=_FunctionMeta):
    """Base for custom differentiable functions, as `torch.autograd.Function`.

    Subclass it with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`, then call
    `MyFn.apply(*args)`. forward sees Tensors (with grad recording off) and returns a Tensor or a
    tuple of Tensors; backward returns one gradient (Tensor or None) per forward argument.
    """

    _array_io = False  # library ops (Op) set True: they see raw arrays

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must implement a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "a Function subclass must implement a static backward(ctx, *grad_outputs)"
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        enabled = grad_mode._state.enabled
        device = None
        needs = []
        raw = []  # what an Op's forward sees: arrays for Tensors
        edges = []  # the graph edges to the inputs, built in the same pass (the hot path)
        any_grad = False
        for a in args:
            if isinstance(a, Tensor):
                if device is None:
                    device = a._device
                elif a._device is not device:
                    raise RuntimeError(
                        f"{cls.__name__}: expected all tensors to be on the same device, but found "
                        f"at least two devices, {device} and {a._device}"
                    )
                if a._view is not None and a._view_version != a._vbox[0]:
                    a._view.sync(a)  # a view whose base changed in place since its history was made
                r = a._requires_grad
                needs.append(r)
                raw.append(a._data)
                if r and enabled:
                    any_grad = True
                    edges.append(_edge_for(a))
                else:
                    edges.append(None)
            else:
                needs.append(False)
                raw.append(a)
                edges.append(None)
        record = any_grad
        ctx = Context(cls, tuple(needs))

        # the profiler's hook: with no recorder active, this test is all an op pays
        event = _recorders and _record.begin_op(cls, args, kwargs)
        try:
            if cls._array_io:
                # without keywords (most calls) the call skips unpacking an empty dict
                out = cls.forward(ctx, *raw, **kwargs) if kwargs else cls.forward(ctx, *raw)
            else:
                with grad_mode.no_grad():
                    out = cls.forward(
                        ctx, *[a.detach() if isinstance(a, Tensor) else a for a in args], **kwargs)
        except BaseException:
            if event:
                _record.fail(event)
            raise
        if device is None:
            device = _infer_device(out if isinstance(out, tuple) else (out,))
        if type(out) is not tuple and out is not None and not isinstance(out, Tensor):
            # one array out (most ops): the loop below without its list and tuple
            t = Tensor._make(out, device)
            if record:
                non_diff = ctx._non_diff
                if t._data.dtype.kind in "fcV" and not (non_diff and _is_marked(out, non_diff)):
                    t._requires_grad = True
                    t.grad_fn = ctx
                _record_node(ctx, cls, args, edges, (out,), (t,))
            else:
                ctx._saved = ()  # nothing will run backward: do not keep arrays alive
            if event:
                _record.end_op(event, [t])
            return t
        multi = isinstance(out, tuple)
        outs = out if multi else (out,)

        results: list[Tensor | None] = []
        non_diff = ctx._non_diff
        for i, o in enumerate(outs):
            if o is None:
                results.append(None)
                continue
            t = Tensor._make(o._data if isinstance(o, Tensor) else o, device)
            if record and t._data.dtype.kind in "fcV" and not (
                    non_diff and _is_marked(o, non_diff)):  # ("V": ml_dtypes' bfloat16)
                t._requires_grad = True
                t.grad_fn = ctx
                t._out_index = i
            results.append(t)

        if record:
            _record_node(ctx, cls, args, edges, outs, results)
        else:
            ctx._saved = ()  # nothing will run backward: do not keep arrays alive
        if event:
            _record.end_op(event, results)
        return tuple(results) if multi else results[0]


def _record_node(ctx: Context, cls, args, edges, outs, results) -> None:
    """Make `ctx` the graph node of this call: its edges, what its saved values belong to, the
    outputs' metadata and, under detect_anomaly, the forward's stack."""
    ctx.next_edges = tuple(edges)
    if ctx._saved:
        ctx._versions = _record_versions(ctx._saved, args, outs, results)
    if len(outs) > 1:
        ctx.n_outputs = len(outs)
        ctx._out_meta = tuple(
            (get_xp(r._data), r._data.shape, r._data.dtype) if r is not None else None
            for r in results
        )
    if _anomaly_state.enabled:  # is_anomaly_enabled(), without the call
        ctx._anomaly_trace = _forward_trace()
    if not cls._array_io:
        ctx._in_meta = tuple((a.shape, a.dtype) if isinstance(a, Tensor) else None for a in args)


class Op(Function):
    """Base for library ops: forward and backward work on raw arrays (numpy or cupy)."""

    _array_io = True


def _is_marked(o, non_diff) -> bool:
    if not non_diff:
        return False
    return any(o is m for m in non_diff)


def _infer_device(outs):
    from ..backend import array_device

    for o in outs:
        if o is not None:
            return o._device if isinstance(o, Tensor) else array_device(o)
    from ..backend import CPU

    return CPU


def _record_versions(saved, args, outs, results):
    """For each saved item, remember the version box of the tensor it belongs to, and which
    argument (j >= 0) or output (-1 - k) that tensor is, so that a graph of the backward pass
    can give it back its history."""
    versions = []
    for i, s in enumerate(saved):
        if s is None:  # an op saves None for what a needed-less gradient would have read
            continue
        box = None
        j = None
        if isinstance(s, Tensor):  # a user Function's (saved inputs are detached copies)
            box = s._vbox
            for k, (a, r) in enumerate(zip(outs, results)):  # a saved output: the user's tensor
                if a is s and r is not None:
                    box = r._vbox
                    j = -1 - k
            if j is None:
                for n, a in enumerate(args):
                    if isinstance(a, Tensor) and a._data is s._data:
                        j = n
                        break
        else:
            for n, a in enumerate(args):
                if isinstance(a, Tensor) and a._data is s:
                    box, j = a._vbox, n
                    break
            else:
                for k, (a, r) in enumerate(zip(outs, results)):
                    if a is s and r is not None:
                        box = r._vbox
                        j = -1 - k
                        break
        if box is not None:
            versions.append((i, (box, box[0]), j))
    return versions or None


from .once_differentiable import once_differentiable  # noqa: E402, F401 - PyTorch's location
