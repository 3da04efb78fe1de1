"""`torch.nn.utils.prune`: zero out parts of a module's tensors with masks.

Pruning module.<name> keeps the tensor as the parameter `<name>_orig`, the mask as the buffer
`<name>_mask` (PyTorch's state_dict keys), and a forward pre-hook that sets `module.<name>` to
`<name>_orig * <name>_mask` before each call, so training updates the original while the layer
sees the pruned tensor. Pruning the same tensor again prunes among the entries (or channels)
still kept, through a PruningContainer, as PyTorch does; `remove` makes the pruning permanent.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torchlite

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..module import Module
from ._pre_hooks import remove_reparametrization

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
           "PruningContainer", "RandomStructured", "RandomUnstructured", "custom_from_mask",
           "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
           "random_structured", "random_unstructured", "remove"]


class BasePruningMethod:
    """A pruning technique: subclasses compute a mask (`compute_mask`) of the tensor's shape,
    1 where entries stay; PRUNING_TYPE says which entries a further pruning chooses among."""

    PRUNING_TYPE = "unstructured"
    _tensor_name: str

    def __call__(self, module: Module, inputs) -> None:
        object.__setattr__(module, self._tensor_name, self.apply_mask(module))

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        raise NotImplementedError

    def apply_mask(self, module: Module) -> Tensor:
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args, importance_scores=None, **kwargs):
        """Prune module.<name> with this method (added to the tensor's earlier pruning)."""
        old, keys = None, []
        for key, hook in module._forward_pre_hooks.items():
            if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                old, keys = hook, keys + [key]
        if len(keys) > 1:
            raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} "
                                 f"of module {module}. Use a PruningContainer.")
        for key in keys:
            del module._forward_pre_hooks[key]
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            if isinstance(old, PruningContainer):
                old.add_pruning_method(method)
                method = old
            else:
                method = PruningContainer(old, method)
        orig = getattr(module, name)
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise AssertionError(f"importance_scores should have the same shape as parameter "
                                 f"{name} of {module}, got {tuple(scores.shape)} vs "
                                 f"{tuple(orig.shape)}")
        first = not isinstance(method, PruningContainer)
        if first:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = torchlite.ones_like(orig.detach())
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            with no_grad():
                mask = method.compute_mask(scores.detach(), default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            object.__setattr__(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:  # leave the module as it was
                module.register_parameter(name, module._parameters.pop(name + "_orig"))
            raise
        return method

    def prune(self, t: Tensor, default_mask=None, importance_scores=None) -> Tensor:
        """t with this method's mask applied (the module is not touched)."""
        scores = t if importance_scores is None else importance_scores
        mask = torchlite.ones_like(t) if default_mask is None else default_mask
        with no_grad():
            return t * self.compute_mask(scores, default_mask=mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: <name> becomes a parameter holding orig * mask."""
        name = self._tensor_name
        with no_grad():
            weight = self.apply_mask(module)
        module.__dict__.pop(name, None)
        orig = module._parameters.pop(name + "_orig")
        del module._buffers[name + "_mask"]
        with no_grad():
            orig.copy_(weight)
        module.register_parameter(name, orig)


class PruningContainer(BasePruningMethod):
    """The prunings of one tensor, in order; each new one prunes among what is left."""

    def __init__(self, *methods) -> None:
        self._pruning_methods: tuple = ()
        if len(methods) == 1 and not isinstance(methods[0], BasePruningMethod):
            methods = tuple(methods[0])
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is None:
            return
        if self._pruning_methods and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._tensor_name = method._tensor_name
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        method = self._pruning_methods[-1]
        mask = default_mask.to(t.dtype).clone()
        if method.PRUNING_TYPE == "unstructured":
            keep = mask == 1
            mask[keep] = method.compute_mask(t[keep], default_mask=mask[keep]).to(mask.dtype)
            return mask
        if method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to '
                                     "have the attribute `dim` defined.")
            dim = method.dim + t.ndim if method.dim < 0 else method.dim
            others = [d for d in range(t.ndim) if d != dim]
            kept = (mask.sum(others) != 0).nonzero().reshape(-1)  # channels still there
            part = method.compute_mask(t.index_select(dim, kept),
                                       default_mask=mask.index_select(dim, kept))
            return mask.index_copy(dim, kept, part.to(mask.dtype))
        if method.PRUNING_TYPE == "global":
            return method.compute_mask(t, default_mask=mask).to(mask.dtype)
        raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")


def _check_amount(amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _count(amount, size: int) -> int:
    """The number of entries to prune: amount itself (an int) or round(amount * size)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(amount * size)


def _check_structured(t: Tensor, dim: int) -> None:
    if t.ndim <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")
    if dim >= t.ndim or dim < -t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {tuple(t.shape)}")


def _zero_at(mask: Tensor, flat_indices: Tensor) -> Tensor:
    flat = mask.reshape(-1).clone()
    flat[flat_indices] = 0
    return flat.reshape(mask.shape)


class Identity(BasePruningMethod):
    """Prunes nothing (an all-ones mask)."""

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prune `amount` entries of the tensor; subclasses say which (`_chosen`)."""

    def __init__(self, amount) -> None:
        _check_amount(amount)
        self.amount = amount

    def _chosen(self, t: Tensor, k: int) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, t, default_mask):
        k = _count(self.amount, t.numel())
        mask = default_mask.clone()
        return _zero_at(mask, self._chosen(t, k)) if k else mask


class RandomUnstructured(_Unstructured):
    """Prune `amount` entries chosen at random."""

    def _chosen(self, t, k):
        scores = torchlite.rand(*t.shape, dtype=torchlite.float32, device=t.device)
        return scores.reshape(-1).topk(k).indices

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prune the `amount` entries of smallest absolute value."""

    def _chosen(self, t, k):
        return t.abs().reshape(-1).topk(k, largest=False).indices

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _channel_mask(t: Tensor, dim: int, keep: Tensor) -> Tensor:
    """Ones in the channels `keep` (indices along dim), zeros elsewhere."""
    shape = [1] * t.ndim
    shape[dim] = t.shape[dim]
    channels = torchlite.zeros(t.shape[dim], dtype=t.dtype, device=t.device)
    channels[keep] = 1
    return channels.reshape(shape).expand(*t.shape).clone()


class RandomStructured(BasePruningMethod):
    """Prune `amount` channels along `dim`, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount, self.dim = amount, dim

    def compute_mask(self, t, default_mask):
        _check_structured(t, self.dim)
        size = t.shape[self.dim]
        k = _count(self.amount, size)
        if not k:
            return default_mask
        prob = torchlite.rand(size)
        threshold = prob.kthvalue(k).values
        keep = (prob > threshold).nonzero().reshape(-1)
        dim = self.dim + t.ndim if self.dim < 0 else self.dim
        return _channel_mask(t, dim, keep) * default_mask.to(t.dtype)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prune the `amount` channels along `dim` of smallest L`n` norm."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def compute_mask(self, t, default_mask):
        _check_structured(t, self.dim)
        dim = self.dim + t.ndim if self.dim < 0 else self.dim
        size = t.shape[dim]
        k = _count(self.amount, size)
        if not k:
            return default_mask
        others = [d for d in range(t.ndim) if d != dim]
        norm = torchlite.norm(t, p=self.n, dim=others)
        keep = norm.topk(size - k, largest=True).indices
        return _channel_mask(t, dim, keep) * default_mask.to(t.dtype)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prune with a given mask (combined with any earlier one)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"custom_from_mask: the mask has shape {tuple(self.mask.shape)}, "
                             f"the tensor {tuple(default_mask.shape)}")
        return default_mask * self.mask.to(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module: Module, name: str) -> Module:
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount) -> Module:
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount, importance_scores=None) -> Module:
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount, dim: int) -> Module:
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount, n, dim: int,
                  importance_scores=None) -> Module:
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters: Iterable, pruning_method, importance_scores=None,
                        **kwargs) -> None:
    """Prune across several tensors at once, ((module, name), ...), as one flattened tensor
    (with an unstructured method: the smallest entries over all of them, say)."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = torchlite.cat([importance_scores.get((m, n), getattr(m, n)).detach().reshape(-1)
                            for m, n in parameters])
    default = torchlite.cat([getattr(m, n + "_mask", torchlite.ones_like(getattr(m, n)))
                             .detach().reshape(-1).to(scores.dtype) for m, n in parameters])
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    method._tensor_name = "temp"
    container = PruningContainer(method)
    with no_grad():
        final = container.compute_mask(scores, default)
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        n = param.numel()
        custom_from_mask(module, name, mask=final[start:start + n].reshape(param.shape))
        start += n


def remove(module: Module, name: str) -> Module:
    """Make the pruning of module.<name> permanent and drop its reparametrization."""
    return remove_reparametrization(
        module, BasePruningMethod, name,
        f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed",
        attr="_tensor_name")


def is_pruned(module: Module) -> bool:
    """Whether module or one of its submodules has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod) for _, m in module.named_modules()
               for hook in m._forward_pre_hooks.values())
