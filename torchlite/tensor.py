"""The Tensor: one array (numpy or cupy), its device, and its place in the autograd graph.

This file holds the core state and the conversions; it sits below autograd and the ops, which
build on it. The math methods and Python operators are defined by the mixin classes that
`torchlite/_tensor_methods.py` combines into `TensorMethods`, on the floor above the ops; type
checkers and editors see them as Tensor's base class, and `_tensor_methods.install()` copies them
onto Tensor when torchlite is imported (copied rather than inherited: the mixins import the ops,
which import this module, and attributes on the class itself keep method lookup as fast as it was).
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backend
from ._format import format_tensor
from .ops.dims import wrap_dim as _wrap_dim

if TYPE_CHECKING:
    from ._tensor_methods import TensorMethods
    from .autograd.function import Context
    from .autograd.views import View
else:
    TensorMethods = object


class Tensor(TensorMethods):
    """A multi-dimensional array with autograd, as `torch.Tensor`.

    `Tensor(2, 3)` is an uninitialised float32 tensor of that shape and `Tensor([1, 2])` copies
    data into float32 (PyTorch's legacy constructor); prefer `torchlite.tensor(data)`.
    """

    __slots__ = (
        "_data",
        "_device",
        "_requires_grad",
        "grad",
        "grad_fn",
        "_out_index",
        "_vbox",
        "_hooks",
        "_acc",
        "__weakref__",
        "__dict__",
    )

    # NumPy scalars and arrays defer to Tensor's reflected operators (np.float32(2) * t is a Tensor)
    __array_priority__ = 1000

    # views only (set in the instance dict by autograd.views.view_of): how the view was made from
    # its base, and the version of the shared memory that the view's history belongs to
    _view: View | None = None
    # leaves only (set in the instance dict): register_post_accumulate_grad_hook's hooks
    _post_acc_hooks: list | None = None
    _view_version = 0

    is_quantized = False  # QTensor (torchlite.ao.quantization.qtensor) says True

    def dequantize(self) -> Tensor:
        """A float tensor is its own dequantization (QTensor overrides this)."""
        return self

    grad: Tensor | None
    grad_fn: Context | None
    _hooks: list | None
    _acc: weakref.ref | None

    def __init__(self, *args: Any, device: Any = None) -> None:
        dev = backend.to_device(device)
        xp = backend.xp_for(dev)
        default = backend.get_default_dtype().np
        if len(args) == 1 and not _is_int(args[0]) and not isinstance(args[0], Size):
            src = args[0]
            if isinstance(src, Tensor):
                src = src._data
            if not isinstance(src, (list, tuple)):
                src = backend.move(src, dev)
            arr = xp.array(src, dtype=default)
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
            if not args:
                shape = (0,)  # Tensor() is an empty vector, as in PyTorch
            if not all(_is_int(s) and s >= 0 for s in shape):
                raise TypeError(f"Tensor(): expected non-negative integer sizes, got {args!r}")
            arr = xp.empty(tuple(int(s) for s in shape), dtype=default)
        self._init(arr, dev)

    def _init(self, arr: Any, dev: backend.device) -> None:
        if isinstance(arr, np.generic):
            arr = np.asarray(arr)
        self._data = arr
        self._device = dev
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._out_index = 0
        self._vbox = [0]
        self._hooks = None
        self._acc = None

    @classmethod
    def _make(cls, arr: Any, dev: backend.device, requires_grad: bool = False) -> Tensor:
        """Wrap an array without copying (the fast internal constructor)."""
        if isinstance(arr, np.generic):  # NumPy ops on 0-d arrays return scalars: keep an array
            arr = np.asarray(arr)
        t = object.__new__(Tensor)
        t._data = arr
        t._device = dev
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = None
        t._out_index = 0
        t._vbox = [0]
        t._hooks = None
        t._acc = None
        return t

    # -- metadata --------------------------------------------------------------------------------
    @property
    def dtype(self) -> backend.dtype:
        return backend.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> backend.device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        """The shape (a Size), or the length of dimension `dim` (an int)."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> Any:
        """Elements to step in each dimension (a tuple), or in dimension `dim` (an int)."""
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim, "stride")]

    def data_ptr(self) -> int:
        if isinstance(self._data, np.ndarray):
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # -- autograd state --------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        if self._view is not None and self._view_version != self._vbox[0]:
            self._view.sync(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and self._data.dtype.kind not in "fcV":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients (got {self.dtype})"
            )
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        if self._view is not None and self._view_version != self._vbox[0]:
            self._view.sync(self)
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vbox[0]

    def _bump(self) -> None:
        self._vbox[0] += 1

    def retain_grad(self) -> None:
        """Keep `.grad` for a non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or getattr(self, "_retains", False):
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = []
        node._retained.append((self._out_index, "retain", weakref.ref(self)))
        self._retains = True

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and getattr(self, "_retains", False)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _RemovableHandle:
        """`hook(grad) -> Tensor | None` runs when this tensor's gradient is computed."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return _RemovableHandle(self._hooks, hook)
        node = self.grad_fn
        if node._retained is None:
            node._retained = []
        entry = (self._out_index, "hook", hook)
        node._retained.append(entry)
        return _RemovableHandle(node._retained, entry)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]
                                           ) -> _RemovableHandle:
        """`hook(tensor)` runs after backward has accumulated this leaf's gradient into `.grad`."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = []
        self._post_acc_hooks.append(hook)
        return _RemovableHandle(self._post_acc_hooks, hook)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph (in-place changes are shared)."""
        t = Tensor._make(self._data, self._device)
        t._vbox = self._vbox
        return t

    def detach_(self) -> Tensor:
        if self.grad_fn is not None:
            self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        return Tensor._make(self._data, self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    # -- conversion ------------------------------------------------------------------------------
    def numpy(self, force: bool = False) -> np.ndarray:
        """The NumPy array behind this CPU tensor (shared memory, as in PyTorch)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self._device.type != "cpu":
            if not force:
                raise TypeError(
                    f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
            return backend.to_host(self._data)
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        arr = backend.to_host(self._data)
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return backend.to_host(self._data).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous"
            )
        return bool(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    # by identity, though == compares elementwise (the mixins' __eq__ would make it unhashable)
    __hash__ = object.__hash__

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __reversed__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(self._data.shape[0] - 1, -1, -1))

    def __contains__(self, item: Any) -> bool:
        return bool((self == item).any())

    def __deepcopy__(self, memo: dict) -> Tensor:
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment."
            )
        t = type(self).__new__(type(self))
        Tensor._init(t, self._data.copy(), self._device)
        t._requires_grad = self._requires_grad
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        for k, v in self.__dict__.items():
            if k in ("_view", "_view_version"):  # the copy owns its memory: it is not a view
                continue
            t.__dict__[k] = copy.deepcopy(v, memo)
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            "torchlite tensors cannot be pickled: use torchlite.save (safetensors) instead"
        )

    def __repr__(self) -> str:
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:  # as PyTorch: f"{loss}" prints the number
            return format(self.item(), spec)
        return format(repr(self), spec)


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed as PyTorch prints it, `torch.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item: Any) -> Any:
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    # x.shape + (1,), (1,) + x.shape and x.shape * 2 stay Sizes, as PyTorch's do
    def __add__(self, other: Any) -> Size:
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n: Any) -> Size:
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__


class _RemovableHandle:
    """What `register_hook` returns: `remove()` unregisters the hook."""

    def __init__(self, container: list, entry: Any) -> None:
        self._container = container
        self._entry = entry

    def remove(self) -> None:
        try:
            self._container.remove(self._entry)
        except ValueError:
            pass


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))

