"""A whole nn.Module in a torchlite file (`torchlite.save(model, f)`), without pickle.

The module tree is recorded in the skeleton as `{"__module__": {...}}` nodes: the class by
name ("module:qualname"), the training flag, the JSON-able attributes (numbers, strings, tuples,
dtypes, functions by name), the parameters, buffers and submodules, tensors going to the file's
body as for any state. Loading never imports anything: a class (or a function attribute) must be
defined by a module that is already imported (torchlite itself, the user's script, a model
package the program imported), and a class must be an nn.Module subclass. The object is made
with `object.__new__` and `Module.__init__`, then filled in: its own `__init__` does not run.

With `weights_only=True` (torch.load's default) a file holding modules is refused as PyTorch
refuses a pickled module, unless every class in it was allowed with `add_safe_globals`.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any

from . import backend

# Module.__init__ makes these; they are not the module's own state
_INTERNAL = frozenset({
    "training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_modules",
    "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
})


def is_module(obj: Any) -> bool:
    """Whether `obj` is an nn.Module (without importing torchlite.nn when nothing did)."""
    mod = sys.modules.get("torchlite.nn.module")
    return mod is not None and isinstance(obj, mod.Module)


def _global_name(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _resolve(name: str) -> Any:
    """The object a "module:qualname" name stands for, from an already imported module only."""
    modname, _, qualname = name.partition(":")
    mod = sys.modules.get(modname)
    if mod is None or not qualname:
        return None
    obj: Any = mod
    for part in qualname.split("."):
        if part == "<locals>":
            return None
        obj = getattr(obj, part, None)
    return obj


def encode(module: Any, path: str, encode_value: Callable[[Any, str], Any],
           shared: dict | None = None) -> dict:
    """The skeleton node of `module`; `encode_value(value, path)` encodes tensors and values.
    A parameter met twice in the tree (tied weights) is stored once and referred to by its first
    name, so loading ties it again."""
    if shared is None:
        shared = {}
    cls = type(module)
    if "<locals>" in cls.__qualname__:
        raise TypeError(f"save: can't store the module at '{path or '<root>'}': its class "
                        f"{cls.__qualname__} is defined inside a function, so a program loading "
                        "the file could not name it")
    d = vars(module)
    attrs = []
    for k, v in d.items():
        if k in _INTERNAL:
            continue
        where = f"{path}/{k}" if path else k
        if isinstance(v, (types.FunctionType, types.BuiltinFunctionType)):
            if _resolve(_global_name(v)) is not v:
                raise TypeError(f"save: can't store the function {v.__qualname__} at '{where}': "
                                "only functions a module defines at its top level can be named")
            attrs.append([k, {"__function__": _global_name(v)}])
        elif is_module(v):
            attrs.append([k, encode(v, where, encode_value, shared)])
        elif isinstance(v, backend.dtype):  # (a dtype or device comes back as itself)
            attrs.append([k, {"__dtype__": v.name}])
        elif isinstance(v, backend.device):
            attrs.append([k, {"__device__": str(v)}])
        else:
            try:
                attrs.append([k, encode_value(v, where)])
            except TypeError as exc:
                raise TypeError(f"save: can't store attribute '{k}' of {cls.__name__} "
                                f"('{where}'): {exc}") from None
    params = []
    for k, p in d["_parameters"].items():
        node = None
        if p is not None:
            first = shared.setdefault(id(p), (_join(path, k), p))[0]  # (p kept: ids stay unique)
            node = ({"__shared_parameter__": first} if first != _join(path, k)
                    else encode_value(p.detach(), first))
        params.append([k, node, bool(p is not None and p.requires_grad)])
    buffers = [[k, None if b is None else encode_value(b, _join(path, k)),
                k not in d["_non_persistent_buffers_set"]]
               for k, b in d["_buffers"].items()]
    children = [[k, None if m is None else encode(m, _join(path, k), encode_value, shared)]
                for k, m in d["_modules"].items()]
    return {"__module__": {"class": _global_name(cls), "training": bool(module.training),
                           "attrs": attrs, "parameters": params, "buffers": buffers,
                           "modules": children}}


def _join(path: str, k: str) -> str:
    return f"{path}.{k}" if path else k


def classes(node: Any, out: list) -> list:
    """The class names of every module node under `node` (a skeleton), in order."""
    if isinstance(node, dict):
        if "__module__" in node and isinstance(node["__module__"], dict):
            out.append(node["__module__"].get("class"))
        for v in node.values():
            classes(v, out)
    elif isinstance(node, list):
        for v in node:
            classes(v, out)
    return out


def refuse_weights_only(names: list) -> None:
    """Raise PyTorch's error for `weights_only=True` unless every class is an allowed global."""
    import pickle  # for its exception class only: nothing is unpickled

    from ._safe_globals import get_safe_globals

    allowed = {_global_name(g) for g in get_safe_globals() if isinstance(g, type)}
    for name in names:
        if name not in allowed:
            dotted = str(name).replace(":", ".")
            raise pickle.UnpicklingError(
                "Weights only load failed. This file can still be loaded, to do so you have two "
                "options, do those steps only if you trust the source of the checkpoint. \n\t(1) "
                "Re-running `torch.load` with `weights_only` set to `False` will likely succeed "
                "(torchlite never unpickles: it rebuilds the module from classes already "
                "imported).\n\t(2) Alternatively, to load with `weights_only=True` allow the "
                "classes first.\n\tWeightsUnpickler error: Unsupported global: GLOBAL "
                f"{dotted} was not an allowed global by default. Please use "
                f"`torch.serialization.add_safe_globals([{dotted}])` or the "
                f"`torch.serialization.safe_globals([{dotted}])` context manager to allowlist "
                "this global if you trust this class/function.")


