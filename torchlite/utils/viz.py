"""The autograd graph as data and as a picture.

`graph_of(outputs, params)` walks `grad_fn.next_functions` from the outputs back to the leaves and
returns an `AutogradGraph`: plain nodes and edges that any tool can draw or export (TensorBoard's
`add_graph` uses it too). `make_dot(output, params)` draws that graph the way torchviz does and
returns a `graphviz.Digraph` (the optional `graphviz` package: `pip install 'torchlite[viz]'`).

Node kinds:

* ``"backward"``: a backward node (`grad_fn`), named by `grad_fn.name()` (``AccumulateGrad`` for
  the node that feeds a leaf's `.grad`);
* ``"parameter"``: a leaf found in `params`, named by its parameter name;
* ``"tensor"``: any other leaf that requires grad (name ``""``);
* ``"output"``: an output tensor handed to `graph_of`.

Edges point the way the forward pass ran: from an input (leaf or earlier backward node) to the
node that consumed it, and from an output's `grad_fn` to the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import MachineError
from ..tensor import Tensor

__all__ = [
    "AutogradGraph",
    "GraphEdge",
    "GraphNode",
    "GraphvizBinaryNotFoundError",
    "GraphvizNotInstalledError",
    "SavedTensor",
    "graph_of",
    "make_dot",
]


@dataclass(frozen=True)
class SavedTensor:
    """One array or tensor a backward node saved in forward (`ctx.save_for_backward`)."""

    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class GraphNode:
    """A node of the walked graph; `id` is stable for one walk ("0", "1", ... in walk order)."""

    id: str
    kind: str  # "backward" | "parameter" | "tensor" | "output"
    name: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    # a backward node's non-tensor saved attributes (name -> short text), e.g. {"dim": "1"}
    attrs: Mapping[str, str] = field(default_factory=dict)
    saved: tuple[SavedTensor, ...] = ()
    # the grad_fn node or the tensor this node stands for (not part of equality)
    obj: Any = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """`name` for a backward node; `name` and shape (as ``(2, 3)``) for a tensor."""
        if self.kind == "backward":
            return self.name
        shape = "(" + ", ".join(str(s) for s in self.shape or ()) + ")"
        return f"{self.name}\n {shape}" if self.name else shape


@dataclass(frozen=True)
class GraphEdge:
    """`src` fed `dst` in forward (`index`: which output of `src`, for multi-output nodes)."""

    src: str
    dst: str
    index: int = 0


@dataclass
class AutogradGraph:
    """The nodes and edges reachable backwards from some outputs."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    outputs: list[str]  # ids of the output nodes, in the order given

    def node(self, node_id: str) -> GraphNode:
        """The node with this id (KeyError if none)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def inputs_of(self, node_id: str) -> list[GraphNode]:
        """The nodes with an edge into `node_id`, in edge order."""
        return [self.node(e.src) for e in self.edges if e.dst == node_id]

    def by_kind(self, kind: str) -> list[GraphNode]:
        """Every node of one kind, in walk order."""
        return [n for n in self.nodes if n.kind == kind]


def graph_of(
    outputs: Tensor | Sequence[Tensor],
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
) -> AutogradGraph:
    """Walk the autograd graph behind `outputs` back to its leaves.

    `params` names leaves (a dict or `model.named_parameters()`); other leaves that require grad
    appear as unnamed ``"tensor"`` nodes. Works before and after `backward()` (after it, saved
    tensors are freed and no longer listed unless `retain_graph=True` kept them).
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"graph_of: expected Tensor outputs, got {type(o).__name__}")
    names = _param_names(params)
    walk = _Walk(names)
    out_ids = []
    for o in outs:
        oid = walk.add_tensor(o, "output", names.get(id(o), ""))
        out_ids.append(oid)
        if o.grad_fn is not None:
            walk.edge(walk.visit_fn(o.grad_fn), oid, o._out_index)
    walk.run()
    return AutogradGraph(nodes=walk.nodes, edges=walk.edges, outputs=out_ids)


def _param_names(params) -> dict[int, str]:
    if params is None:
        return {}
    items = params.items() if isinstance(params, Mapping) else params
    names = {}
    for name, p in items:
        if not isinstance(p, Tensor):
            raise TypeError(f"params: {name!r} is a {type(p).__name__}, not a Tensor")
        names[id(p)] = str(name)
    return names


