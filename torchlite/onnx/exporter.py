"""`torchlite.onnx.export`: capture, lower, check and write one model."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from .builder import Builder
from .capture import Capture, Ref
from .converters import atomic_modules, table
from .errors import OnnxExporterError, require
from .lowering import VALUES, Lowering, Trace, opaque

MIN_OPSET, MAX_OPSET = 14, 21


def export(model: Any, args: Any, f: Any, *, input_names: list[str] | None,
           output_names: list[str] | None, dynamic_axes: dict | None, opset_version: int,
           do_constant_folding: bool, training: Any, export_params: bool = True,
           verbose: bool = False, keep_initializers_as_inputs: bool | None = None,
           **_ignored: Any) -> None:
    onnx = require("onnx")
    if not MIN_OPSET <= int(opset_version) <= MAX_OPSET:
        raise OnnxExporterError(f"ONNX export: opset_version {opset_version} is not supported "
                                f"(use {MIN_OPSET} to {MAX_OPSET})")
    if not export_params:
        raise OnnxExporterError("ONNX export: export_params=False is not supported; the "
                                "parameters are always stored in the file")
    proto = build_model(model, args, input_names=input_names, output_names=output_names,
                        dynamic_axes=dynamic_axes, opset_version=int(opset_version),
                        do_constant_folding=do_constant_folding, training=training)
    data = proto.SerializeToString()
    if isinstance(f, (str, os.PathLike)):
        from .._atomic_write import atomic_write_bytes

        atomic_write_bytes(f, data)
    else:
        f.write(data)
    if verbose:  # PyTorch prints the graph; a library of this project logs it instead
        import logging

        logging.getLogger("torchlite.onnx").info(onnx.helper.printable_graph(proto.graph))


def _split_args(args: Any) -> tuple[list, dict]:
    if isinstance(args, Tensor):
        return [args], {}
    if isinstance(args, dict):
        return [], dict(args)
    args = list(args)
    kwargs = {}
    if args and isinstance(args[-1], dict):
        kwargs = args.pop()
    return args, kwargs


def _axes(spec: Any, name: str) -> dict[int, str]:
    if isinstance(spec, dict):
        return {int(a): str(lb) for a, lb in spec.items()}
    return {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(spec)}


def _grown(t: Tensor, axis: int) -> Tensor:
    """`t` one longer along `axis` (its first slice repeated): real values, another size."""
    xp = backend.get_xp(t._data)
    first = xp.take(t._data, [0], axis=axis)
    return Tensor._make(xp.concatenate([t._data, first], axis=axis), t._device)


def _revalued(pos: list) -> list:
    """The inputs with other values of the same shapes and dtypes (floats reversed, negated and
    shifted; integers reversed and rolled, so that indices stay valid; booleans kept)."""
    out = []
    for a in pos:
        if isinstance(a, Tensor) and a.ndim:
            xp = backend.get_xp(a._data)
            d = a._data
            if d.dtype.kind == "f":  # other signs and places: masks computed from it change
                d = xp.flip(d) * d.dtype.type(-1.5) + d.dtype.type(0.25)
            elif d.dtype.kind in "iu":
                d = xp.roll(xp.flip(d), 1, axis=-1)
            a = Tensor._make(xp.ascontiguousarray(d), a._device)
        out.append(a)
    return out


def build_model(model: Any, args: Any, *, input_names: list[str] | None = None,
                output_names: list[str] | None = None, dynamic_axes: dict | None = None,
                opset_version: int = 17, do_constant_folding: bool = True,
                training: Any = 0) -> Any:
    """The checked onnx.ModelProto of `model(*args)` (see torchlite.onnx.export)."""
    onnx = require("onnx")
    from . import TrainingMode

    pos, kwargs = _split_args(args)
    tensor_idx = [i for i, a in enumerate(pos) if isinstance(a, Tensor)]
    names_in = list(input_names or [])
    for i in range(len(names_in), len(tensor_idx)):
        names_in.append("input" if len(tensor_idx) == 1 else f"input_{i}")
    names_in = names_in[:len(tensor_idx)]
    dyn = {n: _axes(s, n) for n, s in (dynamic_axes or {}).items()}

    labels: dict[str, list[tuple[int, int]]] = {}  # label -> (position in pos, axis)
    for slot, name in zip(tensor_idx, names_in):
        for axis, label in dyn.get(name, {}).items():
            ndim = pos[slot].ndim
            if not -ndim <= axis < ndim:
                raise OnnxExporterError(f"ONNX export: dynamic axis {axis} of input {name!r} "
                                        f"is out of range for its {ndim} dimensions")
            labels.setdefault(label, []).append((slot, axis % ndim))

    was_training = getattr(model, "training", None)
    mode = TrainingMode(int(training))
    if hasattr(model, "train") and mode != TrainingMode.PRESERVE:
        model.train(mode == TrainingMode.TRAINING)
    try:
        main, outputs = _capture(model, pos, kwargs, tensor_idx, labels, None)
        others = {label: _capture(model, pos, kwargs, tensor_idx, labels, label)[0]
                  for label in labels}
        # once more with other input values: what changes then was computed from the inputs,
        # and a constant computed so (outside the recorded ops) would be wrong in the graph
        others[VALUES] = _capture(model, _revalued(pos), kwargs, tensor_idx, labels, None)[0]
    finally:
        if was_training is not None and hasattr(model, "train"):
            model.train(was_training)

    sources = {label: (names_in[tensor_idx.index(places[0][0])], places[0][1])
               for label, places in labels.items()}
    b = Builder(onnx, sources, opset_version)
    for n in names_in:
        b.reserve(n)
    low = Lowering(b, main, others, table(), do_constant_folding)
    for i, n in enumerate(names_in):
        low.names[Ref(("input", i))] = n
    low.run()

    out_refs = outputs
    names_out = list(output_names or [])
    for i in range(len(names_out), len(out_refs)):
        names_out.append("output" if len(out_refs) == 1 else f"output_{i}")
    graph_outputs = []
    for i, (ref, t) in enumerate(out_refs):
        src = low.output(ref)
        name = names_out[i]
        b.node("Identity", [src], outputs=[b.reserve(name)])
        graph_outputs.append(_value_info(onnx, name, t, dyn.get(name), main, others, ref))

    graph_inputs = []
    for i, (slot, n) in enumerate(zip(tensor_idx, names_in)):
        graph_inputs.append(_value_info(onnx, n, pos[slot], dyn.get(n), main, others,
                                        Ref(("input", i))))
    graph = onnx.helper.make_graph(b.nodes, "torchlite", graph_inputs, graph_outputs,
                                   initializer=b.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("",
                                                                                  opset_version)],
                                   producer_name="torchlite")
    proto.ir_version = min(proto.ir_version, 8)  # readable by every ONNX Runtime of the extra
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _capture(model, pos, kwargs, tensor_idx, labels, grow: str | None):
    """Run the model once under a Capture; `grow`: the dynamic axis to make one longer."""
    pos = list(pos)
    if grow is not None:
        for slot, axis in labels[grow]:
            pos[slot] = _grown(pos[slot], axis)
    names = {id(m): n for n, m in model.named_modules()} if hasattr(model, "named_modules") \
        else {}
    cap = Capture(names, atomic_modules())
    arrays: dict[Ref, np.ndarray] = {}
    for i, slot in enumerate(tensor_idx):
        ref = Ref(("input", i))
        arrays[ref] = backend.to_host(pos[slot]._data).copy()
        cap.watch(pos[slot], ref, arrays[ref])
    if hasattr(model, "state_dict"):
        seen: set[int] = set()
        for name, t in _named_tensors(model):
            if id(t) not in seen:
                seen.add(id(t))
                ref = Ref(("param", name))
                cap.watch(t, ref)
                arrays[ref] = backend.to_host(t._data)
    with grad_mode.no_grad(), cap:
        out = model(*pos, **kwargs)
    sizes = {label: pos[places[0][0]].shape[places[0][1]] for label, places in labels.items()}
    flat = _flatten(out)
    refs = []
    for t in flat:
        r = cap.ref_of(t)
        if r is None:
            raise OnnxExporterError("ONNX export: an output of the model was not computed by "
                                    f"torchlite's recorded ops from its inputs{opaque(cap.opaque)}")
        refs.append((r, t))
    trace = Trace(cap.ops, arrays, sizes)
    trace.opaque = cap.opaque
    return trace, refs


def _named_tensors(model):
    for name, p in model.named_parameters(remove_duplicate=False) \
            if _takes_remove_duplicate(model) else model.named_parameters():
        yield name, p
    for name, buf in model.named_buffers():
        if isinstance(buf, Tensor):
            yield name, buf


def _takes_remove_duplicate(model) -> bool:
    import inspect

    try:
        return "remove_duplicate" in inspect.signature(model.named_parameters).parameters
    except (TypeError, ValueError):
        return False


def _flatten(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flatten(o)]
    if out is None:
        return []
    raise OnnxExporterError(f"ONNX export: the model returned a {type(out).__name__}; "
                            f"expected Tensors (or tuples, lists or dicts of them)")


def _value_info(onnx, name, t, axes, main, others, ref):
    shape: list[Any] = list(t.shape)
    for label, trace in others.items():
        arr = trace.arrays.get(ref) if label != VALUES else None
        if arr is not None:
            for a, (s1, s2) in enumerate(zip(shape, arr.shape)):
                if isinstance(s1, int) and s1 != s2:
                    shape[a] = label
    for axis, label in (axes or {}).items():
        shape[axis % len(shape)] = label
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(backend.to_host(t._data).dtype))
    return onnx.helper.make_tensor_value_info(name, elem, shape)
