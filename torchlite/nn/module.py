"""Module: the base class of every layer and model, as `torch.nn.Module`.

Parameters, buffers and submodules are registered by attribute assignment and live in three
dicts (`_parameters`, `_buffers`, `_modules`) that `__getattr__` consults. Everything that walks
the tree (parameters(), state_dict(), to(), train()) goes through those dicts, in registration
order, so state_dict keys and their order match PyTorch's.
"""

from __future__ import annotations

from collections import OrderedDict

from .. import backend
from ..tensor import Tensor
from . import hooks as _hooks
from ._convert import _converter, _parse_to, _plain
from ._state import IncompatibleKeys, load_local
from ._state import load_state_dict as _load_state_dict
from ._tree import ModuleTree
from .parameter import Buffer, Parameter

__all__ = ["Module"]


def _typename(x) -> str:
    if isinstance(x, Tensor):
        return f"torchlite.Tensor ({x.dtype})"
    return type(x).__name__


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (children's reprs nest under their parent's)."""
    first, *rest = text.split("\n")
    if not rest:
        return text
    pad = " " * spaces
    return "\n".join([first] + [pad + line for line in rest])


class Module(ModuleTree):
    """Base class for all neural network modules; subclass it and define `forward`.

    The tree-walking methods (named_modules, parameters, get_submodule, ...) are inherited from
    `ModuleTree` (torchlite/nn/_tree.py).
    """

    dump_patches = False
    _version = 1
    # a class whose instances may run together with the modules after them in a Sequential
    # sets this to a classmethod (nn/modules/_fusion.py); None: the usual one call per module
    _sequential_run = None
    training: bool

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}"
            )
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_pre_hooks", _hooks._HookDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", _hooks._HookDict())
        setattr_(self, "_forward_hooks", _hooks._HookDict())
        setattr_(self, "_forward_hooks_with_kwargs", _hooks._HookDict())
        setattr_(self, "_forward_hooks_always_called", _hooks._HookDict())

    # -- calling ---------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    def __call__(self, *args, **kwargs):
        # The common case (no hooks anywhere) costs four truth tests and one call.
        if (self._forward_pre_hooks or self._forward_hooks or _hooks._global_forward_pre_hooks
                or _hooks._global_forward_hooks):
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    _call_impl = __call__

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _hooks.RemovableHandle:
        """`hook(module, args)` (or `(module, args, kwargs)`) runs before forward.

        It may return replacement args (or an `(args, kwargs)` pair with `with_kwargs=True`).
        """
        handle = _hooks.add_hook(self._forward_pre_hooks, hook, prepend,
                                 extra=self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        return handle

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> _hooks.RemovableHandle:
        """`hook(module, args, output)` (or `(module, args, kwargs, output)`) runs after forward.

        A non-None return value replaces the output. `always_call=True` runs it even when forward
        raises (with output None).
        """
        handle = _hooks.add_hook(
            self._forward_hooks, hook, prepend,
            extra=[self._forward_hooks_with_kwargs, self._forward_hooks_always_called],
        )
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        return handle

    def register_full_backward_hook(self, hook, prepend: bool = False):
        raise NotImplementedError(
            "module backward hooks are not supported by torchlite yet; register a hook on the "
            "output tensor instead (output.register_hook(fn))"
        )

    register_backward_hook = register_full_backward_hook
    register_full_backward_pre_hook = register_full_backward_hook

    # -- registration ----------------------------------------------------------------------------
    def _check_new_name(self, name, kind: str, registry: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared-but-absent parameter such as a missing bias)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_new_name(name, "parameter", self._parameters)
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torchlite.nn.Parameter or None required)"
            )
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (running statistics, say).

        Persistent buffers are part of `state_dict()`; non-persistent ones are not.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_new_name(name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(torchlite Tensor or None required)"
            )
        if isinstance(tensor, Buffer):
            persistent = tensor.persistent
            tensor = _plain(tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module, reachable as an attribute of that name."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_new_name(name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torchlite.nn.Parameter or None expected)"
                )
            self.register_parameter(name, None)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(torchlite.nn.Module or None expected)"
                )
            modules[name] = None
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer):
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self._forget(name, keep="_buffers")
            self.register_buffer(name, value, value.persistent)
            return
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    "(torchlite.Tensor or None expected)"
                )
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        """Drop `name` from every registry but `keep` (an attribute changes kind)."""
        d = self.__dict__
        d.pop(name, None)
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg != keep:
                d[reg].pop(name, None)
        if keep != "_buffers":
            d["_non_persistent_buffers_set"].discard(name)

    def __getattr__(self, name: str):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}' (did "
                f"{type(self).__name__}.__init__ call super().__init__()?)"
            )
        for reg in (d["_parameters"], d["_buffers"], d["_modules"]):
            if name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if name in d.get(reg, ()):
                del d[reg][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(super().__dir__())
        for reg in ("_parameters", "_buffers", "_modules"):
            keys.update(self.__dict__.get(reg, {}))
        return sorted(k for k in keys if not k[0].isdigit())

    # -- modes and gradients ---------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros in place."""
        for p in self.parameters():
            g = p.grad
            if g is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                if g.grad_fn is not None:
                    g = p.grad = g.detach()
                g._data.fill(0)
                g._bump()

    def apply(self, fn) -> Module:
        """Call `fn(module)` on every descendant, children first, then on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- device and dtype ------------------------------------------------------------------------
    def _apply(self, fn, recurse: bool = True) -> Module:
        """Replace every parameter's and buffer's data by `fn(tensor)` (a Tensor -> Tensor map).

        Parameters keep their identity (optimizers built earlier still hold them).
        """
        if recurse:
            for child in self.children():
                child._apply(fn)
        for p in self._parameters.values():
            if p is None:
                continue
            new = fn(p)
            if new is not p:
                p._data, p._device = new._data, new._device
                p._bump()
            if p.grad is not None:
                g = fn(p.grad)
                if g is not p.grad:
                    p.grad = Tensor._make(g._data, g._device)
        for name, b in self._buffers.items():
            if b is not None:
                self._buffers[name] = fn(b)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast parameters and buffers: `to(device)`, `to(dtype)`, `to(tensor)`.

        Only floating-point tensors change dtype (integer buffers such as num_batches_tracked stay).
        """
        device, dtype = _parse_to(args, kwargs)
        return self._apply(_converter(device, dtype))

    def cuda(self, device=None) -> Module:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def cpu(self) -> Module:
        return self.to("cpu")

    def float(self) -> Module:
        return self._apply(_converter(None, backend.float32))

    def double(self) -> Module:
        return self._apply(_converter(None, backend.float64))

    def half(self) -> Module:
        return self._apply(_converter(None, backend.float16))

    def bfloat16(self) -> Module:
        return self._apply(_converter(None, backend.bfloat16))

    def type(self, dst_type) -> Module:
        return self._apply(_converter(None, backend.to_dtype(dst_type)))

    def compile(self, *args, **kwargs) -> None:
        """As `torch.nn.Module.compile`; a no-op: torchlite runs eagerly (see torchlite.compile)."""
        from .._compile import compile as _compile

        _compile(self, *args, **kwargs)  # checks the arguments as torchlite.compile does

    def share_memory(self) -> Module:
        return self

    # -- state dict ------------------------------------------------------------------------------
    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict of parameters and persistent buffers under PyTorch's dotted names.

        The tensors share memory with the module's (detached, unless keep_vars=True).
        """
        if args:  # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=prefix + name + ".",
                                 keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """Load this module's own entries (subclasses override it to adapt old checkpoints)."""
        load_local(self, state_dict, prefix, local_metadata, strict, missing_keys,
                   unexpected_keys, error_msgs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy tensors from `state_dict` into this module's parameters and buffers.

        All problems (missing keys, unexpected keys, shape mismatches) are reported together in
        one RuntimeError. With strict=False, missing and unexpected keys are allowed but shape
        mismatches still raise. Returns `(missing_keys, unexpected_keys)`. NumPy arrays are
        accepted as values too.
        """
        missing, unexpected = _load_state_dict(self, state_dict, strict, assign)
        return IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The part of the repr inside the parentheses; layers override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_addindent(repr(m), 2)}" for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"
