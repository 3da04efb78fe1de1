"""Sparse tensors in torchlite.save / load: the component arrays are stored as tensors of the
safetensors file, the layout, size and coalesced flag in the skeleton of the header metadata.

Loading rebuilds the tensor with its arguments checked (`check_invariants=True`), so a file with
out-of-range indices or unsorted CSR columns is refused, not trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..tensor import Tensor
from .storage import COO, CSR


def encode(t: Any, path: str, encode_part: Callable[[Any, str], Any]) -> dict:
    """The skeleton node for sparse tensor `t`; `encode_part(tensor, path)` stores a component."""
    s = t._data
    dev = t._device
    if isinstance(s, COO):
        parts = {"indices": s.indices, "values": s.values}
        node: dict = {"layout": "sparse_coo", "coalesced": bool(s.coalesced)}
    else:
        parts = {"crow_indices": s.crow, "col_indices": s.col, "values": s.values}
        node = {"layout": "sparse_csr"}
    node["size"] = list(s.shape)
    for name, arr in parts.items():
        node[name] = encode_part(Tensor._make(arr, dev), f"{path}/{name}" if path else name)
    return {"__sparse__": node}


def decode(node: Any, decode_part: Callable[[Any], Any], fail: Callable[[str], Exception]) -> Any:
    """The sparse tensor a skeleton node describes; `fail(message)` makes the error to raise."""
    from .construct import sparse_coo_tensor, sparse_csr_tensor
    from .convert import sorted_distinct

    if not isinstance(node, dict):
        raise fail("a '__sparse__' entry is not a JSON object")
    layout = node.get("layout")
    size = node.get("size")
    if not (isinstance(size, list) and all(isinstance(n, int) and not isinstance(n, bool)
                                           and n >= 0 for n in size)):
        raise fail("a sparse tensor's 'size' is not a list of non-negative integers")
    names = {"sparse_coo": ("indices", "values"),
             "sparse_csr": ("crow_indices", "col_indices", "values")}.get(layout)
    if names is None:
        raise fail(f"a sparse tensor has layout {str(layout)[:40]!r}, expected 'sparse_coo' or "
                   "'sparse_csr'")
    parts = []
    for name in names:
        part = decode_part(node.get(name))
        if not isinstance(part, Tensor):
            raise fail(f"a sparse tensor's '{name}' is not a tensor")
        parts.append(part)
    try:
        if layout == "sparse_coo":
            out = sparse_coo_tensor(*parts, size, check_invariants=True)
            coalesced = node.get("coalesced", False)
            if not isinstance(coalesced, bool):
                raise fail("a sparse tensor's 'coalesced' is not true or false")
            if coalesced:  # trust the flag only where the indices bear it out
                out._data.coalesced = sorted_distinct(out._data)
            return out
        return sparse_csr_tensor(*parts, size, check_invariants=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise fail(f"a sparse tensor is invalid: {exc}") from None


__all__ = ["encode", "decode", "COO", "CSR"]
