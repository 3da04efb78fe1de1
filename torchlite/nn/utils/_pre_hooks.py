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
