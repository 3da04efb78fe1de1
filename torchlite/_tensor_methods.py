"""Binds the op functions onto Tensor as methods and Python operators, in one explicit table.

tensor.py sits below the ops (they import it), so the methods are attached here, above both.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import grad_mode
from .ops import comparison as cmp
from .ops import creation, diagonal, indexing, join, linalg, moments, shape, sorting, unary
from .ops import elementwise as ew
from .ops import reduction as red
from .ops import softmax as sm
from .ops import ternary as tern
from .random import _rng
from .tensor import Tensor

# ----------------------------------------------------------------------------------------------
# conversions


def _parse_to(args, kwargs):
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


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """Move to a device and/or cast to a dtype; returns self when nothing changes."""
    dev, dt, copy = _parse_to(args, dict(kwargs))
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


def _caster(dt):
    def cast(self: Tensor, memory_format=None) -> Tensor:
        return to(self, dt)

    return cast


def cpu(self: Tensor) -> Tensor:
    return to(self, backend.CPU)


def cuda(self: Tensor, device=None, non_blocking: bool = False) -> Tensor:
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to(self, device)


_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def type_(self: Tensor, dtype=None):
    if dtype is None:
        prefix = "torchlite.cuda." if self.is_cuda else "torchlite."
        return prefix + _LEGACY[self.dtype.name]
    return to(self, dtype)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    return to(self, other.dtype)


# ----------------------------------------------------------------------------------------------
# in-place ops


def _category(dt) -> int:
    return 0 if dt.kind == "b" else 1 if dt.kind in "iu" else 2


def _inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """Run an out-of-place op and write its result into self's memory.

    With autograd recording, self takes over the result's graph node (PyTorch's in-place
    semantics); a leaf that requires grad refuses, as in PyTorch.
    """
    tensors = [a for a in args if isinstance(a, Tensor)]
    record = grad_mode._state.enabled and (
        self.requires_grad or any(a.requires_grad for a in tensors)
    )
    if record:
        indexing.check_inplace(self)
        # The op runs on a snapshot of self: it may save its input for backward, and self's
        # memory is overwritten below. The snapshot carries self's place in the graph.
        src = Tensor._make(self._data.copy(), self._device, self._requires_grad)
        src.grad_fn, src._out_index = self.grad_fn, self._out_index
        args = tuple(src if a is self else a for a in args)
        result = fn(src, *args, **kwargs)
    else:
        with grad_mode.no_grad():
            result = fn(self, *args, **kwargs)
    if _category(result._data.dtype) > _category(self._data.dtype):
        raise RuntimeError(
            f"result type {result.dtype} can't be cast to the desired output type {self.dtype}"
        )
    if result._data.shape != self._data.shape:
        raise RuntimeError(
            f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
            f"{list(result._data.shape)}"
        )
    if record:
        if result._data.dtype != self._data.dtype:
            result = creation.Cast.apply(result, self._data.dtype)
        indexing._rebase(self, result)
    else:
        self._data[...] = result._data
        self._bump()
    return self


def _make_inplace(fn):
    def method(self, *args, **kwargs):
        return _inplace(self, fn, *args, **kwargs)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place version of {fn.__name__}."
    return method


def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


def fill_(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        value = value.item()
    if grad_mode._state.enabled and self._requires_grad:
        # recorded, so that a view's base learns about it too; no gradient flows to the old values
        none = creation.zeros(self._data.shape, dtype=backend.bool_, device=self._device)
        return _inplace(self, lambda s: tern.where(none, s, value))
    self._data[...] = value
    self._bump()
    return self


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy src's values (broadcast, cast, moved across devices) into self's memory."""
    if not isinstance(src, Tensor):
        src = creation.tensor(src, device=self._device)
    if src._device is not self._device:
        src = to(src, self._device)

    return _inplace(self, lambda s, other: shape.expand(to(other, s.dtype), s._data.shape), src)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    return _fill_random(self, _rng(generator).uniform(a, b, self._data.shape))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    return _fill_random(self, _rng(generator).normal(mean, std, self._data.shape))


