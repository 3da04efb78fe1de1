"""scatter and gather for DataParallel, as torch.nn.parallel.scatter_gather: split a batch into
per-device chunks and join the per-device outputs, both differentiable (the gradient of a
chunk flows back into the batch, that of an output back to its replica)."""

from __future__ import annotations

import warnings
from typing import Any

from ... import backend
from ...tensor import Tensor

__all__ = ["scatter", "scatter_kwargs", "gather"]


def as_device(d: Any) -> backend.device:
    """A device object from a device, a CUDA index, "cpu" or -1 (the CPU, as PyTorch)."""
    if isinstance(d, backend.device):
        return d
    if isinstance(d, str):
        return backend.to_device(d)
    return backend.CPU if int(d) == -1 else backend.device("cuda", int(d))


def _to(t: Tensor, dev: backend.device) -> Tensor:
    return t if t._device == dev else t.to(dev)


def scatter(inputs: Any, target_gpus: list, dim: int = 0) -> list:
    """Split the tensors inside `inputs` into len(target_gpus) chunks along `dim` (as
    Tensor.chunk), chunk i on device i; other objects are repeated. Returns one entry per chunk."""
    devices = [as_device(d) for d in target_gpus]

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return [_to(c, devices[i]) for i, c in enumerate(obj.chunk(len(devices), dim))]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(x) for x in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(x) for x in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in devices]

    return scatter_map(inputs)


def scatter_kwargs(inputs: tuple, kwargs: dict | None, target_gpus: list,
                   dim: int = 0) -> tuple[tuple, tuple]:
    """scatter for positional and keyword arguments, padded to the same number of chunks."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(scattered_inputs):
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def gather(outputs: Any, target_device: Any, dim: int = 0) -> Any:
    """Join the per-device `outputs` on `target_device`, concatenating tensors along `dim`."""
    from ... import cat

    dev = as_device(target_device)

    def gather_map(outs):
        out = outs[0]
        if isinstance(out, Tensor):
            if out.dim() == 0:
                warnings.warn("Was asked to gather along dimension 0, but all input tensors "
                              "were scalars; will instead unsqueeze and return a vector.",
                              stacklevel=3)
                return cat([_to(o, dev).reshape(1) for o in outs])
            return cat([_to(o, dev) for o in outs], dim)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outs])) for k in out)
        return type(out)(map(gather_map, zip(*outs)))

    return gather_map(outputs)
