"""The repr of a sparse tensor, laid out as PyTorch prints one."""

from __future__ import annotations

from .. import backend
from .._format import format_tensor
from ..tensor import Tensor
from .storage import COO


def _part(name: str, arr, dev, indent: int) -> str:
    text = format_tensor(Tensor._make(arr, dev))
    lines = text.split("\n")
    pad = " " * (indent + len(name) + 1)
    return f"{name}=" + "\n".join([lines[0]] + [pad + ln for ln in lines[1:]])


def format_sparse(t) -> str:
    s = t._data
    indent = len("tensor(")
    if isinstance(s, COO):
        parts = [("indices", s.indices), ("values", s.values)]
    else:
        parts = [("crow_indices", s.crow), ("col_indices", s.col), ("values", s.values)]
    body = (",\n" + " " * indent).join(_part(n, a, t._device, indent) for n, a in parts)
    tail = [f"size={tuple(s.shape)}", f"nnz={s.nnz}"]
    if s.dtype != backend.get_default_dtype().np:
        tail.append(f"dtype={backend.from_numpy_dtype(s.dtype)}")
    if t._device.type != "cpu":
        tail.append(f"device='{t._device}'")
    tail.append(f"layout={t.layout!r}")
    if t.grad_fn is not None:
        tail.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        tail.append("requires_grad=True")
    return "tensor(" + body + ",\n" + " " * indent + ", ".join(tail) + ")"