class _Walk:
    """One iterative walk (a deep graph, e.g. an unrolled RNN, must not hit the recursion limit)."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.nodes: list[GraphNode] = []
        self.edges: list[GraphEdge] = []
        self.ids: dict[int, str] = {}
        self.keep: list[Any] = []  # holds walked objects so their id() stays unique during the walk
        self.todo: list[Any] = []

    def _add(self, obj: Any, node: GraphNode) -> str:
        self.ids[id(obj)] = node.id
        self.nodes.append(node)
        self.keep.append(obj)
        return node.id

    def add_tensor(self, t: Tensor, kind: str, name: str) -> str:
        """The id of tensor `t`'s node, made with this kind and name if `t` is new."""
        if id(t) in self.ids:
            return self.ids[id(t)]
        node = GraphNode(
            str(len(self.nodes)), kind, name, tuple(t.shape), _dtype_name(t.dtype), obj=t
        )
        return self._add(t, node)

    def edge(self, src: str, dst: str, index: int = 0) -> None:
        self.edges.append(GraphEdge(src, dst, index))

    def visit_fn(self, fn: Any) -> str:
        """The id of backward node `fn`, queueing its inputs when it is new."""
        if id(fn) in self.ids:
            return self.ids[id(fn)]
        self.todo.append(fn)
        return self._add(fn, _backward_node(str(len(self.nodes)), fn))

    def run(self) -> None:
        # first-in first-out, so ids grow from the outputs towards the leaves
        i = 0
        while i < len(self.todo):
            fn = self.todo[i]
            i += 1
            dst = self.ids[id(fn)]
            var = getattr(fn, "variable", None)
            if isinstance(var, Tensor):
                name = self.names.get(id(var), "")
                kind = "parameter" if name else "tensor"
                self.edge(self.add_tensor(var, kind, name), dst)
            for nxt, index in getattr(fn, "next_functions", ()):
                if nxt is not None:
                    self.edge(self.visit_fn(nxt), dst, index)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _backward_node(node_id: str, fn: Any) -> GraphNode:
    name = fn.name() if callable(getattr(fn, "name", None)) else type(fn).__name__
    return GraphNode(node_id, "backward", name, attrs=_attrs_of(fn), saved=_saved_of(fn), obj=fn)


def _attrs_of(fn: Any) -> dict[str, str]:
    """A Context's public non-tensor attributes (what forward stored on ctx, e.g. `dim`)."""
    found = getattr(fn, "__dict__", None) or {}
    attrs = {}
    for k, v in found.items():
        if k.startswith("_") or _shape_dtype(v) is not None:
            continue
        text = repr(v)
        attrs[k] = text if len(text) <= 50 else text[:47] + "..."
    return attrs


def _saved_of(fn: Any) -> tuple[SavedTensor, ...]:
    """The arrays/tensors a Context kept for backward (empty once backward freed them)."""
    saved = []
    items = getattr(fn, "_saved", ()) or ()
    for i, item in enumerate(items):
        sd = _shape_dtype(item)
        if sd is not None:
            saved.append(SavedTensor(f"saved_{i}", *sd))
    found = getattr(fn, "__dict__", None) or {}
    for k, v in found.items():
        sd = None if k.startswith("_") else _shape_dtype(v)
        if sd is not None:
            saved.append(SavedTensor(k, *sd))
    return tuple(saved)


def _shape_dtype(v: Any) -> tuple[tuple[int, ...], str] | None:
    if isinstance(v, Tensor):
        return tuple(v.shape), _dtype_name(v.dtype)
    shape = getattr(v, "shape", None)
    dtype = getattr(v, "dtype", None)
    if isinstance(shape, tuple) and dtype is not None and hasattr(v, "__array__"):
        return tuple(int(s) for s in shape), str(dtype)
    return None


# ----------------------------------------------------------------------------------------------
# the picture

VIZ_HINT = "pip install 'torchlite[viz]'"
DOT_HINT = (
    "install Graphviz: apt install graphviz (Debian/Ubuntu), dnf install graphviz (Fedora), "
    "brew install graphviz (macOS), or see https://graphviz.org/download/"
)

