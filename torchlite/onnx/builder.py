"""The ONNX graph under construction: nodes, initializers, unique names, and sizes that follow a
dynamic axis.

A size the model computed from a dynamic axis is a `Sym`: k * S + c, where S is the axis' size
at run time (read from the graph input with Shape and Gather, once per axis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Sym:
    """The size k * S + c, S the size of dynamic axis `label`."""

    label: str
    k: int
    c: int


Dim = int | Sym


class Builder:
    """Collects nodes and initializers; every helper returns the name of the value it made."""

    def __init__(self, onnx: Any, sources: dict[str, tuple[str, int]], opset: int) -> None:
        self.onnx = onnx
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._taken: set[str] = set()
        self._sources = sources  # label -> (graph input name, axis)
        self._sizes: dict[str, str] = {}
        self._consts: dict[tuple, str] = {}
        self.scope = ""  # the module path of the op being lowered, for node names

    def child(self) -> Builder:
        """A builder for a subgraph (a Scan body): its own nodes; names, constants and
        initializers shared with this one (a subgraph sees the outer graph's values)."""
        sub = Builder(self.onnx, self._sources, self.opset)
        sub._taken, sub._consts, sub.initializers = self._taken, self._consts, self.initializers
        sub._sizes = {}  # a dynamic size is read in the outer graph, never inside the body
        sub.scope = self.scope
        return sub

    # -- names ---------------------------------------------------------------------------------
    def reserve(self, name: str) -> str:
        self._taken.add(name)
        return name

    def fresh(self, hint: str) -> str:
        base = hint.replace(" ", "_") or "v"
        name, i = base, 1
        while name in self._taken:
            name = f"{base}_{i}"
            i += 1
        self._taken.add(name)
        return name

    # -- nodes ---------------------------------------------------------------------------------
    def node(self, op_type: str, inputs: list, n_out: int = 1, outputs: list | None = None,
             domain: str = "", **attrs: Any) -> Any:
        """Add a node; returns its output name (a list when `n_out` > 1)."""
        prefix = f"/{self.scope.replace('.', '/')}" if self.scope else ""
        if outputs is None:
            outputs = [self.fresh(f"{prefix}/{op_type}_output_{i}") for i in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(
            op_type, ["" if i is None else i for i in inputs], outputs,
            name=self.fresh(f"{prefix}/{op_type}"), domain=domain or None, **attrs))
        return outputs if n_out > 1 or len(outputs) > 1 else outputs[0]

    # -- constants -----------------------------------------------------------------------------
    def initializer(self, array: np.ndarray, name: str) -> str:
        arr = np.asarray(array)
        if arr.dtype.kind == "b":
            arr = arr.astype(np.bool_)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(arr),
                                                                   name))
        return name

    def const(self, array: Any, hint: str = "const") -> str:
        """An initializer for `array`; small ones are shared between the nodes that use them."""
        arr = np.asarray(array)
        key = None
        if arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.initializer(arr, self.fresh(hint))
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values: Any) -> str:
        """A 1-D int64 constant."""
        return self.const(np.asarray(list(values), dtype=np.int64), "ints")

    def scalar(self, value: Any, dtype: Any) -> str:
        """A 0-d constant of `dtype`."""
        return self.const(np.asarray(value, dtype=dtype), "scalar")

    # -- sizes ---------------------------------------------------------------------------------
    def size(self, label: str) -> str:
        """The 1-D int64 [S] of dynamic axis `label`, read from its graph input."""
        if label not in self._sizes:
            name, axis = self._sources[label]
            if self.opset >= 15:  # Shape's start/end arrived in opset 15
                size = self.node("Shape", [name], start=axis, end=axis + 1)
            else:
                size = self.node("Gather", [self.node("Shape", [name]), self.ints([axis])],
                                 axis=0)
            self._sizes[label] = size
        return self._sizes[label]

    def dim(self, d: Dim) -> str:
        """A 1-D int64 [d]."""
        if isinstance(d, Sym):
            out = self.size(d.label)
            if d.k != 1:
                out = self.node("Mul", [out, self.ints([d.k])])
            if d.c:
                out = self.node("Add", [out, self.ints([d.c])])
            return out
        return self.ints([d])

    def shape(self, dims: list[Dim] | tuple) -> str:
        """A 1-D int64 shape tensor; constant unless some entry is a Sym."""
        if not any(isinstance(d, Sym) for d in dims):
            return self.ints(dims)
        parts: list[str] = []
        run: list[int] = []
        for d in dims:
            if isinstance(d, Sym):
                if run:
                    parts.append(self.ints(run))
                    run = []
                parts.append(self.dim(d))
            else:
                run.append(d)
        if run:
            parts.append(self.ints(run))
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)
