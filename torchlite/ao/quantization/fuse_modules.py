"""fuse_modules: merge Conv2d+BatchNorm2d(+ReLU), Linear+BatchNorm1d and Linear/Conv2d+ReLU
into one module, as `torch.ao.quantization.fuse_modules`, so quantization treats them as one
layer. Eval fusion folds the batch norm's running statistics into the weights; QAT fusion
(`fuse_modules_qat`) keeps Conv/Linear+ReLU pairs as fused containers."""

from __future__ import annotations

import copy

from ... import nn
from ...autograd.grad_mode import no_grad
from ...nn import intrinsic
from ...nn.module import Module


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """Weights of the convolution equal to conv then batch norm with running statistics:
    w * gamma / sqrt(var + eps), (b - mean) * gamma / sqrt(var + eps) + beta."""
    from ...ops.creation import zeros_like

    with no_grad():
        if conv_b is None:
            conv_b = zeros_like(bn_rm)
        inv = (bn_rv + bn_eps).rsqrt()
        gamma = bn_w if bn_w is not None else inv * 0 + 1
        beta = bn_b if bn_b is not None else inv * 0
        factor = gamma * inv
        shape = (-1,) + (1,) * (conv_w.ndim - 1)
        w = conv_w * factor.reshape(shape)
        b = (conv_b - bn_rm) * factor + beta
    return nn.Parameter(w.detach()), nn.Parameter(b.detach())


def _fold(layer, bn):
    if bn.running_mean is None:
        raise AssertionError("fusing a BatchNorm needs its running statistics "
                             "(track_running_stats=True)")
    fused = copy.deepcopy(layer)
    w, b = fuse_conv_bn_weights(layer.weight, layer.bias, bn.running_mean, bn.running_var,
                                bn.eps, bn.weight, bn.bias)
    fused.weight, fused.bias = w, b
    return fused


def _fuser(types: tuple, is_qat: bool):
    conv, lin, bn1, bn2, relu = nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU
    if types == (conv, bn2):
        return (lambda c, b: intrinsic.ConvBn2d(c, b)) if is_qat else _fold
    if types == (conv, bn2, relu):
        return (lambda c, b, r: intrinsic.ConvBnReLU2d(c, b, r)) if is_qat else \
            (lambda c, b, r: intrinsic.ConvReLU2d(_fold(c, b), r))
    if types == (lin, bn1) and not is_qat:
        return _fold
    if types == (conv, relu):
        return intrinsic.ConvReLU2d
    if types == (lin, relu):
        return intrinsic.LinearReLU
    return None


def _get(model: Module, name: str) -> Module:
    mod = model
    for part in name.split("."):
        mod = getattr(mod, part)
    return mod


def _set(model: Module, name: str, new: Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(_get(model, parent) if parent else model, leaf, new)


def _fuse(model: Module, modules_to_fuse, inplace: bool, is_qat: bool) -> Module:
    if not inplace:
        model = copy.deepcopy(model)
    groups = modules_to_fuse
    if groups and isinstance(groups[0], str):
        groups = [groups]
    for group in groups:
        mods = [_get(model, n) for n in group]
        fuser = _fuser(tuple(type(m) for m in mods), is_qat)
        if fuser is None:
            kinds = ", ".join(type(m).__name__ for m in mods)
            raise NotImplementedError(f"Cannot fuse modules: ({kinds}) at {list(group)}")
        if not is_qat and any(m.training for m in mods) and \
                any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in mods):
            raise AssertionError("Fusion only for eval!")
        fused = fuser(*mods)
        fused.train(mods[0].training)
        _set(model, group[0], fused)
        for name in group[1:]:
            ident = nn.Identity()
            ident.train(mods[0].training)
            _set(model, name, ident)
    return model


def fuse_modules(model: Module, modules_to_fuse, inplace: bool = False, fuser_func=None,
                 fuse_custom_config_dict=None) -> Module:
    """Fuse each list of module names in `modules_to_fuse` (eval mode): the first becomes the
    fused module, the others Identity."""
    return _fuse(model, modules_to_fuse, inplace, is_qat=False)


def fuse_modules_qat(model: Module, modules_to_fuse, inplace: bool = False, fuser_func=None,
                     fuse_custom_config_dict=None) -> Module:
    """fuse_modules for quantization-aware training (Linear/Conv2d + ReLU)."""
    return _fuse(model, modules_to_fuse, inplace, is_qat=True)
