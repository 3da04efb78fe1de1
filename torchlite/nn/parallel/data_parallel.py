"""DataParallel with PyTorch's behaviour on at most one device.

`DataParallel(model)` wraps a module: calling it calls the module, `.module` gives it back, and
its state_dict keys carry the `module.` prefix as PyTorch's do, so checkpoints move between the
two. Splitting a batch across several GPUs is not implemented: with more than one device id, the
work runs on the first (with a warning).
"""

from __future__ import annotations

import warnings

from .. import backend
from ..tensor import Tensor
from .module import Module

__all__ = ["DataParallel"]


def _device_of(d):
    if isinstance(d, backend.device):
        return d
    return backend.device("cuda", int(d))


def _move(obj, dev):
    """Move the tensors inside (nested tuples, lists, dicts of) `obj` to device `dev`."""
    if isinstance(obj, Tensor):
        return obj if obj._device == dev else obj.to(dev)
    if isinstance(obj, tuple):
        return tuple(_move(o, dev) for o in obj)
    if isinstance(obj, list):
        return [_move(o, dev) for o in obj]
    if isinstance(obj, dict):
        return {k: _move(v, dev) for k, v in obj.items()}
    return obj


class DataParallel(Module):
    """Run `module` on device_ids[0] (or on the CPU when no GPU is present)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.dim = dim
        if not backend.cuda_available():
            self.device_ids = []
            self.output_device = None
            self.src_device_obj = backend.CPU
            return
        if device_ids is None:
            device_ids = list(range(backend.cuda_device_count()))
        if output_device is None:
            output_device = device_ids[0]
        self.device_ids = [_device_of(d).index for d in device_ids]
        self.output_device = _device_of(output_device)
        self.src_device_obj = _device_of(device_ids[0])
        if len(self.device_ids) > 1:
            warnings.warn(
                "torchlite's DataParallel does not split batches across GPUs yet; running on "
                f"{self.src_device_obj} only", stacklevel=2,
            )

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        src = self.src_device_obj
        for t in (*self.module.parameters(), *self.module.buffers()):
            if t._device != src:
                raise RuntimeError(
                    f"module must have its parameters and buffers on device {src} "
                    f"(device_ids[0]) but found one of them on device: {t._device}"
                )
        out = self.module(*_move(inputs, src), **_move(kwargs, src))
        return _move(out, self.output_device)
