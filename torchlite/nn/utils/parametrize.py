"""`torch.nn.utils.parametrize`: express a module's tensor as a function of other tensors.

register_parametrization(module, "weight", P) moves the weight to
`module.parametrizations.weight.original` (or `original0`, `original1`, ... when P's
right_inverse returns several tensors) and makes `module.weight` a property computing
P(original), so optimizers train the original while the layer sees P's output; assigning
`module.weight = X` stores right_inverse(X). As in PyTorch the module's class is swapped for a
generated subclass holding the properties, and the state_dict keys are PyTorch's
(`parametrizations.weight.original`).
"""

from __future__ import annotations

import contextlib

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..module import Module
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "type_before_parametrizations"]

_cache_enabled = 0
_cache: dict = {}


@contextlib.contextmanager
def cached():
    """Within this block each parametrized tensor is computed once and reused."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to its original(s)."""

    def __init__(self, modules, original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        first = modules[0]
        with no_grad():
            new = first.right_inverse(original) if hasattr(first, "right_inverse") else original
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            self._register_original("original", original, new)
        else:
            for i, t in enumerate(new):
                self._register_original(f"original{i}", original, t)

    def _register_original(self, name: str, original: Tensor, value: Tensor) -> None:
        if isinstance(original, Parameter):
            if value is original:
                self.register_parameter(name, original)
            else:
                self.register_parameter(name, Parameter(value.detach().clone(),
                                                        original.requires_grad))
        else:
            self.register_buffer(name, value.detach().clone() if value is not original
                                 else original)

    def originals(self) -> tuple:
        if self.is_tensor:
            return (self.original,)
        return tuple(getattr(self, f"original{i}") for i in range(self.ntensors))

    def right_inverse(self, value: Tensor) -> None:
        """Store value so that the parametrized tensor becomes value (through each
        parametrization's right_inverse, last first)."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
                value = module.right_inverse(value)
            values = (value,) if self.is_tensor else tuple(value)
            for original, v in zip(self.originals(), values):
                if tuple(original.shape) != tuple(v.shape) and not self.unsafe:
                    raise ValueError(f"right_inverse: expected a tensor of shape "
                                     f"{tuple(original.shape)}, got {tuple(v.shape)}")
                original.copy_(v)

    def forward(self) -> Tensor:
        modules = list(self)
        x = modules[0](*self.originals())
        for module in modules[1:]:
            x = module(x)
        return x


def _property(name: str):
    def get(self):
        plist = self.parametrizations[name]
        if _cache_enabled:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = plist()
            return _cache[key]
        return plist()

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    return property(get, set_)


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return tensor_name is None and len(plists) > 0 or tensor_name in plists


def type_before_parametrizations(module: Module) -> type:
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make module.<tensor_name> the output of `parametrization` applied to a stored
    original (chained after earlier parametrizations of that tensor)."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"parametrization must be an nn.Module, got "
                        f"{type(parametrization).__name__}")
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            with no_grad():
                out = parametrization(getattr(module, tensor_name))
            current = getattr(module, tensor_name)
            if tuple(out.shape) != tuple(current.shape) or out.dtype != current.dtype:
                raise ValueError(f"Registering a parametrization may not change the shape or "
                                 f"dtype of the tensor: {tuple(current.shape)} "
                                 f"{current.dtype} -> {tuple(out.shape)} {out.dtype}")
        plist.append(parametrization)
        return module
    if tensor_name in module._parameters:
        original = module._parameters[tensor_name]
    elif tensor_name in module._buffers:
        original = module._buffers[tensor_name]
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    if not unsafe:
        with no_grad():
            out = plist()
        if tuple(out.shape) != tuple(original.shape) or out.dtype != original.dtype:
            raise ValueError(f"Registering a parametrization may not change the shape or dtype "
                             f"of the tensor: {tuple(original.shape)} {original.dtype} -> "
                             f"{tuple(out.shape)} {out.dtype}")
    delattr(module, tensor_name)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo register_parametrization: the tensor becomes a plain parameter (or buffer) again,
    holding its parametrized value (leave_parametrized) or its original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            with no_grad():
                if tuple(value.shape) == tuple(original.shape):
                    original.copy_(value)
                else:
                    original = Parameter(value.detach().clone(), original.requires_grad) \
                        if isinstance(original, Parameter) else value.detach().clone()
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a "
                             "tensor that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name)
        first = plist.original0
        original = Parameter(value.detach().clone(), first.requires_grad) \
            if isinstance(first, Parameter) else value.detach().clone()
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        del module._modules["parametrizations"]
        module.__class__ = type(module).__bases__[0]
    return module
