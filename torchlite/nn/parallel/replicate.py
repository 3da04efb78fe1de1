"""replicate, as torch.nn.parallel.replicate: one shallow copy of a module per device.

A replica's parameters are differentiable copies of the originals (so gradients flow back and
sum into the original `.grad`); on the module's own device the replica uses the originals
themselves, so in-place updates there (BatchNorm's running statistics) persist, as PyTorch
guarantees for device_ids[0].
"""

from __future__ import annotations

from typing import Any

from ..module import Module
from .scatter_gather import as_device

__all__ = ["replicate"]


def replicate(network: Module, devices: list, detach: bool = False) -> list[Module]:
    """`len(devices)` replicas of `network`, replica i on device i."""
    devs = [as_device(d) for d in devices]
    modules = list(network.modules())
    replicas = []
    for dev in devs:
        memo: dict[int, Any] = {}
        for m in modules:
            copy = m.__class__.__new__(m.__class__)
            d = dict(m.__dict__)
            d["_parameters"] = dict(m._parameters)
            d["_buffers"] = dict(m._buffers)
            d["_modules"] = dict(m._modules)
            copy.__dict__.update(d)
            memo[id(m)] = copy
        for m in modules:
            copy = memo[id(m)]
            for name, p in m._parameters.items():
                if p is not None and p._device != dev:
                    q = p.to(dev)
                    copy._parameters[name] = q.detach() if detach else q
            for name, b in m._buffers.items():
                if b is not None and b._device != dev:
                    copy._buffers[name] = b.detach().to(dev)
            for name, child in m._modules.items():
                if child is not None:
                    copy._modules[name] = memo[id(child)]
        replicas.append(memo[id(network)])
    return replicas
