"""The older hook-based `torch.nn.utils.weight_norm` / `remove_weight_norm`: the weight is kept
as `weight_g` (its norm over every dim but `dim`) and `weight_v` (its direction), PyTorch's
state_dict keys, and a forward pre-hook sets `module.weight` = v * g / ||v|| before each call."""

from __future__ import annotations

import warnings

from ..module import Module
from ..parameter import Parameter
from ._pre_hooks import remove_reparametrization
from .parametrizations import _norm_except_dim

__all__ = ["remove_weight_norm", "weight_norm"]


class WeightNorm:
    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs) -> None:
        object.__setattr__(module, self.name, self.compute_weight(module))

    def remove(self, module: Module) -> None:
        from ...autograd.grad_mode import no_grad

        with no_grad():
            weight = self.compute_weight(module)
        module.__dict__.pop(self.name, None)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach()))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize module.<name> as g * v / ||v|| through a forward pre-hook (deprecated in
    PyTorch in favour of nn.utils.parametrizations.weight_norm, which warns the same way)."""
    warnings.warn("torch.nn.utils.weight_norm is deprecated in favor of "
                  "torch.nn.utils.parametrizations.weight_norm.", FutureWarning, stacklevel=2)
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter "
                               f"{name}")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"weight_norm: module has no parameter '{name}'")
    d = -1 if dim is None else (dim if dim >= 0 else dim + weight.ndim)
    fn = WeightNorm(name, d)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, d).detach()))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    object.__setattr__(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo weight_norm: module.<name> becomes a parameter holding g * v / ||v||."""
    return remove_reparametrization(module, WeightNorm, name,
                                    f"weight_norm of '{name}' not found in {module}")
