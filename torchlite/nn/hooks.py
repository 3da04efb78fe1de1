"""Removable hook handles and the global (all-modules) forward hooks."""

from __future__ import annotations

import itertools
import weakref

_next_id = itertools.count()


class RemovableHandle:
    """Returned by `register_*_hook`: `handle.remove()` (or leaving a `with` block) unregisters it.

    The handle holds weak references to the hook dicts, so it never keeps a module alive.
    """

    def __init__(self, hooks_dict: dict, *, extra_dict=None) -> None:
        self.id = next(_next_id)
        self._refs = [weakref.ref(hooks_dict)]
        extras = extra_dict if isinstance(extra_dict, (list, tuple)) else (extra_dict,)
        self._refs += [weakref.ref(d) for d in extras if d is not None]

    def remove(self) -> None:
        for ref in self._refs:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle id={self.id}>"


class _HookDict(dict):
    """A dict that can be weakly referenced (plain dicts cannot)."""

    __slots__ = ("__weakref__",)


def add_hook(hooks: dict, hook, prepend: bool, extra=None) -> RemovableHandle:
    handle = RemovableHandle(hooks, extra_dict=extra)
    hooks[handle.id] = hook
    if prepend:
        items = list(hooks.items())
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(kv for kv in items if kv[0] != handle.id)
    return handle


# Hooks that run for every module's forward (as torch.nn.modules.module.register_module_*).
_global_forward_pre_hooks: dict = _HookDict()
_global_forward_hooks: dict = _HookDict()
_global_forward_hooks_always_called: dict = _HookDict()


def register_module_forward_pre_hook(hook) -> RemovableHandle:
    """`hook(module, args)` runs before every module's forward; it may return new args."""
    return add_hook(_global_forward_pre_hooks, hook, False)


def register_module_forward_hook(hook, *, always_call: bool = False) -> RemovableHandle:
    """`hook(module, args, output)` runs after every forward; it may return a new output."""
    handle = add_hook(_global_forward_hooks, hook, False,
                      extra=_global_forward_hooks_always_called)
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def call_with_hooks(module, args, kwargs):
    """Module.__call__ when any forward hook is registered (global ones run first)."""
    for hid, hook in (*_global_forward_pre_hooks.items(), *module._forward_pre_hooks.items()):
        if hid in module._forward_pre_hooks_with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError(
                        "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                        f"but got {res}."
                    )
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    post = (*_global_forward_hooks.items(), *module._forward_hooks.items())
    try:
        result = module.forward(*args, **kwargs)
    except Exception:
        always = (_global_forward_hooks_always_called, module._forward_hooks_always_called)
        for hid, hook in post:
            if any(hid in d for d in always):
                try:
                    _run_forward_hook(module, hid, hook, args, kwargs, None)
                except Exception:  # the forward's own error is the one to report
                    pass
        raise
    for hid, hook in post:
        res = _run_forward_hook(module, hid, hook, args, kwargs, result)
        if res is not None:
            result = res
    return result


def _run_forward_hook(module, hid, hook, args, kwargs, result):
    if hid in module._forward_hooks_with_kwargs:
        return hook(module, args, kwargs, result)
    return hook(module, args, result)
