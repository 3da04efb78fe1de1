"""The load_state_dict machinery: walk the module tree, copy tensors in, collect every problem."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from .. import backend
from ..tensor import Size, Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _source_array(value):
    """The array behind a checkpoint value (Tensor or NumPy array), or None if it is neither."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("cupy"):
        return value
    return None


def load_tensor_into(target: Tensor, value, key: str, assign: bool, error_msgs: list):
    """Copy checkpoint `value` into `target` in place (casting dtype, moving device).

    Problems are appended to `error_msgs`. With assign=True, returns the tensor the module should
    hold instead (a Parameter stays a Parameter); otherwise returns None.
    """
    from .parameter import Parameter

    src = _source_array(value)
    if src is None:
        error_msgs.append(
            f'While copying the parameter named "{key}", expected torchlite.Tensor or Tensor-like '
            f"object from checkpoint but received {type(value)}"
        )
        return None
    shape = tuple(target._data.shape)
    if len(shape) == 0 and tuple(src.shape) == (1,):
        src = src.reshape(())  # PyTorch accepts a 1-element vector for a scalar (old checkpoints)
    if tuple(src.shape) != shape:
        error_msgs.append(
            f"size mismatch for {key}: copying a param with shape {Size(src.shape)!r} from "
            f"checkpoint, the shape in current model is {Size(shape)!r}."
        )
        return None
    try:
        src = backend.move(src, target._device)
        if assign:
            arr = src.astype(target._data.dtype) if src.dtype != target._data.dtype else src
            if isinstance(target, Parameter):
                return Parameter(Tensor._make(arr, target._device), target.requires_grad)
            return Tensor._make(arr, target._device)
        arr = target._data
        if isinstance(arr, np.ndarray) and not arr.flags.writeable:
            target._data = np.array(src, dtype=arr.dtype)
        else:
            arr[...] = src
        target._bump()
    except Exception as exc:  # report it with the others rather than stopping half-way
        error_msgs.append(
            f'While copying the parameter named "{key}", whose dimensions in the model are '
            f"{Size(shape)!r} and whose dimensions in the checkpoint are {Size(src.shape)!r}, an "
            f"exception occurred : {exc.args}."
        )
    return None


def load_local(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
               error_msgs) -> None:
    """Module._load_from_state_dict: this module's parameters and persistent buffers."""
    assign = local_metadata.get("assign_to_params_buffers", False)
    local = {k: v for k, v in module._parameters.items() if v is not None}
    local.update((k, v) for k, v in module._buffers.items()
                 if v is not None and k not in module._non_persistent_buffers_set)
    for name, target in local.items():
        key = prefix + name
        if key not in state_dict:
            missing_keys.append(key)
            continue
        new = load_tensor_into(target, state_dict[key], key, assign, error_msgs)
        if new is not None:  # assign=True: the module takes the loaded tensor itself
            if name in module._parameters:
                module._parameters[name] = new
            else:
                module._buffers[name] = new
    if strict:
        for key in state_dict:
            if not key.startswith(prefix):
                continue
            head, dot, _ = key[len(prefix):].partition(".")
            if (dot and head not in module._modules) or (not dot and head not in local):
                unexpected_keys.append(key)


def load_state_dict(module, state_dict, strict: bool, assign: bool):
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    state = dict(state_dict)  # modules may add or rewrite entries while loading
    missing: list = []
    unexpected: list = []
    errors: list = []
    meta = {"assign_to_params_buffers": assign}

    def load(mod, prefix: str) -> None:
        mod._load_from_state_dict(state, prefix, meta, True, missing, unexpected, errors)
        for name, child in mod._modules.items():
            if child is not None:
                load(child, prefix + name + ".")

    load(module, "")
    if strict:
        if unexpected:
            names = ", ".join(f'"{k}"' for k in unexpected)
            errors.insert(0, f"Unexpected key(s) in state_dict: {names}. ")
        if missing:
            names = ", ".join(f'"{k}"' for k in missing)
            errors.insert(0, f"Missing key(s) in state_dict: {names}. ")
    if errors:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(errors)
        )
    return missing, unexpected
