"""Differentiable arrays: stand-ins that let an op's raw-array backward build a graph.

A library op's backward is written once, over arrays and their module `xp` (numpy or cupy).
When a graph of the backward pass is wanted (`create_graph=True`), the engine runs that same
backward with `DArray`s in place of the gradient and the saved values. A DArray answers NumPy's
array API (shape, dtype, reshape, sum(axis=, keepdims=), astype, T, indexing, operators...) by
calling torchlite's differentiable ops on the Tensor it wraps, and `get_xp(darray)` returns a
namespace whose functions (exp, where, einsum, add.at, zeros_like, errstate...) do the same. So
the second derivative comes from the first derivative's own formula, not from a second copy.

Comparisons, masks, `sign` and index arithmetic are not differentiable: they return raw arrays,
which mix freely with DArrays (a raw array stands for a constant).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .function import Op


def tensor_of(x: Any) -> Any:
    """`x` as a Tensor operand (DArrays unwrap, raw arrays become constants); Python and NumPy
    scalars stay scalars, so they do not change a tensor's dtype (NumPy's weak scalars)."""
    if type(x) is DArray:
        return x.t
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):
        return x.item()
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return Tensor._make(x, backend.array_device(x))
    return x


def raw(x: Any) -> Any:
    """The raw array behind `x` (for the non-differentiable uses: indices, masks)."""
    if type(x) is DArray:
        return x.t._data
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, tuple):
        return tuple(raw(i) for i in x)
    if isinstance(x, list):
        return [raw(i) for i in x]
    return x


def wrap(x: Any) -> Any:
    """A Tensor or raw array as a DArray (None and scalars pass through)."""
    if x is None or type(x) is DArray:
        return x
    if isinstance(x, Tensor):
        return DArray(x)
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.generic):
        return DArray(Tensor._make(x, backend.array_device(x)))
    return x


def _scalar_tensor(x: Any, like: Tensor) -> Tensor:
    xp = backend.get_xp(like._data)
    return Tensor._make(xp.asarray(x, dtype=like._data.dtype), like._device)


def _axes(axis, ndim: int) -> tuple | None:
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim if ndim else a for a in axes)


class DArray:
    """A Tensor with history, seen through NumPy's array API (see the module docstring)."""

    __slots__ = ("t",)
    __array_ufunc__ = None  # NumPy defers: ndarray (op) DArray runs the DArray's reflected op
    __array_priority__ = 1000

    def __init__(self, t: Tensor) -> None:
        self.t = t

    @property
    def _xp_namespace(self) -> Any:
        from .darray_xp import namespace_for

        return namespace_for(backend.get_xp(self.t._data))

    # -- metadata ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.t._data.shape

    @property
    def dtype(self) -> Any:
        return self.t._data.dtype

    @property
    def ndim(self) -> int:
        return self.t._data.ndim

    @property
    def size(self) -> int:
        return self.t._data.size

    @property
    def base(self) -> None:
        return None

    @property
    def flags(self) -> Any:
        return self.t._data.flags

    def __len__(self) -> int:
        return len(self.t._data)

    def __repr__(self) -> str:
        return f"DArray({self.t!r})"

    def item(self) -> Any:
        return self.t._data.item()

    def __float__(self) -> float:
        return float(self.t._data)

    # -- arithmetic ---------------------------------------------------------------------------
    def __add__(self, o):
        return DArray(self.t + tensor_of(o))

    def __radd__(self, o):
        return DArray(tensor_of(o) + self.t)

    def __sub__(self, o):
        return DArray(self.t - tensor_of(o))

    def __rsub__(self, o):
        return DArray(tensor_of(o) - self.t)

    def __mul__(self, o):
        return DArray(self.t * tensor_of(o))

    def __rmul__(self, o):
        return DArray(tensor_of(o) * self.t)

    def __truediv__(self, o):
        return DArray(self.t / tensor_of(o))

    def __rtruediv__(self, o):
        o = tensor_of(o)
        if not isinstance(o, Tensor):
            o = _scalar_tensor(o, self.t)
        return DArray(o / self.t)

    def __pow__(self, o):
        return DArray(self.t ** tensor_of(o))

    def __rpow__(self, o):
        o = tensor_of(o)
        if not isinstance(o, Tensor):
            o = _scalar_tensor(o, self.t)
        return DArray(o ** self.t)

    def __matmul__(self, o):
        return DArray(self.t @ tensor_of(o))

    def __rmatmul__(self, o):
        return DArray(tensor_of(o) @ self.t)

    def __neg__(self):
        return DArray(-self.t)

    def __pos__(self):
        return self

    def __abs__(self):
        return DArray(self.t.abs())

    # comparisons give constant masks
    def __lt__(self, o):
        return self.t._data < raw(o)

    def __le__(self, o):
        return self.t._data <= raw(o)

    def __gt__(self, o):
        return self.t._data > raw(o)

    def __ge__(self, o):
        return self.t._data >= raw(o)

    def __eq__(self, o):  # type: ignore[override]
        return self.t._data == raw(o)

    def __ne__(self, o):  # type: ignore[override]
        return self.t._data != raw(o)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self.t._data)

    # -- shape -------------------------------------------------------------------------------
    def reshape(self, *shape, order: str = "C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if tuple(shape) == self.shape:
            return self
        return DArray(self.t.reshape(*shape))

    def ravel(self):
        return self.reshape(-1)

    flatten = ravel

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(range(self.ndim))[::-1]
        if tuple(axes) == tuple(range(self.ndim)):
            return self
        return DArray(self.t.permute(*axes))

    @property
    def T(self):  # noqa: N802
        return self.transpose()

    def swapaxes(self, a: int, b: int):
        return DArray(self.t.transpose(a, b))

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        axes = _axes(axis, self.ndim)
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if i not in axes))

    def copy(self, order: str = "C"):
        return DArray(self.t)

    def astype(self, dtype, copy: bool = True, **_kw):
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self if not copy else DArray(self.t)
        return DArray(self.t.to(backend.from_numpy_dtype(dtype)))

    def conj(self):
        return self

    @property
    def real(self):
        return self

    # -- reductions --------------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, keepdims: bool = False, **_kw):
        axes = _axes(axis, self.ndim)
        if axes == ():
            out = self
        elif axes is None:
            out = DArray(self.t.sum())
            if keepdims:
                out = out.reshape((1,) * self.ndim)
        else:
            out = DArray(self.t.sum(dim=axes, keepdim=keepdims))
        return out.astype(dtype, copy=False) if dtype is not None else out

    def mean(self, axis=None, dtype=None, keepdims: bool = False, **_kw):
        axes = _axes(axis, self.ndim)
        n = self.size if axes is None else math.prod(self.shape[a] for a in axes)
        return self.sum(axis, dtype, keepdims) / n

    def max(self, axis=None, keepdims: bool = False, **_kw):
        return self._extreme("amax", axis, keepdims)

    def min(self, axis=None, keepdims: bool = False, **_kw):
        return self._extreme("amin", axis, keepdims)

    def _extreme(self, name: str, axis, keepdims: bool):
        axes = _axes(axis, self.ndim)
        if axes is None:
            out = DArray(getattr(self.t.reshape(-1), name)(dim=0))
            return out.reshape((1,) * self.ndim) if keepdims else out
        return DArray(getattr(self.t, name)(dim=axes, keepdim=keepdims))

    def cumsum(self, axis=None, **_kw):
        if axis is None:
            return DArray(self.t.reshape(-1).cumsum(0))
        return DArray(self.t.cumsum(axis))

    def clip(self, a_min=None, a_max=None, **_kw):
        return DArray(self.t.clamp(raw(a_min), raw(a_max)))

    def dot(self, o):
        return self @ o

    # non-differentiable queries answer with raw arrays
    def any(self, *a, **k):
        return self.t._data.any(*a, **k)

    def all(self, *a, **k):
        return self.t._data.all(*a, **k)

    def nonzero(self):
        return self.t._data.nonzero()

    def argmax(self, *a, **k):
        return self.t._data.argmax(*a, **k)

    def argmin(self, *a, **k):
        return self.t._data.argmin(*a, **k)

    # -- indexing ----------------------------------------------------------------------------
    def __getitem__(self, idx):
        return DArray(GetItem.apply(self.t, idx=raw(idx)))

    def __setitem__(self, idx, value) -> None:
        # a functional update: the DArray now names the new Tensor (backward code writes into
        # buffers it has just created, so no other reference sees the old value)
        v = tensor_of(value)
        self.t = SetItem.apply(self.t, v, idx=raw(idx))


