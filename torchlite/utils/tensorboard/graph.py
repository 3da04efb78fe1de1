"""The autograd graph of one forward pass as TensorBoard's GraphDef (what `add_graph` writes).

The walk is `torchlite.utils.viz.graph_of`, the one behind `make_dot`; this module only runs the
forward and translates the walked nodes and edges into tensorboardX's NodeDef/GraphDef protobufs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import torchlite
from torchlite.tensor import Tensor
from torchlite.utils.viz import AutogradGraph, GraphNode, graph_of

__all__ = ["graph_def_of", "to_graph_def"]

# the op a TensorBoard node shows for each kind of walked node (backward nodes show their name)
_OPS = {"parameter": "Parameter", "tensor": "Tensor", "output": "Output"}


def graph_def_of(model: Any, input_to_model: Any = None):
    """Run `model` once on `input_to_model` (a Tensor, an array, or a tuple/list of them) and
    return the GraphDef of the autograd graph behind its output(s).

    Nothing about the model changes: the forward runs in the model's current mode with grad
    recording on, and the buffers it may update (BatchNorm's running statistics) and the global
    RNG (dropout) are put back afterwards; no backward runs, so no `.grad` is touched. Floating
    inputs are marked as requiring grad (on a copy) so that they appear as ``input/<i>`` nodes.
    """
    if input_to_model is None:
        raise ValueError("add_graph needs input_to_model: a Tensor (or a tuple of Tensors) that "
                         "the model's forward accepts")
    items = input_to_model if isinstance(input_to_model, (tuple, list)) else (input_to_model,)
    inputs = [_as_input(x) for x in items]
    params = dict(model.named_parameters()) if hasattr(model, "named_parameters") else {}
    buffers = _snapshot_buffers(model)
    rng = torchlite.get_rng_state()
    try:
        with torchlite.enable_grad():
            out = model(*inputs)
    finally:
        torchlite.set_rng_state(rng)
        _restore_buffers(buffers)
    outputs = _tensors_in(out)
    if not outputs:
        raise TypeError(f"add_graph: the model returned {type(out).__name__}, not Tensors")
    return to_graph_def(graph_of(outputs, params), inputs)


def to_graph_def(graph: AutogradGraph, inputs: Sequence[Tensor] = ()):
    """`graph` (from `graph_of`) as a tensorboardX GraphDef: one NodeDef per walked node, its
    inputs from the walked edges; parameters are scoped by module (``fc1/weight``) so
    TensorBoard groups them, the leaves that are `inputs` are ``input/<i>``, and tensors carry
    their shape and dtype."""
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.versions_pb2 import VersionDef

    names = _unique_names(graph, {id(x): i for i, x in enumerate(inputs)})
    fed_by: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for e in graph.edges:
        src = names[e.src]
        fed_by[e.dst].append(src if e.index == 0 else f"{src}:{e.index}")
    nodes = [_node_def(n, names[n.id], fed_by[n.id]) for n in graph.nodes]
    # TensorBoard lays out nodes in the order listed: inputs first reads as the forward pass
    nodes.reverse()
    return GraphDef(node=nodes, versions=VersionDef(producer=22))


def _unique_names(graph: AutogradGraph, inputs: dict[int, int]) -> dict[str, str]:
    out: dict[str, str] = {}
    outputs = {nid: i for i, nid in enumerate(graph.outputs)}
    for n in graph.nodes:
        if n.kind == "tensor" and id(n.obj) in inputs:
            name = f"input/{inputs[id(n.obj)]}"
        elif n.kind == "backward":
            name = f"{n.name}_{n.id}"
        elif n.kind == "output":
            name = f"output/{outputs.get(n.id, n.id)}"
        elif n.name:
            name = n.name.replace(".", "/")
        else:
            name = f"tensor_{n.id}"
        out[n.id] = name
    taken: set[str] = set()
    for nid, name in out.items():
        unique, k = name, 1
        while unique in taken:
            unique, k = f"{name}_{k}", k + 1
        taken.add(unique)
        out[nid] = unique
    return out


def _node_def(node: GraphNode, name: str, inputs: list[str]):
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    attr = {}
    if node.shape is not None:
        dims = [TensorShapeProto.Dim(size=int(s)) for s in node.shape]
        attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(
            shape=[TensorShapeProto(dim=dims)]))
    if node.dtype is not None:
        attr["dtype"] = AttrValue(s=node.dtype.encode())
    for key, text in node.attrs.items():
        attr[key] = AttrValue(s=text.encode())
    if node.saved:
        text = ", ".join(f"{s.name} {tuple(s.shape)} {s.dtype}" for s in node.saved)
        attr["saved"] = AttrValue(s=text.encode())
    if node.kind == "backward":
        op = node.name
    else:
        op = "Input" if name.startswith("input/") else _OPS.get(node.kind, node.kind)
    return NodeDef(name=name, op=op, input=inputs, attr=attr)


def _as_input(x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"add_graph: input_to_model must hold Tensors or arrays, got "
                            f"{type(x).__name__}")
        x = torchlite.as_tensor(x)
    x = x.detach()
    if x.is_floating_point():
        x.requires_grad_(True)
    return x


def _tensors_in(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for t in out if isinstance(t, Tensor)]
    return []


def _snapshot_buffers(model: Any) -> list[tuple[Tensor, Any]]:
    if not hasattr(model, "named_buffers"):
        return []
    return [(b, b._data.copy()) for _, b in model.named_buffers() if b is not None]


def _restore_buffers(saved: list[tuple[Tensor, Any]]) -> None:
    for buf, data in saved:
        buf._data[...] = data
