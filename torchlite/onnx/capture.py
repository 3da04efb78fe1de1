"""One forward pass, captured as a list of ops over named values (the exporter's Recorder).

Every top-level "op" event of the recording thread becomes an `OpRecord`: its Function class,
positional arguments (each Tensor replaced by a `Ref` to the value it holds), keyword attributes,
the output values and the path of the module that called it. A value is a graph input, a
parameter or buffer (by its state_dict name), an earlier op's output, or a constant: a Tensor
made outside the recorded ops (`torch.zeros` for an initial state, a mask built with NumPy),
whose array is copied when first used.

In-place writes (`x.add_(y)`, `ReLU(inplace=True)` without autograd) run the out-of-place op and
copy its result into `x`, bumping x's version: when a Tensor comes back with a new version, its
value is the latest op output holding the same array contents.

Modules of the `atomic` classes (the quantized layers, whose arithmetic runs on raw arrays) are
recorded whole, through the module forward hooks, as one OpRecord of their class with the module
itself as the keyword `module`. Any other module whose output no recorded op made is noted in
`opaque`, so that errors can name it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import record
from ..tensor import Tensor

_state = threading.local()


def exporting() -> bool:
    """Whether a capture for export is running on this thread."""
    return getattr(_state, "active", False)


@dataclass(frozen=True)
class Ref:
    """A value of the captured graph: ("input", i), ("param", name), ("op", k, j) or
    ("const", k, i) (argument i of op k, a constant)."""

    key: tuple


@dataclass
class OpRecord:
    fn: type
    args: tuple  # Tensors replaced by Refs
    kwargs: dict
    outs: list  # Ref or None per output
    out_arrays: list  # the outputs' arrays (CPU), None where no output
    module: str  # the calling module's path ("" for the model itself)
    consts: dict = field(default_factory=dict)  # argument index -> constant array


class Capture(record.Recorder):
    """Records the ops of one forward pass (use it as a context manager around the call);
    `watch` names the inputs and parameters first."""

    def __init__(self, module_names: dict[int, str], atomic: tuple[type, ...] = ()) -> None:
        self.ops: list[OpRecord] = []
        # modules recorded whole, as one op of their class (layers whose arithmetic runs on raw
        # arrays outside the recorded ops, such as the quantized ones)
        self._atomic = atomic
        self._open: list[bool] = []  # per module entered: recorded whole?
        # (path, class) of modules whose output no recorded op made, innermost first
        self.opaque: list[tuple[str, str]] = []
        self._values: dict[int, tuple[Ref, int, Tensor]] = {}
        self._snapshots: dict[Ref, np.ndarray] = {}  # each value's array when it was made
        # a tensor's array by id: ops such as embedding take the indices as a raw array
        self._arrays: dict[int, tuple[Ref, int, Tensor, Any]] = {}
        self._depth = 0
        self._thread = threading.get_ident()
        self._modules = module_names
        self._stack: list[str] = []
        self._hooks: list = []
        self._current: list[Any] = []

    # -- setup ---------------------------------------------------------------------------------
    def watch(self, t: Tensor, ref: Ref, snapshot: np.ndarray | None = None) -> None:
        """Name `t`'s value `ref`. `snapshot`: its array now, kept to recognise a view of it
        whose version counter moves with its base (parameters need none: nothing views them
        before a forward pass, and their own version moves only when they are written)."""
        self._values[id(t)] = (ref, t._version, t)
        if snapshot is not None and ref not in self._snapshots:
            self._snapshots[ref] = snapshot
        self._arrays[id(t._data)] = (ref, t._version, t, t._data)

    def __enter__(self) -> Capture:
        from ..nn import hooks

        self._hooks = [hooks.register_module_forward_pre_hook(self._enter_module),
                       hooks.register_module_forward_hook(self._leave_module, always_call=True)]
        _state.active = True
        record.add_recorder(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        record.remove_recorder(self)
        _state.active = False
        for h in self._hooks:
            h.remove()

    def _enter_module(self, module: Any, args: Any) -> None:
        self._stack.append(self._modules.get(id(module), type(module).__name__))
        whole = bool(self._atomic) and isinstance(module, self._atomic) and self._depth == 0
        self._open.append(whole)
        if whole:
            self._depth += 1  # the ops inside are the module's own business
            self._current.append(self._resolve_args(tuple(args)))

    def _leave_module(self, module: Any, args: Any, output: Any) -> None:
        whole = self._open.pop() if self._open else False
        if whole:
            self._depth -= 1
            outs = output if isinstance(output, tuple) else (output,)
            self._record(type(module), {"module": module}, outs)
        elif self._depth == 0:
            for o in output if isinstance(output, (tuple, list)) else (output,):
                if isinstance(o, Tensor) and self.ref_of(o) is None:
                    name = getattr(module, "_get_name", lambda: type(module).__name__)()
                    self.opaque.append((self.module_path(), name))
                    break
        if self._stack:
            self._stack.pop()

    def module_path(self) -> str:
        return self._stack[-1] if self._stack else ""

    # -- the recorder --------------------------------------------------------------------------
    def begin(self, event: record.Event) -> None:
        if event.kind != "op" or event.thread != self._thread:
            return
        self._depth += 1
        if self._depth == 1:
            self._current.append(self._resolve_args(event.inputs))

    def end(self, event: record.Event) -> None:
        if event.kind != "op" or event.thread != self._thread:
            return
        self._depth -= 1
        if self._depth or not self._current:
            return
        self._record(event.fn, dict(event.attrs), event.outputs or ())

    def _record(self, fn: type, kwargs: dict, outputs: Any) -> None:
        args, consts = self._current.pop()
        k = len(self.ops)
        outs: list[Ref | None] = []
        arrays: list[np.ndarray | None] = []
        for j, o in enumerate(outputs):
            if isinstance(o, Tensor):
                ref = Ref(("op", k, j))
                arr = _host(o._data).copy()
                self.watch(o, ref, arr)
                outs.append(ref)
                arrays.append(arr)
            else:
                outs.append(None)
                arrays.append(None)
        self.ops.append(OpRecord(fn, args, kwargs, outs, arrays, self.module_path(), consts))

    def _resolve_args(self, inputs: tuple) -> tuple[tuple, dict]:
        k = len(self.ops)
        args, consts = [], {}
        for i, a in enumerate(inputs):
            if isinstance(a, Tensor):
                ref = self.ref_of(a)
                if ref is None:
                    ref = Ref(("const", k, i))
                    consts[i] = _host(a._data).copy()
                args.append(ref)
            elif hasattr(a, "dtype") and hasattr(a, "shape") and id(a) in self._arrays:
                ref, version, t, arr = self._arrays[id(a)]
                args.append(ref if arr is a and t._version == version else a)
            else:
                args.append(a)
        return tuple(args), consts

    def ref_of(self, t: Tensor) -> Ref | None:
        """The value `t` holds now (None: a Tensor made outside the recorded ops)."""
        entry = self._values.get(id(t))
        if entry is None or entry[2] is not t:
            return None
        ref, version, _ = entry
        if t._version == version:
            return ref
        data = _host(t._data)
        own = self._snapshots.get(ref)
        if own is not None and _equal(own, data):  # a view sharing its base's version counter
            self._values[id(t)] = (ref, t._version, t)
            return ref
        first = ref.key[1] if ref.key[0] == "op" else -1
        for k in range(len(self.ops) - 1, first, -1):  # written in place: the op it took from
            rec = self.ops[k]
            for r, arr in zip(rec.outs, rec.out_arrays):
                if r is not None and _equal(arr, data):
                    self._values[id(t)] = (r, t._version, t)
                    return r
        return None


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(
        np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _host(a: Any) -> np.ndarray:
    """`a` as a NumPy array (a CuPy array is copied to the host)."""
    if isinstance(a, np.ndarray):
        return a
    from .. import backend

    return backend.to_host(a)