def decode(node: Any, decode_value: Callable[[Any], Any], fail: Callable[[str], Exception],
           path: str = "", shared: dict | None = None):
    """The module that `encode` recorded as `node["__module__"]`."""
    from .nn.module import Module
    from .nn.parameter import Parameter
    from .tensor import Tensor

    if not isinstance(node, dict):
        raise fail(f"a '__module__' entry is {type(node).__name__}, expected an object")
    name = node.get("class")
    if not isinstance(name, str) or ":" not in name:
        raise fail(f"a module's class is {name!r}, expected 'module:QualifiedName'")
    cls = _resolve(name)
    if cls is None:
        raise fail(f"its module class {name} is not defined by any imported module: import "
                   "(or define) it before loading; torchlite never imports what a file names")
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise fail(f"{name} names {type(cls).__name__} {cls!r}, not an nn.Module subclass")
    parts = {}
    for key in ("attrs", "parameters", "buffers", "modules"):
        entries = node.get(key)
        if not isinstance(entries, list) or not all(
                isinstance(e, list) and len(e) == (3 if key in ("parameters", "buffers") else 2)
                and isinstance(e[0], str) for e in entries):
            raise fail(f"the '{key}' of a {name} module is malformed (expected a list of "
                       "[name, value] entries)")
        parts[key] = entries
    if shared is None:
        shared = {}
    module = object.__new__(cls)
    Module.__init__(module)
    d = vars(module)
    d["training"] = bool(node.get("training", True))
    for k, v in parts["attrs"]:
        if k in _INTERNAL or k.startswith("__") or callable(getattr(cls, k, None)):
            raise fail(f"a {name} module's attribute '{k}' would replace the class's own")
        if isinstance(v, dict) and "__module__" in v:
            d[k] = decode(v["__module__"], decode_value, fail, _join(path, k), shared)
        else:
            d[k] = _decode_attr(v, decode_value, fail, cls)
    for k, v, requires_grad in parts["parameters"]:
        if isinstance(v, dict) and "__shared_parameter__" in v:
            first = v["__shared_parameter__"]
            if not isinstance(first, str) or first not in shared:
                raise fail(f"parameter '{k}' of a {name} module refers to {first!r}, which is "
                           "not a parameter stored before it")
            d["_parameters"][k] = shared[first]
            continue
        t = decode_value(v) if v is not None else None
        if t is not None and not isinstance(t, Tensor):
            raise fail(f"parameter '{k}' of a {name} module is not a tensor")
        p = None if t is None else Parameter(t, requires_grad=bool(requires_grad))
        d["_parameters"][k] = shared[_join(path, k)] = p
    for k, v, persistent in parts["buffers"]:
        t = decode_value(v) if v is not None else None
        if t is not None and not isinstance(t, Tensor):
            raise fail(f"buffer '{k}' of a {name} module is not a tensor")
        d["_buffers"][k] = t
        if not persistent:
            d["_non_persistent_buffers_set"].add(k)
    for k, v in parts["modules"]:
        if v is not None and not (isinstance(v, dict) and "__module__" in v):
            raise fail(f"submodule '{k}' of a {name} module is not a module")
        d["_modules"][k] = None if v is None else decode(v["__module__"], decode_value, fail,
                                                         _join(path, k), shared)
    return module


def _decode_attr(v: Any, decode_value: Callable[[Any], Any], fail: Callable[[str], Exception],
                 cls: type):
    if isinstance(v, dict) and "__function__" in v:
        # only torchlite's functions and those of the module defining the class (F.relu as a
        # layer's activation, a helper next to the model): never os.system and the like
        fname = v["__function__"]
        modname = fname.partition(":")[0] if isinstance(fname, str) else ""
        fn = _resolve(fname) if modname.startswith("torchlite.") or modname == cls.__module__ \
            else None
        if not isinstance(fn, (types.FunctionType, types.BuiltinFunctionType)):
            raise fail(f"its function {fname!r} is not a function of torchlite or of the module "
                       f"defining {cls.__qualname__}")
        return fn
    if isinstance(v, dict) and ("__dtype__" in v or "__device__" in v):
        what = "dtype" if "__dtype__" in v else "device"
        name = v[f"__{what}__"]
        try:
            if not isinstance(name, str):
                raise TypeError(name)
            return backend.to_dtype(name) if what == "dtype" else backend.device(name)
        except (TypeError, ValueError, KeyError, RuntimeError):
            raise fail(f"an attribute's {what} {name!r} is not a torchlite {what}") from None
    return decode_value(v)
