"""The Optimizer base class, as `torch.optim.Optimizer`.

An optimizer holds `param_groups` (a list of dicts: the parameters and their hyper-parameters) and
`state` (per-parameter buffers, created lazily on the first step, keyed by the parameter tensor).
`state_dict()` refers to parameters by their position across the groups, exactly as PyTorch, and
holds only Tensors, numbers, bools, None, strings and lists/tuples, so `torchlite.save` can
write it.

`step` is written once, here, for every algorithm but LBFGS: an algorithm says how to read its
hyper-parameters, how to fill a parameter's state, and how to update a batch of parameters on raw
arrays (see `step`). Custom optimizers may instead override `step`, as in PyTorch.

Deliberate differences from PyTorch: duplicate parameters and sets of parameters raise (PyTorch
warns, or lets a top-level set through); NaN hyper-parameters raise everywhere; `load_state_dict`
copies the loaded buffers (PyTorch may alias them); `differentiable=True` is refused, while
`foreach`, `fused` and `capturable` are accepted and change nothing; only step hooks exist.
"""

from __future__ import annotations

import copy
import functools
from collections import OrderedDict, defaultdict
from collections.abc import Hashable
from itertools import chain
from typing import Any

import numpy as np

from .. import backend
from ..autograd import record as _record
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from . import _fused
from ._state import scalar_tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that has no default and must be given (per group)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class _HookHandle:
    _next_id = 0

    def __init__(self, hooks: OrderedDict) -> None:
        self._hooks = hooks
        self.id = _HookHandle._next_id
        _HookHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def _wrap_step(step):
    """Run step hooks around a subclass's `step` and note that the optimizer stepped.

    Applied to every `step` a subclass defines; a `super().step()` inside it runs the hooks once.
    """

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if self.__dict__.get("_in_step", False):
            return step(self, *args, **kwargs)
        self._opt_called = True  # read by LRScheduler to warn about a wrong call order
        for hook in list(getattr(self, "_step_pre_hooks", {}).values()):
            res = hook(self, args, kwargs)
            if res is not None:
                args, kwargs = res
        self._in_step = True
        # the profiler's hook: the step is one range, named as PyTorch names it
        event = _record.recorders and _record.begin_range(
            f"Optimizer.step#{type(self).__name__}.step")
        try:
            out = step(self, *args, **kwargs)
        finally:
            self._in_step = False
            if event:
                _record.end_range(event)
        for hook in list(getattr(self, "_step_post_hooks", {}).values()):
            hook(self, args, kwargs)
        return out

    wrapper._optimizer_step_wrapped = True
    return wrapper


