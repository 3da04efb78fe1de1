"""Turning samples into batches: `default_collate` and `default_convert`, as in PyTorch.

`default_collate` stacks a list of samples: Tensors and NumPy arrays are stacked along a new first
axis and come out as torchlite Tensors (NumPy batches are wrapped with `torchlite.from_numpy`,
without a copy); Python ints become int64, Python floats float64 and bools bool tensors (PyTorch's
rules); NumPy scalars keep their dtype; strings stay a list; tuples, lists, named tuples and dicts
are collated field by field (a tuple comes back as a list, as in PyTorch).

`default_convert` converts without stacking: it is what the DataLoader applies to batches that a
dataset assembled itself with `__getbatch__` (the vectorised fast path) and to single samples
when `batch_size=None`.
"""

from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

from ... import backend
from ...tensor import Tensor

_from_numpy = None


def _tensor_from_array(arr) -> Tensor:
    """Wrap a NumPy array (zero copy, via torchlite.from_numpy) or a CuPy array as a Tensor."""
    global _from_numpy
    if isinstance(arr, np.ndarray):
        if _from_numpy is None:
            import torchlite  # lazy: the package __init__ imports this module

            _from_numpy = torchlite.from_numpy
        if type(arr) is not np.ndarray:  # np.memmap and other subclasses
            arr = arr.view(np.ndarray)
        return _from_numpy(arr)
    return Tensor._make(arr, backend.array_device(arr))


def _is_array(x) -> bool:
    return isinstance(x, np.ndarray) or type(x).__module__.startswith("cupy")


def _check_numeric(arr, where: str) -> None:
    if arr.dtype.kind in "OSUVMm":
        raise TypeError(
            f"{where}: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
            f"found an array of dtype {arr.dtype}"
        )


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _rebuild_mapping(elem, items: dict):
    try:
        return type(elem)(items)
    except TypeError:
        return items


def _stack(arrays: list, where: str):
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(
            f"{where}: stack expects each tensor to be equal size, got shapes "
            + ", ".join(str(tuple(s)) for s in sorted(shapes, key=str))
        )
    xp = backend.get_xp(arrays[0])
    return xp.stack(arrays)


def default_collate(batch: list) -> Any:
    """Collate a list of samples into a batch (see the module docstring)."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: cannot collate an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        dev = elem._device
        if any(not isinstance(b, Tensor) or b._device != dev for b in batch):
            raise TypeError("default_collate: tensors in a batch must all be on the same device")
        return Tensor._make(_stack([b._data for b in batch], "default_collate"), dev)
    if _is_array(elem):
        _check_numeric(elem, "default_collate")
        return _tensor_from_array(_stack(list(batch), "default_collate"))
    if isinstance(elem, np.generic):
        arr = np.array(batch)
        _check_numeric(arr, "default_collate")
        return _tensor_from_array(arr)
    if isinstance(elem, bool):
        return _tensor_from_array(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return _tensor_from_array(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return _tensor_from_array(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        items = {key: default_collate([d[key] for d in batch]) for key in elem}
        return _rebuild_mapping(elem, items)
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if _is_namedtuple(elem):
            return type(elem)(*fields)
        if isinstance(elem, tuple):
            return fields  # PyTorch returns a list for tuples
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays (and NumPy scalars) inside `data` to Tensors, without stacking."""
    if isinstance(data, Tensor):
        return data
    if _is_array(data):
        if data.dtype.kind in "OSUV":
            return data
        return _tensor_from_array(data)
    if isinstance(data, np.generic):
        if data.dtype.kind in "OSUV":
            return data
        return _tensor_from_array(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