def bernoulli_(self: Tensor, p: float = 0.5, *, generator=None) -> Tensor:
    return _fill_random(self, _rng(generator).random(self._data.shape) < p)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    return _fill_random(self, _rng(generator).exponential(1.0 / lambd, self._data.shape))


def random_(self: Tensor, low: int = 0, high=None, *, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low if low else 2**24
    return _fill_random(self, _rng(generator).integers(low, high, self._data.shape))


def _fill_random(self: Tensor, values) -> Tensor:
    if grad_mode._state.enabled and self._requires_grad and self.grad_fn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    self._data[...] = backend.move(np.asarray(values).astype(self._data.dtype), self._device)
    self._bump()
    return self


def requires_grad_(self, requires_grad=True):
    self.requires_grad = requires_grad
    return self


# ----------------------------------------------------------------------------------------------
# the table


def _reflected(fn):
    def method(self, other):
        return fn(other, self)

    return method


def _size_kw(fn):
    def method(self, *shape_):
        return fn(self, *shape_)

    method.__name__ = fn.__name__
    return method


def _matmul_rev(self, other):
    return linalg.matmul(creation.as_tensor(other, dtype=self.dtype, device=self._device), self)


def _abs_int(self):
    if self._data.dtype.kind in "iub":
        return Tensor._make(np.abs(self._data) if self._device.type == "cpu"
                            else backend.get_xp(self._data).abs(self._data), self._device)
    return unary.abs(self)


def _dunder_cmp(fn):
    def method(self, other):
        try:
            return fn(self, other)
        except TypeError:  # t == None, t == "a": not comparable, so Python falls back to identity
            return NotImplemented

    return method


def _neg_any(self):
    return unary.neg(self)


def _invert(self):
    if self._data.dtype == np.bool_:
        return unary.logical_not(self)
    return unary.bitwise_not(self)


def _and(self, other):
    return unary.bitwise_and(self, other)


def _or(self, other):
    return unary.bitwise_or(self, other)


def _xor(self, other):
    return unary.bitwise_xor(self, other)


def _T(self):  # noqa: N802
    return shape.permute(self, tuple(range(self._data.ndim))[::-1])


def _mT(self):  # noqa: N802
    return shape.transpose(self, -2, -1)


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return creation.tensor(data, dtype=dtype or self.dtype, device=device or self._device,
                           requires_grad=requires_grad)


def _new_factory(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self._device,
                  requires_grad=requires_grad)

    return method


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return creation.full(size, fill_value, dtype=dtype or self.dtype,
                         device=device or self._device, requires_grad=requires_grad)


METHODS = {
    # operators
    "__add__": ew.add, "__radd__": _reflected(ew.add), "__sub__": ew.sub,
    "__rsub__": _reflected(ew.sub), "__mul__": ew.mul, "__rmul__": _reflected(ew.mul),
    "__truediv__": ew.div, "__rtruediv__": _reflected(ew.div),
    "__floordiv__": ew.floor_divide, "__rfloordiv__": _reflected(ew.floor_divide),
    "__mod__": ew.remainder, "__rmod__": _reflected(ew.remainder),
    "__pow__": ew.pow, "__rpow__": _reflected(ew.pow),
    "__matmul__": linalg.matmul, "__rmatmul__": _matmul_rev,
    "__neg__": _neg_any, "__pos__": lambda self: self, "__abs__": _abs_int,
    "__invert__": _invert, "__and__": _and, "__or__": _or, "__xor__": _xor,
    "__rand__": _and, "__ror__": _or, "__rxor__": _xor,
    "__eq__": _dunder_cmp(cmp.eq), "__ne__": _dunder_cmp(cmp.ne), "__lt__": cmp.lt,
    "__le__": cmp.le,
    "__gt__": cmp.gt, "__ge__": cmp.ge,
    "__getitem__": indexing.getitem, "__setitem__": indexing.setitem,
    "__iadd__": _make_inplace(ew.add), "__isub__": _make_inplace(ew.sub),
    "__imul__": _make_inplace(ew.mul), "__itruediv__": _make_inplace(ew.div),
    "__ipow__": _make_inplace(ew.pow), "__imod__": _make_inplace(ew.remainder),
    "__ifloordiv__": _make_inplace(ew.floor_divide),
    # arithmetic
    "add": ew.add, "sub": ew.sub, "subtract": ew.sub, "mul": ew.mul, "multiply": ew.mul,
    "div": ew.div, "divide": ew.div, "true_divide": ew.div, "floor_divide": ew.floor_divide,
    "remainder": ew.remainder, "fmod": ew.fmod, "pow": ew.pow, "float_power": ew.pow,
    "maximum": ew.maximum, "minimum": ew.minimum,
    "atan2": ew.atan2, "arctan2": ew.atan2, "clamp": tern.clamp, "clip": tern.clamp,
    "clamp_min": tern.clamp_min, "clamp_max": tern.clamp_max, "lerp": tern.lerp,
    "addcmul": tern.addcmul, "addcdiv": tern.addcdiv, "where": lambda self, cond, other:
        tern.where(cond, self, other), "rsub": ew.rsub,
    # unary
    "abs": _abs_int, "absolute": _abs_int, "neg": _neg_any, "negative": _neg_any,
    "exp": unary.exp, "exp2": unary.exp2, "expm1": unary.expm1, "log": unary.log,
    "log2": unary.log2, "log10": unary.log10, "log1p": unary.log1p, "sqrt": unary.sqrt,
    "rsqrt": unary.rsqrt, "sin": unary.sin, "cos": unary.cos, "tan": unary.tan,
    "asin": unary.asin, "acos": unary.acos, "atan": unary.atan, "sinh": unary.sinh,
    "cosh": unary.cosh, "tanh": unary.tanh, "sigmoid": unary.sigmoid, "relu": unary.relu,
    "reciprocal": unary.reciprocal, "erf": unary.erf, "square": unary.square,
    "sign": unary.sign, "sgn": unary.sign, "floor": unary.floor, "ceil": unary.ceil,
    "round": unary.round, "trunc": unary.trunc, "frac": unary.frac,
    "logical_not": unary.logical_not, "logical_and": unary.logical_and,
    "logical_or": unary.logical_or, "logical_xor": unary.logical_xor,
    "bitwise_not": unary.bitwise_not,
    # reductions
    "sum": red.sum, "mean": red.mean, "var": moments.var, "std": moments.std,
    "prod": red.prod, "max": red.max, "min": red.min, "amax": red.amax, "amin": red.amin,
    "aminmax": red.aminmax, "argmax": red.argmax, "argmin": red.argmin,
    "logsumexp": red.logsumexp, "norm": red.norm, "cumsum": red.cumsum,
    "cumprod": red.cumprod, "count_nonzero": red.count_nonzero,
    "all": cmp.all, "any": cmp.any,
    # sorting
    "sort": sorting.sort, "argsort": sorting.argsort, "topk": sorting.topk,
    "unique": sorting.unique, "kthvalue": sorting.kthvalue, "median": sorting.median,
    # comparisons
    "eq": cmp.eq, "ne": cmp.ne, "lt": cmp.lt, "le": cmp.le, "gt": cmp.gt, "ge": cmp.ge,
    "not_equal": cmp.ne, "less": cmp.lt, "less_equal": cmp.le, "greater": cmp.gt,
    "greater_equal": cmp.ge, "isnan": cmp.isnan, "isinf": cmp.isinf,
    "isfinite": cmp.isfinite, "allclose": cmp.allclose, "isclose": cmp.isclose,
    "equal": cmp.equal, "signbit": cmp.signbit,
    # linear algebra
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv,
    "dot": linalg.dot, "outer": linalg.outer, "ger": linalg.outer, "t": shape.t,
    "addmm": linalg.addmm, "tril": diagonal.tril, "triu": diagonal.triu,
    "diag": diagonal.diag, "diagonal": diagonal.diagonal,
    "softmax": sm.softmax, "log_softmax": sm.log_softmax, "nan_to_num": unary.nan_to_num,
    # shape
    "reshape": _size_kw(shape.reshape), "view": _size_kw(shape.view),
    "view_as": lambda self, other: shape.view(self, other._data.shape),
    "reshape_as": lambda self, other: shape.reshape(self, other._data.shape),
    "flatten": shape.flatten, "unflatten": shape.unflatten, "squeeze": shape.squeeze,
    "unsqueeze": shape.unsqueeze, "transpose": shape.transpose, "swapaxes": shape.transpose,
    "swapdims": shape.transpose, "permute": _size_kw(shape.permute),
    "movedim": shape.movedim, "moveaxis": shape.movedim,
    "expand": _size_kw(shape.expand), "expand_as": shape.expand_as,
    "broadcast_to": shape.broadcast_to, "repeat": _size_kw(shape.repeat), "tile": shape.tile,
    "repeat_interleave": shape.repeat_interleave, "split": join.split, "chunk": join.chunk,
    "tensor_split": join.tensor_split, "unbind": join.unbind, "select": shape.select,
    "narrow": shape.narrow, "flip": shape.flip, "fliplr": shape.fliplr,
    "flipud": shape.flipud, "roll": shape.roll, "contiguous": shape.contiguous,
    # indexing
    "index_select": indexing.index_select, "gather": indexing.gather,
    "scatter": indexing.scatter, "scatter_add": indexing.scatter_add,
    "masked_fill": indexing.masked_fill, "masked_select": indexing.masked_select,
    "nonzero": indexing.nonzero, "argwhere": indexing.argwhere, "take": indexing.take,
    "take_along_dim": indexing.take_along_dim, "index_add": indexing.index_add,
    "multinomial": creation.multinomial,
    # conversion and copies
    "to": to, "cpu": cpu, "cuda": cuda, "clone": creation.clone, "type": type_,
    "type_as": type_as, "float": _caster(backend.float32), "double": _caster(backend.float64),
    "half": _caster(backend.float16), "long": _caster(backend.int64),
    "int": _caster(backend.int32), "short": _caster(backend.int16),
    "char": _caster(backend.int8), "byte": _caster(backend.uint8),
    "bool": _caster(backend.bool_),
    "new_tensor": _new_tensor, "new_zeros": _new_factory(creation.zeros),
    "new_ones": _new_factory(creation.ones), "new_empty": _new_factory(creation.empty),
    "new_full": _new_full,
    # in place
    "add_": _make_inplace(ew.add), "sub_": _make_inplace(ew.sub),
    "mul_": _make_inplace(ew.mul), "div_": _make_inplace(ew.div),
    "pow_": _make_inplace(ew.pow), "clamp_": _make_inplace(tern.clamp),
    "clip_": _make_inplace(tern.clamp), "neg_": _make_inplace(unary.neg),
    "exp_": _make_inplace(unary.exp), "log_": _make_inplace(unary.log),
    "sqrt_": _make_inplace(unary.sqrt), "abs_": _make_inplace(unary.abs),
    "relu_": _make_inplace(unary.relu), "sigmoid_": _make_inplace(unary.sigmoid),
    "tanh_": _make_inplace(unary.tanh), "floor_": _make_inplace(unary.floor),
    "ceil_": _make_inplace(unary.ceil), "round_": _make_inplace(unary.round),
    "masked_fill_": _make_inplace(indexing.masked_fill),
    "scatter_": _make_inplace(indexing.scatter),
    "scatter_add_": _make_inplace(indexing.scatter_add),
    "index_add_": _make_inplace(indexing.index_add), "tril_": _make_inplace(diagonal.tril),
    "triu_": _make_inplace(diagonal.triu), "nan_to_num_": _make_inplace(unary.nan_to_num),
    "lerp_": _make_inplace(tern.lerp), "addcmul_": _make_inplace(tern.addcmul),
    "addcdiv_": _make_inplace(tern.addcdiv), "zero_": zero_, "fill_": fill_, "copy_": copy_,
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_,
    "exponential_": exponential_, "random_": random_,
}

PROPERTIES = {"T": _T, "mT": _mT, "H": _T, "mH": _mT}


def install() -> None:
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    for name, fn in PROPERTIES.items():
        setattr(Tensor, name, property(fn))
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; hashing stays by identity

