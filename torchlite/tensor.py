"""The Tensor: one array (numpy or cupy), its device, and its place in the autograd graph.

This file holds the core state and the conversions. Math methods and Python operators are bound
onto the class by `torchlite/_tensor_methods.py`, from the op modules that implement them.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import backend
from .autograd import grad_mode
from .ops.dims import wrap_dim as _wrap_dim


class Tensor:
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

    # views only (set in the instance dict by ops.shape._view_of): (base, kind, arg) to rebuild the
    # history from the base's, and the version that history belongs to (see _sync_view)
    _vgen = None
    _vv = 0

    def __init__(self, *args, device=None) -> None:
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

    def _init(self, arr, dev) -> None:
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
    def _make(cls, arr, dev, requires_grad: bool = False) -> Tensor:
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

    def size(self, dim: int | None = None):
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
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
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
        if self._vgen is not None and self._vv != self._vbox[0]:
            _sync_view(self)
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
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients (got {self.dtype})"
            )
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        if self._vgen is not None and self._vv != self._vbox[0]:
            _sync_view(self)
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

    def register_hook(self, hook):
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

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Compute d(self)/d(leaves) and accumulate it into the leaves' `.grad`."""
        from .autograd import backward as _backward

        _backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                  inputs=inputs)

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
            return backend.move(self._data, backend.CPU)
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = backend.move(self._data, backend.CPU)
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return backend.move(self._data, backend.CPU).tolist()

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

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __reversed__(self):
        return (self[i] for i in range(self._data.shape[0] - 1, -1, -1))

    def __contains__(self, item) -> bool:
        return bool((self == item).any())

    def __deepcopy__(self, memo):
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
            import copy

            if k in ("_view", "_vgen", "_vv"):  # the copy owns its memory: it is not a view
                continue
            t.__dict__[k] = copy.deepcopy(v, memo)
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, protocol):
        raise TypeError(
            "torchlite tensors cannot be pickled: use torchlite.save (safetensors) instead"
        )

    def __repr__(self) -> str:
        from ._format import format_tensor

        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:  # as PyTorch: f"{loss}" prints the number
            return format(self.item(), spec)
        return format(repr(self), spec)


def _sync_view(t: Tensor) -> None:
    """Rebuild view `t`'s history from its base's after an in-place change of the shared memory.

    The view shows the new values, so its history must include the in-place op: PyTorch
    regenerates a view's grad_fn from its base's when the version counter moved on. Callers check
    `t._vgen is not None and t._vv != t._vbox[0]` first (cheap for tensors that are not views).
    """
    base, kind, arg = t._vgen
    if base._vgen is not None and base._vv != base._vbox[0]:
        _sync_view(base)
    if kind is None:  # made under no_grad: it has no history to rebuild
        if base.grad_fn is not arg and grad_mode._state.enabled:
            raise RuntimeError(
                "A view was created in no_grad mode and its base or another view of its base has "
                "been modified inplace with grad mode enabled. Given that this use case is "
                "ambiguous and error-prone, it is forbidden. You can clarify your code by moving "
                "both the view and the inplace either both inside the no_grad block (if you don't "
                "want the inplace to be tracked) or both outside (if you want the inplace to be "
                "tracked)."
            )
        if grad_mode._state.enabled:
            t._vv = t._vbox[0]
        return
    t._vv = t._vbox[0]
    if not base._requires_grad:
        return
    from .ops.shape import _regen

    prev = grad_mode._state.enabled
    grad_mode._state.enabled = True
    try:
        new = _regen(base, kind, arg)
    finally:
        grad_mode._state.enabled = prev
    t.grad_fn, t._out_index, t._requires_grad = new.grad_fn, new._out_index, True


def _mark_synced(t: Tensor) -> None:
    """`t` (and the views it is a view of) just got a history matching the current version."""
    while t is not None and t._vgen is not None:
        t._vv = t._vbox[0]
        t = t._vgen[0]


class Size(tuple):
    """A tensor's shape: a tuple of ints, printed as `torchlite.Size([2, 3])`."""

    def __repr__(self) -> str:
        return f"torchlite.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r


class _RemovableHandle:
    def __init__(self, container, entry) -> None:
        self._container = container
        self._entry = entry

    def remove(self) -> None:
        try:
            self._container.remove(self._entry)
        except ValueError:
            pass


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def grad_enabled() -> bool:
    return grad_mode._state.enabled
