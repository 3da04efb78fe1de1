"""Finding the forward pre-hook that reparametrizes one tensor (weight_norm, spectral_norm,
pruning keep their state in such a hook)."""

from __future__ import annotations


def pop_pre_hook(module, kind: type, name: str, attr: str = "name"):
    """Remove and return the forward pre-hook of class `kind` acting on tensor `name` (read
    from the hook's `attr`), or None when the module has none."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, kind) and getattr(hook, attr, None) == name:
            del module._forward_pre_hooks[key]
            return hook
    return None


def remove_reparametrization(module, kind: type, name: str, missing: str, attr: str = "name"):
    """Undo the reparametrization of tensor `name` by the pre-hook of class `kind` (its
    `remove(module)` puts the plain tensor back); ValueError(`missing`) when there is none.
    Returns the module, as PyTorch's remove_weight_norm, remove_spectral_norm and prune.remove."""
    hook = pop_pre_hook(module, kind, name, attr)
    if hook is None:
        raise ValueError(missing)
    hook.remove(module)
    return module