def _index_on(x, idx):
    """`idx` with its NumPy index arrays moved to `x`'s array module (CuPy on a GPU)."""
    xp = backend.get_xp(x)
    if xp is np:
        return idx
    if isinstance(idx, tuple):
        return tuple(xp.asarray(i) if isinstance(i, np.ndarray) else i for i in idx)
    return xp.asarray(idx) if isinstance(idx, np.ndarray) else idx


class GetItem(Op):
    """x[idx] with NumPy's indexing rules (basic and advanced), for backward formulas."""

    @staticmethod
    def forward(ctx, x, idx):
        idx = _index_on(x, idx)
        ctx.idx, ctx.shape = idx, x.shape
        return backend.get_xp(x).array(x[idx])  # a copy, never a view of x

    @staticmethod
    def backward(ctx, g):
        xp = backend.get_xp(g)
        gx = xp.zeros(ctx.shape, dtype=g.dtype)
        xp.add.at(gx, ctx.idx, g)
        return gx


class IndexAdd(Op):
    """x with v added at idx (repeated indices accumulate): NumPy's add.at, out of place."""

    @staticmethod
    def forward(ctx, x, v, idx):
        idx = _index_on(x, idx)
        ctx.idx = idx
        ctx.v_meta = None if not hasattr(v, "shape") else (v.shape, v.dtype)
        xp = backend.get_xp(x)
        out = x.copy()
        xp.add.at(out, idx, v)
        return out

    @staticmethod
    def backward(ctx, g):
        gv = None
        if ctx.needs_input_grad[1]:
            from ..ops.broadcast import unbroadcast

            shape, dtype = ctx.v_meta
            gv = unbroadcast(g[ctx.idx], shape, dtype)
        return g, gv


class SetItem(Op):
    """x with x[idx] = v, out of place."""

    @staticmethod
    def forward(ctx, x, v, idx):
        idx = _index_on(x, idx)
        ctx.idx = idx
        ctx.v_meta = None if not hasattr(v, "shape") else (v.shape, v.dtype)
        out = x.copy()
        out[idx] = v
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = g.copy()
            gx[ctx.idx] = 0
        if ctx.needs_input_grad[1]:
            from ..ops.broadcast import unbroadcast

            shape, dtype = ctx.v_meta
            gv = unbroadcast(g[ctx.idx], shape, dtype)
        return gx, gv
