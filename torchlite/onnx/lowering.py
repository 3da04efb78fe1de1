"""Captured ops to ONNX nodes: the walk over the capture, constant folding, and what each op's
converter sees (`OpCall`).

The exporter captures the forward pass once as given and once more per dynamic axis with that
axis one longer. The captures line up op by op; a size that differs between them is a `Sym`
(k * S + c), and a converter asks for sizes through `OpCall.dims` / `in_dims`, which say so,
while `OpCall.value` insists that an attribute is the same in every capture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .builder import Builder, Dim, Sym
from .capture import OpRecord, Ref
from .errors import OnnxExporterError, UnsupportedOperatorError

Converter = Callable[[Builder, "OpCall"], Any]
# the capture with other input values (same sizes): what differs there depends on the values
VALUES = "input values"


def _what(label: str) -> str:
    return "the input values" if label == VALUES else f"the dynamic axis {label!r}"


def opaque(modules: list[tuple[str, str]]) -> str:
    """An error's hint: the first module whose output no recorded op made."""
    if not modules:
        return ""
    path, cls = modules[0]
    return (f" (module '{path}' ({cls}) computes its output outside torchlite's recorded ops, "
            f"which the exporter cannot see)")


class Trace:
    """One capture: its ops, the arrays of every value, and the sizes of the dynamic axes."""

    def __init__(self, ops: list[OpRecord], arrays: dict[Ref, np.ndarray],
                 sizes: dict[str, int]) -> None:
        self.ops = ops
        self.opaque: list[tuple[str, str]] = []
        self.arrays = arrays
        self.sizes = sizes
        for k, rec in enumerate(ops):
            for i, arr in rec.consts.items():
                arrays[Ref(("const", k, i))] = arr
            for r, arr in zip(rec.outs, rec.out_arrays):
                if r is not None:
                    arrays[r] = arr


def _same(a: Any, b: Any) -> bool:
    if hasattr(a, "__cuda_array_interface__") or hasattr(b, "__cuda_array_interface__"):
        from ..backend import to_host

        a, b = to_host(a) if hasattr(a, "dtype") else a, to_host(b) if hasattr(b, "dtype") else b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, slice):
        return isinstance(b, slice) and _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if type(a).__eq__ is object.__eq__ and hasattr(a, "__dict__"):  # identity alone: compare
        return type(a) is type(b) and _same(vars(a), vars(b))  # their attributes instead
    try:
        return bool(a == b)
    except Exception:  # an == without a single answer
        return a is b


