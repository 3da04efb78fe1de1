"""DataParallel, as torch.nn.DataParallel: one process driving several GPUs.

Each call scatters the batch along `dim` over `device_ids`, replicates the module onto them,
runs the replicas in threads and gathers the outputs on `output_device`; backward sums the
replicas' gradients into the original parameters. The module's parameters and buffers must be
on device_ids[0]. Without a GPU it calls the module directly. state_dict keys carry the
`module.` prefix, as PyTorch's, so checkpoints move between the two.
"""

from __future__ import annotations

from typing import Any

from ... import backend
from ...tensor import Tensor
from ..module import Module
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import as_device, gather, scatter_kwargs

__all__ = ["DataParallel", "data_parallel"]


class DataParallel(Module):
    """Split each batch over `device_ids` (all GPUs by default) and run `module` on each part.

    Shape: the inputs are split along `dim`; the outputs are concatenated along `dim`.
    """

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
        self.device_ids = [as_device(d).index for d in device_ids]
        self.output_device = as_device(output_device)
        self.src_device_obj = as_device(device_ids[0])

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
        return _run(self.module, inputs, kwargs, [as_device(d) for d in self.device_ids],
                    self.output_device, self.dim)

    def replicate(self, module: Module, device_ids: list) -> list[Module]:
        from ...autograd import grad_mode

        return replicate(module, device_ids, not grad_mode.is_grad_enabled())


def _move(obj: Any, dev: backend.device) -> Any:
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


def _run(module: Module, inputs: tuple, kwargs: dict, devices: list, output_device: Any,
         dim: int) -> Any:
    from ...autograd import grad_mode

    if len(devices) == 1:  # no split: the batch moves to the device whole
        src = devices[0]
        out = module(*_move(inputs, src), **_move(kwargs, src))
        return _move(out, as_device(output_device))
    scattered, scattered_kwargs = scatter_kwargs(inputs, kwargs, devices, dim)
    if not scattered and not scattered_kwargs:  # a call without arguments still runs once
        scattered, scattered_kwargs = ((),), ({},)
    used = devices[:len(scattered)]
    replicas = replicate(module, used, not grad_mode.is_grad_enabled())
    outputs = parallel_apply(replicas, list(scattered), scattered_kwargs, used)
    return gather(outputs, output_device, dim)


def data_parallel(module: Module, inputs: Any, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs: dict | None = None) -> Any:
    """The functional form of DataParallel: evaluate `module(inputs)` over `device_ids`."""
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    if device_ids is None:
        if not backend.cuda_available():
            return module(*inputs, **(module_kwargs or {}))
        device_ids = list(range(backend.cuda_device_count()))
    devices = [as_device(d) for d in device_ids]
    return _run(module, inputs, module_kwargs or {}, devices,
                devices[0] if output_device is None else output_device, dim)
