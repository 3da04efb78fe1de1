"""Tensor methods that convert: devices, dtypes, copies, and new tensors like this one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _legacy_types, backend
from .ops import creation
from .tensor import Tensor


def parse_to(args: tuple, kwargs: dict) -> tuple[Any, Any, bool]:
    """PyTorch's `.to(...)` arguments (device, dtype, another tensor, keywords) as
    (device, dtype, copy), unresolved; Tensor.to and Module.to share it."""
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a._device, a.dtype
        elif isinstance(a, (backend.dtype, type(np.dtype))) or a in (float, int, bool):
            dt = a
        elif isinstance(a, (str, backend.device, int)):
            dev = a
        elif a is not None:
            try:
                dt = backend.to_dtype(a)
            except TypeError:
                raise TypeError(f"to(): unexpected argument {a!r}") from None
    return dev, dt, copy


def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Move to a device and/or cast to a dtype; returns self when nothing changes."""
    dev, dt, copy = parse_to(args, dict(kwargs))
    out = self
    if dt is not None:
        npdt = backend.to_dtype(dt).np
        if npdt != out._data.dtype:
            out = creation.Cast.apply(out, npdt)
    if dev is not None:
        d = backend.to_device(dev)
        if d is not out._device:
            moved = creation.ToDevice.apply(out, d)
            moved._device = d
            out = moved
    if copy and out is self:
        out = creation.clone(self)
    return out


def _caster(dt: backend.dtype) -> Callable[..., Tensor]:
    def cast(self: Tensor, memory_format: Any = None) -> Tensor:
        return to(self, dt)

    cast.__doc__ = f"This tensor as {dt.name} (itself when it already is)."
    return cast


def _new_factory(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def method(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
        return fn(*size, dtype=dtype or self.dtype, device=device or self._device,
                  requires_grad=requires_grad)

    method.__doc__ = f"A new tensor as torchlite.{fn.__name__}, with this one's dtype and device."
    return method


class ConversionMethods:
    """Devices, dtypes and copies (`to`, `cpu`, `cuda`, `float`, `clone`, `new_zeros`, ...)."""

    __slots__ = ()

    to = to
    clone = creation.clone

    def cpu(self: Any) -> Tensor:
        """A copy in host memory (self when already there)."""
        return to(self, backend.CPU)

    def cuda(self: Any, device: Any = None, non_blocking: bool = False) -> Tensor:
        """A copy on a CUDA device (self when already there)."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return to(self, device)

    def type_as(self: Any, other: Tensor) -> Tensor:
        """This tensor cast to `other`'s dtype."""
        return to(self, other.dtype)

    def new_tensor(self: Any, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
        """A new tensor of `data`, with this one's dtype and device unless given."""
        return creation.tensor(data, dtype=dtype or self.dtype, device=device or self._device,
                               requires_grad=requires_grad)

    def new_full(self: Any, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """A new tensor filled with `fill_value`, with this one's dtype and device unless given."""
        return creation.full(size, fill_value, dtype=dtype or self.dtype,
                             device=device or self._device, requires_grad=requires_grad)

    new_zeros = _new_factory(creation.zeros)
    new_ones = _new_factory(creation.ones)
    new_empty = _new_factory(creation.empty)

    def type(self: Any, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """The legacy type name ('torch.FloatTensor', PyTorch's string, so code comparing it
        still works) or, given a dtype, a legacy type (`torchlite.LongTensor`) or its name, this
        tensor cast (and moved) to it."""
        if dtype is None:
            return _legacy_types.type_string(self.dtype, self.is_cuda)
        return _legacy_types.cast(self, dtype)

    # sizes and places
    @property
    def nbytes(self: Any) -> int:
        return int(self._data.nbytes)

    @property
    def itemsize(self: Any) -> int:
        return int(self._data.itemsize)

    @property
    def is_cpu(self: Any) -> bool:
        return self._device.type == "cpu"

    def get_device(self: Any) -> int:
        """The CUDA device index, or -1 for a CPU tensor (as PyTorch)."""
        return -1 if self._device.type == "cpu" else int(self._device.index or 0)

    def sum_to_size(self: Any, *size: Any) -> Tensor:
        """Sum over the broadcast dims so that the result has `size` (which self expands to)."""
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        size = tuple(int(s) for s in size)
        shape = tuple(self.shape)
        lead = len(shape) - len(size)
        if lead < 0 or any(s not in (1, d) for s, d in zip(size, shape[lead:])):
            raise RuntimeError(f"size {{{', '.join(map(str, size))}}} is not expandable to size "
                               f"{{{', '.join(map(str, shape))}}}.")
        dims = tuple(range(lead)) + tuple(lead + i for i, (s, d) in
                                          enumerate(zip(size, shape[lead:])) if s == 1 and d != 1)
        out = self.sum(dims, keepdim=True) if dims else self
        return out.reshape(size)

    def new(self: Any, *args: Any) -> Tensor:
        """The legacy constructor: new(sizes...) uninitialised (zeros here), new(data) from
        data, with self's dtype and device."""
        if len(args) == 1 and not isinstance(args[0], int):
            return creation.tensor(args[0], dtype=self.dtype, device=self.device)
        return creation.zeros(*args, dtype=self.dtype, device=self.device)

    def isreal(self: Any) -> Tensor:
        """True everywhere: a real tensor has no imaginary part."""
        return creation.ones(tuple(self.shape), dtype=backend.bool_, device=self.device)

    def bernoulli(self: Any, p: Any = None, *, generator: Any = None) -> Tensor:
        """0/1 draws with the probabilities in self (or p for every element)."""
        return creation.bernoulli(self, p, generator=generator)

    # dtype questions, and the complex-number functions as they act on real tensors
    def is_complex(self: Any) -> bool:
        return False

    def is_signed(self: Any) -> bool:
        """Whether the dtype holds negative numbers (not uint8 or bool)."""
        return self._data.dtype.kind not in "ub"

    def is_same_size(self: Any, other: Tensor) -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def is_nonzero(self: Any) -> bool:
        """The truth of a one-element tensor; an error for any other size, as PyTorch."""
        n = self.numel()
        if n == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if n > 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item() != 0)

    def is_conj(self: Any) -> bool:
        return False

    def is_neg(self: Any) -> bool:
        return False

    def conj(self: Any) -> Tensor:
        return self

    def resolve_conj(self: Any) -> Tensor:
        return self

    def resolve_neg(self: Any) -> Tensor:
        return self

    def conj_physical(self: Any) -> Tensor:
        return creation.clone(self)

    @property
    def real(self: Any) -> Tensor:
        return self

    @property
    def imag(self: Any) -> Tensor:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    def angle(self: Any) -> Tensor:
        from .ops.real_complex import angle

        return angle(self)

    # (last in the class body: these names shadow the builtins there)
    float = _caster(backend.float32)
    double = _caster(backend.float64)
    half = _caster(backend.float16)
    bfloat16 = _caster(backend.bfloat16)
    long = _caster(backend.int64)
    int = _caster(backend.int32)
    short = _caster(backend.int16)
    char = _caster(backend.int8)
    byte = _caster(backend.uint8)
    bool = _caster(backend.bool_)