class OpCall:
    """One captured op as its converter sees it."""

    def __init__(self, low: Lowering, k: int) -> None:
        self._low = low
        self.k = k
        self.rec = low.main.ops[k]
        self.fn = self.rec.fn
        self.args = self.rec.args
        self.kwargs = self.rec.kwargs
        self.name = self.fn.__name__

    # -- inputs and outputs --------------------------------------------------------------------
    def input(self, i: int) -> str | None:
        """The ONNX name of tensor argument `i` (None when the argument is None)."""
        a = self.args[i]
        if a is None:
            return None
        if isinstance(a, Ref):
            return self._low.name_of(a, self)
        if hasattr(a, "dtype") and hasattr(a, "shape"):  # a raw array made outside the ops
            from ..backend import to_host

            arrays = [to_host(a)] + [to_host(t.ops[self.k].args[i])
                                     for t in self._low.others.values()]
            if all(_same(arrays[0], other) for other in arrays[1:]):
                return self._low.b.const(arrays[0], "onnx::Constant")
            return self._low.filled(arrays, self)
        raise self.error(f"argument {i} is not a tensor")

    def array(self, i: int) -> Any:
        """Argument `i` as captured: the array of a tensor argument, else the value itself."""
        a = self.args[i]
        return self._low.main.arrays[a] if isinstance(a, Ref) else a

    def source_of(self, i: int, shape: tuple) -> str | None:
        """The value of `shape` whose contents raw array argument `i` holds (flattened), in
        every capture: the ids an op took as `input._data.reshape(-1)`, say. None if none."""
        from ..backend import to_host

        low = self._low
        traces = [low.main, *low.others.values()]
        raws = [to_host(t.ops[self.k].args[i]).reshape(-1) for t in traces]
        for ref, arr in low.main.arrays.items():
            if ref.key[0] not in ("input", "op") or ref.key[0] == "op" and ref.key[1] >= self.k:
                continue
            if arr.shape != tuple(shape) or ref not in self._low.names and ref.key[0] != "input":
                continue
            if all(ref in t.arrays and t.arrays[ref].size == raw.size
                   and np.array_equal(t.arrays[ref].reshape(-1), raw)
                   for t, raw in zip(traces, raws)):
                return low.name_of(ref, self)
        return None

    def out(self, j: int = 0) -> np.ndarray:
        """The array output `j` had in the capture."""
        return self.rec.out_arrays[j]

    # -- attributes and sizes ------------------------------------------------------------------
    def _views(self, getter: Callable[[tuple, dict], Any]):
        main = getter(self.args, self.kwargs)
        for label, trace in self._low.others.items():
            rec = trace.ops[self.k]
            yield label, main, getter(rec.args, rec.kwargs)

    def value(self, i: int | str | Callable) -> Any:
        """An attribute (positional index, keyword name or getter(args, kwargs)) that must not
        depend on a dynamic axis."""
        getter = _getter(i)
        for label, main, other in self._views(getter):
            if not _same(main, other):
                raise self.error(f"its attribute {i!r} depends on {_what(label)} in a way the "
                                 f"exporter cannot express")
        return getter(self.args, self.kwargs)

    def dims(self, getter: int | str | Callable) -> list[Dim]:
        """A sequence of sizes (a shape argument, say), each an int or a Sym."""
        get = _getter(getter)
        main = [int(v) for v in get(self.args, self.kwargs)]
        per_label = {label: [int(v) for v in other]
                     for label, _, other in self._views(get)}
        return self._low.symbolic(main, per_label, self)

    def in_dims(self, i: int) -> list[Dim]:
        """The shape of tensor argument `i`, each size an int or a Sym."""
        ref = self.args[i]
        return self._low.symbolic(
            list(self._low.main.arrays[ref].shape),
            {label: list(t.arrays[ref].shape) for label, t in self._low.others.items()}, self)

    def out_dims(self, j: int = 0) -> list[Dim]:
        ref = self.rec.outs[j]
        return self._low.symbolic(
            list(self.out(j).shape),
            {label: list(t.arrays[ref].shape) for label, t in self._low.others.items()}, self)

    # -- errors --------------------------------------------------------------------------------
    def where(self) -> str:
        path = self.rec.module
        return f"module '{path}'" if path else "the model's own forward"

    def error(self, why: str) -> OnnxExporterError:
        return OnnxExporterError(f"ONNX export: op '{self.name}' (called from {self.where()}): "
                                 f"{why}")

    def unsupported(self, why: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(
            f"ONNX export: op '{self.name}' (called from {self.where()}) cannot be exported: "
            f"{why}")


def _getter(i: int | str | Callable) -> Callable[[tuple, dict], Any]:
    if callable(i):
        return i
    if isinstance(i, int):
        return lambda args, kwargs: args[i]
    return lambda args, kwargs: kwargs.get(i)


class Lowering:
    """Walks the main capture and emits ONNX through `converters` (op class -> converter)."""

    def __init__(self, b: Builder, main: Trace, others: dict[str, Trace],
                 converters: dict[type, Converter], fold: bool) -> None:
        self.b = b
        self.main = main
        self.others = others
        self.converters = converters
        self.fold = fold
        self.names: dict[Ref, str] = {}
        self.static: set[Ref] = set()  # values known without the graph's inputs
        self._missing: dict[Ref, OpCall] = {}  # outputs a converter did not produce

    # -- values --------------------------------------------------------------------------------
    def name_of(self, ref: Ref, op: OpCall | None = None) -> str:
        if ref in self.names:
            return self.names[ref]
        kind = ref.key[0]
        if kind == "param":
            name = self.b.initializer(self.main.arrays[ref], self.b.reserve(ref.key[1]))
        elif ref in self.static or (kind == "const" and all(
                _same(self.main.arrays[ref], t.arrays[ref]) for t in self.others.values())):
            name = self.b.const(self.main.arrays[ref], "onnx::Constant")
        elif kind == "const":
            name = self._dynamic_const(ref, op)
        else:
            raise OnnxExporterError(f"ONNX export: internal error, no value for {ref.key}")
        self.names[ref] = name
        return name

    def _dynamic_const(self, ref: Ref, op: OpCall | None) -> str:
        return self.filled([self.main.arrays[ref]] + [t.arrays[ref] for t in self.others.values()],
                           op)

    def filled(self, arrays: list[np.ndarray], op: OpCall | None) -> str:
        """A tensor made outside the recorded ops (`arrays`: its value in each capture, the main
        one first) whose shape follows a dynamic axis: a filled tensor (zeros for an initial
        state, say) becomes Expand of its value; any other cannot be exported."""
        arr = arrays[0]
        flat = arr.reshape(-1)
        uniform = flat.size > 0 and all(a.size == 0 or bool(np.all(a == flat[0]))
                                        for a in arrays)
        if not uniform or any(a.shape != arr.shape for lb, a in zip(self.others, arrays[1:])
                              if lb == VALUES):
            where = f"by op '{op.name}' in {op.where()}" if op is not None else "by the model"
            raise OnnxExporterError(
                f"ONNX export: a tensor computed outside torchlite's recorded ops (used {where}) "
                f"changes with the inputs; the graph would hold it as a constant. Only filled "
                f"tensors (zeros, ones, ...) may follow a dynamic size; compute the rest with "
                f"differentiable torchlite ops (comparisons, argmax and integer arithmetic are "
                f"not recorded){opaque(self.main.opaque)}")
        dims = self.symbolic(list(arr.shape), {lb: list(a.shape) for lb, a in
                                               zip(self.others, arrays[1:])}, op)
        return self.b.node("Expand", [self.b.scalar(flat[0], arr.dtype), self.b.shape(dims)])

    def symbolic(self, main: list[int], per_label: dict[str, list[int]],
                 op: OpCall | None) -> list[Dim]:
        out: list[Dim] = []
        if any(len(vals) != len(main) for vals in per_label.values()):
            raise (op or _NoOp).error("the number of dimensions changes with a dynamic axis")
        for pos, v in enumerate(main):
            moved = [(lb, vals[pos]) for lb, vals in per_label.items() if vals[pos] != v]
            if not moved:
                out.append(int(v))
                continue
            if len(moved) > 1:
                raise (op or _NoOp).error(
                    f"a size depends on several dynamic axes ({', '.join(m[0] for m in moved)})")
            label, v2 = moved[0]
            if label == VALUES:
                raise (op or _NoOp).error("a size depends on the input values")
            s1, s2 = self.main.sizes[label], self.others[label].sizes[label]
            k, rem = divmod(v2 - v, s2 - s1)
            if rem:
                raise (op or _NoOp).error(f"a size is not a multiple of dynamic axis {label!r}")
            out.append(Sym(label, k, v - k * s1))
        return out

    # -- the walk ------------------------------------------------------------------------------
    def run(self) -> None:
        for k, rec in enumerate(self.main.ops):
            for label, t in self.others.items():
                if k >= len(t.ops) or t.ops[k].fn is not rec.fn:
                    raise OnnxExporterError(
                        f"ONNX export: the model runs different ops when {_what(label)} "
                        f"change{'' if label == VALUES else 's size'} (op {k}, "
                        f"{rec.fn.__name__}, called from {rec.module or 'the model'}): "
                        f"data-dependent control flow cannot be traced")
            if self.fold and self._foldable(k, rec):
                self.static.update(r for r in rec.outs if r is not None)
                continue
            op = OpCall(self, k)
            conv = self.converters.get(rec.fn)
            if conv is None:
                raise op.unsupported("it has no ONNX form in this exporter")
            self.b.scope = rec.module
            outs = conv(self.b, op)
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            for r, name in zip(rec.outs, outs):
                if r is not None and name is not None:
                    self.names[r] = name
            for j, r in enumerate(rec.outs):
                if r is not None and (j >= len(outs) or outs[j] is None):
                    self._missing[r] = op
        self.b.scope = ""

    def _foldable(self, k: int, rec: OpRecord) -> bool:
        for a in rec.args:
            if isinstance(a, Ref):
                kind = a.key[0]
                if kind == "input" or (kind == "op" and a not in self.static):
                    return False
                if kind == "const" and not all(_same(self.main.arrays[a], t.arrays[a])
                                               for t in self.others.values()):
                    return False
        return all(r is None or all(_same(self.main.arrays[r], t.arrays[r])
                                    for t in self.others.values()) for r in rec.outs)

    def output(self, ref: Ref) -> str:
        if ref not in self.names and ref in self._missing:
            raise self._missing[ref].unsupported("this output of it is not exported")
        return self.name_of(ref)


class _NoOpError:
    @staticmethod
    def error(why: str) -> OnnxExporterError:
        return OnnxExporterError(f"ONNX export: {why}")


_NoOp = _NoOpError()