class Optimizer:
    """Base class of all optimizers, as `torch.optim.Optimizer`.

    Args:
        params: an iterable of Tensors, of `(name, Tensor)` pairs, or of dicts, each dict a
            parameter group with a "params" entry and its own hyper-parameters.
        defaults: the default hyper-parameters, used where a group does not set them.
    """

    # state keys that hold 0-d CPU float32 tensors (restored as such by load_state_dict)
    _scalar_state_keys: tuple[str, ...] = ("step",)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_optimizer_step_wrapped", False):
            cls.step = _wrap_step(step)

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._step_pre_hooks: OrderedDict = OrderedDict()
        self._step_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        if isinstance(params, (set, frozenset)):
            # PyTorch lets a set through here (and rejects it in a group): its order, hence the
            # state_dict's parameter indices, would change from run to run
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list (params)")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- groups ----------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (others from `defaults`)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names. Some param names are "
                    "missing"
                )
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__module__}.{type(p).__name__}"
                )
            if not p.is_leaf and not p.retains_grad:
                raise ValueError("can't optimize a non-leaf Tensor")
        param_group["params"] = tensors
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    f"{name}"
                )
            param_group.setdefault(name, default)
        ids = [id(p) for p in tensors]
        if len(set(ids)) != len(ids):
            raise ValueError(
                "optimizer contains a parameter group with duplicate parameters (params); "
                "each tensor may appear only once"
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group (params)")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in param_group):
                raise ValueError(
                    "all optimizer param groups should be with/without names. cannot add param "
                    "group " + ("with" if "param_names" in param_group else "without") + " names "
                    "to the optimizer"
                )
        self._validate_group(param_group)
        self.param_groups.append(param_group)

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Check a group's hyper-parameters (subclasses: raise ValueError naming the argument)."""

    # -- gradients and steps ---------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to None, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g.grad_fn = None
                    g._requires_grad = False
                    g._data[...] = 0
                    g._bump()

    # whether `_update_fused` takes this algorithm's GPU parameters (torchlite.optim._fused)
    _has_fused_update: bool = False

    @_wrap_step
    @no_grad()
    def step(self, closure=None):
        """Perform one optimization step. `closure` re-evaluates the model and returns the loss.

        Per group, `_hyper(group)` reads the hyper-parameters once. Per parameter with a
        gradient, `_prepare` fills its state on first use, counts its step and returns
        (key, arrays): the parameter's array, its gradient's and its state buffers'. The
        parameters are then updated in batches that share a key and a dtype (the key is what
        one update needs in common, e.g. Adam's step count): GPU arrays the fused kernels take
        by `_update_fused`, one kernel launch per batch and device, the others by `_update`.
        """
        if type(self)._prepare is Optimizer._prepare:
            raise NotImplementedError(f"{type(self).__name__} does not implement step")
        loss = self._eval_closure(closure)
        for group in self.param_groups:
            hyper = self._hyper(group)
            on_cpu: dict[tuple, list[tuple]] = {}
            on_gpu: list[tuple[Hashable, tuple]] = []
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if type(grad._data) is not type(p._data) and getattr(grad, "_sparse_layout", 0):
                    self._step_sparse(p, grad._data, group, hyper)
                    p._bump()
                    continue
                key, arrays = self._prepare(p, grad._data, group)
                if (self._has_fused_update and type(p._data) is not np.ndarray
                        and _fused.fusable(arrays)):
                    on_gpu.append((key, arrays))
                else:
                    on_cpu.setdefault((key, p._data.dtype), []).append(arrays)
                p._bump()
            for (key, _dtype), entries in on_cpu.items():
                self._update(entries, key, hyper)
            for (key, _device, _dtype), lists in _fused.batches(on_gpu):
                self._update_fused(lists, key, hyper)
        return loss

    def _hyper(self, group: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of `_update` for this group, as Python numbers."""
        return {}

    def _step_sparse(self, p: Tensor, grad, group: dict[str, Any], hyper: dict[str, Any]) -> None:
        """Update `p` from a sparse gradient (torchlite.sparse COO storage): only the algorithms
        that accept one (SGD, Adagrad, SparseAdam) override this; the others refuse, as PyTorch."""
        name = type(self).__name__
        if name in ("Adam", "AdamW"):  # PyTorch's AdamW is an Adam: it says Adam
            raise RuntimeError(
                "Adam does not support sparse gradients, please consider SparseAdam instead")
        raise RuntimeError(f"{name} does not support sparse gradients")

    def _prepare(self, p: Tensor, grad, group: dict[str, Any]) -> tuple[Hashable, tuple]:
        """Fill `self.state[p]` on first use and count the step; return (key, arrays) for
        `_update`, arrays[0] being `p`'s array and arrays[1] `grad` (its gradient's array)."""
        raise NotImplementedError

    def _update(self, entries: list[tuple], key: Hashable, hyper: dict[str, Any]) -> None:
        """Update in place the parameters of `entries` (arrays from `_prepare`, one dtype and
        one key throughout)."""
        raise NotImplementedError

    def _update_fused(self, lists: list[list], key: Hashable, hyper: dict[str, Any]) -> None:
        """`_update` as one GPU kernel launch: `lists` holds one list per position of the
        arrays, all on one device (only where `_has_fused_update`)."""
        raise NotImplementedError

    @staticmethod
    def _eval_closure(closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def register_step_pre_hook(self, hook) -> _HookHandle:
        """`hook(optimizer, args, kwargs)` runs before each step; may return new (args, kwargs)."""
        handle = _HookHandle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook) -> _HookHandle:
        """`hook(optimizer, args, kwargs)` runs after each step."""
        handle = _HookHandle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    # -- state dict ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The state: {"state": {index: {...}}, "param_groups": [{..., "params": [...]}]}.

        Parameters are referred to by their position across the groups, as in PyTorch. The state
        tensors are the live buffers (not copies), as in PyTorch.
        """
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in g["params"]]
            groups.append(packed)
        state = {
            (index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from `state_dict()`; tensors are copied onto each parameter's device and,
        for floating point state, cast to its dtype (`step` and other counters stay CPU scalars).

        Unlike PyTorch, the loaded buffers never alias the tensors of `state_dict`. Integer keys
        that came back as strings (through a JSON round trip) and lists that were tuples are
        accepted.
        """
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, sg in zip(groups, saved_groups):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        id_map = dict(
            zip(
                chain.from_iterable([int(i) for i in sg["params"]] for sg in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            key = int(k) if isinstance(k, str) and k.lstrip("-").isdigit() else k
            if key in id_map:
                param = id_map[key]
                state[param] = {name: self._cast_state(param, name, val) for name, val in v.items()}
            else:
                state[key] = v
        new_groups = []
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
            for name, default in self.defaults.items():
                if isinstance(default, tuple) and isinstance(sg.get(name), list):
                    sg[name] = tuple(sg[name])
                sg.setdefault(name, default)
            new_groups.append(sg)
        self.state = state
        self.param_groups = new_groups

    def _cast_state(self, param: Tensor, key, value):
        if key in self._scalar_state_keys:
            return scalar_tensor(value)
        if isinstance(value, Tensor):
            arr = backend.move(value._data, param._device)
            if arr is value._data:
                arr = arr.copy()
            if param._data.dtype.kind in "fV" and arr.dtype.kind in "fV":
                arr = arr.astype(param._data.dtype, copy=False)
            return Tensor._make(arr, param._device)
        if isinstance(value, dict):
            return {k: self._cast_state(param, k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast_state(param, None, v) for v in value)
        return value

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_step_post_hooks", OrderedDict())

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