# torchviz's look, so a picture reads the same as one drawn from PyTorch
_NODE_ATTR = {
    "style": "filled",
    "shape": "box",
    "align": "left",
    "fontsize": "10",
    "ranksep": "0.1",
    "height": "0.2",
    "fontname": "monospace",
}
_FILL = {"output": "darkolivegreen1", "parameter": "lightblue", "tensor": "lightblue"}
_SAVED_FILL = "orange"


class GraphvizNotInstalledError(MachineError, ImportError):
    """The optional `graphviz` Python package is missing (`pip install 'torchlite[viz]'`)."""


class GraphvizBinaryNotFoundError(MachineError, RuntimeError):
    """Drawing an image needs Graphviz's `dot` program, which is not on PATH."""


def make_dot(
    output: Tensor | Sequence[Tensor],
    params: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
    show_attrs: bool = False,
    show_saved: bool = False,
    max_attr_chars: int = 50,
) -> Any:
    """The autograd graph behind `output` as a `graphviz.Digraph`, drawn as torchviz draws it.

    Backward nodes are boxes named as `grad_fn.name()`; leaves are light blue with their
    parameter name (from `params`, e.g. `dict(model.named_parameters())`) and shape; outputs are
    green. `show_attrs` lists each node's saved attributes in its box; `show_saved` adds the
    tensors it saved for backward as orange boxes. `.source` is the DOT text (no Graphviz
    program needed); `.render(format="svg")` / `.pipe(...)` need Graphviz's `dot` and raise
    GraphvizBinaryNotFoundError, saying how to install it, when it is missing.
    """
    graph = graph_of(output, params)
    dot = _digraph_class()(
        node_attr=_NODE_ATTR, graph_attr={"size": "12,12"}, format="svg"
    )
    for node in graph.nodes:
        if node.kind == "backward":
            dot.node(node.id, _backward_label(node, show_attrs, max_attr_chars))
            if show_saved:
                for k, s in enumerate(node.saved):
                    sid = f"{node.id}.saved{k}"
                    dot.node(sid, _tensor_label(s.name, s.shape), fillcolor=_SAVED_FILL)
                    dot.edge(sid, node.id, dir="none")
        else:
            dot.node(node.id, node.label, fillcolor=_FILL[node.kind])
    for edge in graph.edges:
        dot.edge(edge.src, edge.dst)
    return dot


def _backward_label(node: GraphNode, show_attrs: bool, max_chars: int) -> str:
    if not show_attrs:
        return node.name
    lines = [f"{k}: {_clip(v, max_chars)}" for k, v in node.attrs.items()]
    lines += [f"{s.name}: [saved tensor {_shape_text(s.shape)}]" for s in node.saved]
    if not lines:
        return node.name
    width = max(len(line) for line in [node.name, *lines])
    # "\l" left-aligns each line in Graphviz; the rule under the name spans the widest line
    return "\\l".join([node.name, "-" * width, *lines]) + "\\l"


def _tensor_label(name: str, shape: tuple[int, ...]) -> str:
    return f"{name}\n {_shape_text(shape)}" if name else _shape_text(shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(n - 3, 0)] + "..."


_DIGRAPH: list[type] = []  # the Digraph subclass, made on first use (graphviz is imported late)


def _digraph_class() -> type:
    if _DIGRAPH:
        return _DIGRAPH[0]
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotInstalledError(
            f"drawing the autograd graph needs the graphviz package: {VIZ_HINT}"
        ) from None

    class Digraph(graphviz.Digraph):
        """graphviz.Digraph whose drawing methods say how to install a missing `dot` program."""

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            with _needs_dot():
                return super().pipe(*args, **kwargs)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            with _needs_dot():
                return super().render(*args, **kwargs)

        def view(self, *args: Any, **kwargs: Any) -> Any:
            with _needs_dot():
                return super().view(*args, **kwargs)

    Digraph.__module__ = __name__
    _DIGRAPH.append(Digraph)
    return Digraph


@contextmanager
def _needs_dot() -> Iterator[None]:
    import graphviz

    try:
        yield
    except graphviz.ExecutableNotFound:
        raise GraphvizBinaryNotFoundError(
            f"drawing an image needs Graphviz's 'dot' program, which is not installed: {DOT_HINT}"
            " (DOT text needs none: Digraph.source, or torchlite graph --output FILE.dot)"
        ) from None
