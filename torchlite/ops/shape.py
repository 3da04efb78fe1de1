"""Shape ops: reshape/view, squeeze, transpose, permute, expand, repeat, narrow, select, flip,
roll, pad, narrow. Views share memory (and the version counter) with their input, as in PyTorch:
each view op's result goes through `autograd.views.view_of` (see there for in-place changes).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.views import view_of
from ..backend import get_xp
from ..tensor import Tensor
from .dims import missing_dim, numpy_kwargs, shape_args, wrap_dim


class Reshape(Op):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


def _infer_shape(shape, numel, op, orig):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got shape {tuple(shape)}")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}: invalid shape dimension {min(shape)} in {tuple(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(
                f"{op}: shape '{list(shape)}' is invalid for input of size {numel}"
            )
        shape[neg[0]] = numel // known
    elif known != numel:
        raise RuntimeError(
            f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
            f"(input shape {tuple(orig)})"
        )
    return tuple(shape)


def _copied(new, old) -> bool:
    """Whether the array module had to copy to reshape `old` into `new` (so `new` is no view).

    An array module without may_share_memory answers False: the check is skipped there.
    """
    shares = getattr(get_xp(old), "may_share_memory", None)
    return bool(new.size) and shares is not None and not shares(new, old)


def reshape(input: Tensor, *shape) -> Tensor:
    """Same data, new shape; one dimension may be -1 (inferred). A view where the layout allows,
    else a copy (a transposed tensor flattened, say), as in PyTorch."""
    shape = _infer_shape(shape_args(shape, "reshape"), input._data.size, "reshape",
                         input._data.shape)
    out = Reshape.apply(input, shape)
    if _copied(out._data, input._data):
        return out  # NumPy had to copy (non-contiguous input): not a view
    return view_of(out, input, Reshape, shape)


_VIEW_ERROR = (
    "view size is not compatible with input tensor's size and stride (at least one dimension "
    "spans across two contiguous subspaces). Use .reshape(...) instead."
)


def view(input: Tensor, *shape) -> Tensor:
    """Same data, new shape, always sharing memory with `input`: a layout that cannot be viewed
    without a copy (a transposed tensor flattened, say) raises RuntimeError, as in PyTorch."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        return view_dtype(input, shape[0])
    x = input._data
    if not x.flags.c_contiguous:  # a contiguous array always reshapes without a copy
        new = _infer_shape(shape_args(shape, "view"), x.size, "view", x.shape)
        if _copied(x.reshape(new), x):
            raise RuntimeError(_VIEW_ERROR)
    return reshape(input, *shape)


def view_dtype(input: Tensor, dtype) -> Tensor:
    """The same bytes read as `dtype` (x.view(torch.int32) of float32 gives the bit patterns,
    as PyTorch). With a different element size the last dim, which must be contiguous, shrinks
    or grows by the ratio. No gradient flows through it, as in PyTorch."""
    from .. import backend

    dt = backend.to_dtype(dtype).np
    x = input._data
    old, new = x.dtype.itemsize, dt.itemsize
    name = f"{input.dtype} as {backend.to_dtype(dtype)}"
    if old != new:
        if x.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 to view {name} (different element sizes)")
        if x.strides[-1] != old:
            raise RuntimeError(f"self.stride(-1) must be 1 to view {name} (different element "
                               f"sizes), but got {x.strides[-1] // old}")
        if new > old and x.shape[-1] % (new // old):
            raise RuntimeError(f"self.size(-1) must be divisible by {new // old} to view {name} "
                               f"(different element sizes), but got {x.shape[-1]}")
    out = Tensor._make(x.view(dt), input._device)
    out._vbox = input._vbox  # the same memory: an in-place write to one bumps both
    return out


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view where the layout allows)."""
    return reshape(input, -1)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    s = wrap_dim(start_dim, len(shape), "flatten")
    e = wrap_dim(end_dim, len(shape), "flatten")
    if not shape:
        return reshape(input, 1)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    shape = input._data.shape
    d = wrap_dim(dim, len(shape), "unflatten")
    sizes = _infer_shape(tuple(sizes), shape[d], "unflatten", shape)
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


def squeeze(input: Tensor, dim=None, **kwargs) -> Tensor:
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "squeeze", dim)
    shape = input._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        dims = {wrap_dim(d, len(shape), "squeeze") for d in dims}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(input, new)


def unsqueeze(input: Tensor, dim: int | None = None, **kwargs) -> Tensor:
    if kwargs:  # axis=
        dim, _ = numpy_kwargs(kwargs, "unsqueeze", dim)
    if dim is None:
        raise missing_dim("unsqueeze")
    shape = input._data.shape
    d = wrap_dim(dim, len(shape) + 1, "unsqueeze")
    return reshape(input, shape[:d] + (1,) + shape[d:])


class Permute(Op):
    @staticmethod
    def forward(ctx, x, axes):
        inv = [0] * len(axes)
        for i, a in enumerate(axes):  # the inverse permutation (np.argsort is slower here)
            inv[a] = i
        ctx.inv = tuple(inv)
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inv), None


def permute(input: Tensor, *dims) -> Tensor:
    dims = shape_args(dims, "permute")
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    axes = tuple(wrap_dim(d, n, "permute") for d in dims)
    if len(set(axes)) != n:
        raise RuntimeError(f"permute: repeated dim in {dims}")
    return view_of(Permute.apply(input, axes), input, Permute, axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input._data.ndim
    a, b = wrap_dim(dim0, n, "transpose"), wrap_dim(dim1, n, "transpose")
    if n == 0:
        return reshape(input, ())
    axes = list(range(n))
    axes[a], axes[b] = axes[b], axes[a]
    order = tuple(axes)
    return view_of(Permute.apply(input, order), input, Permute, order)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (0-D and 1-D tensors come back as they are)."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return transpose(input, 0, 1) if input._data.ndim == 2 else input


def movedim(input: Tensor, source, destination) -> Tensor:
    n = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [wrap_dim(s, n, "movedim") for s in src]
    dst = [wrap_dim(d, n, "movedim") for d in dst]
    if n == 0:
        return reshape(input, ())
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


class Expand(Op):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return get_xp(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        from .broadcast import unbroadcast

        return unbroadcast(g, ctx.shape), None


def expand(input: Tensor, *sizes) -> Tensor:
    sizes = shape_args(sizes, "expand")
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = cur
        elif cur is not None and cur != 1 and cur != s:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({cur}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. Tensor "
                f"sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    return view_of(Expand.apply(input, target), input, Expand, target, writable=False)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*[t._data.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor `sizes[i]` times along each dim (PyTorch's repeat, NumPy's tile)."""
    sizes = shape_args(sizes, "repeat")
    nd = input._data.ndim
    if len(sizes) < nd:
        raise RuntimeError(
            "repeat: Number of dimensions of repeat dims can not be smaller than number of "
            f"dimensions of tensor ({len(sizes)} < {nd})"
        )
    x = reshape(input, (1,) * (len(sizes) - nd) + input._data.shape)
    shape = x._data.shape
    # tile == broadcast a (1, s) interleaved view, then merge: expressible with expand+reshape
    inter = []
    target = []
    for r, s in zip(sizes, shape):
        inter += [1, s]
        target += [r, s]
    y = expand(reshape(x, inter), target)
    return _own_memory(reshape(y, tuple(r * s for r, s in zip(sizes, shape))), input)


def _own_memory(out: Tensor, input: Tensor) -> Tensor:
    """repeat copies, as in PyTorch; with all counts 1, expand + reshape leave a read-only view."""
    if get_xp(out._data).may_share_memory(out._data, input._data):
        from .creation import clone

        return clone(out)
    return out


def tile(input: Tensor, *dims) -> Tensor:
    dims = shape_args(dims, "tile")
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input: Tensor, repeats: int, dim=None) -> Tensor:
    if not isinstance(repeats, int):
        raise TypeError("repeat_interleave: only an integer number of repeats is supported")
    if dim is None:
        input, dim = flatten(input), 0
    d = wrap_dim(dim, input._data.ndim, "repeat_interleave")
    x = unsqueeze(input, d + 1)
    shape = list(x._data.shape)
    shape[d + 1] = repeats
    y = expand(x, shape)
    out = list(input._data.shape)
    out[d] *= repeats
    return _own_memory(reshape(y, out), input)


class Slice(Op):
    """Basic indexing (ints, slices, None, Ellipsis): a view; backward writes into zeros."""

    @staticmethod
    def forward(ctx, x, key):
        if not any(k is Ellipsis for k in key):
            key = key + (Ellipsis,)  # so that x[1] of a vector is a 0-d view, not a copied scalar
        ctx.shape, ctx.key, ctx.dtype = x.shape, key, x.dtype
        return x[key]

    @staticmethod
    def backward(ctx, g):
        xp = get_xp(g)
        out = xp.zeros(ctx.shape, dtype=ctx.dtype)
        out[ctx.key] = g
        return out, None


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input._data.ndim, "narrow")
    n = input._data.shape[d]
    if start < 0:
        start += n
    if not (0 <= start and length >= 0 and start + length <= n):
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                         f"({n})")
    key = (slice(None),) * d + (slice(start, start + length),)
    return view_of(Slice.apply(input, key), input, Slice, key)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    d = wrap_dim(dim, input._data.ndim, "select")
    n = input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{tuple(input._data.shape)} at dimension {d}")
    key = (slice(None),) * d + (index % n,)
    return view_of(Slice.apply(input, key), input, Slice, key)


class Flip(Op):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return get_xp(x).flip(x, axis=axes).copy()  # a copy, as PyTorch (NumPy gives a view)

    @staticmethod
    def backward(ctx, g):
        return get_xp(g).flip(g, axis=ctx.axes), None


def flip(input: Tensor, *dims_, dims=None) -> Tensor:
    """Reverse the order along `dims`: flip(x, (0, 1)), flip(x, dims=0) or x.flip(0, 1)."""
    if dims is None:
        dims = dims_[0] if len(dims_) == 1 else dims_
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(wrap_dim(d, input._data.ndim, "flip") for d in dims)
    if len(set(axes)) != len(axes):
        from .exceptions import BadArgumentError

        repeated = next(a for a in axes if axes.count(a) > 1)
        raise BadArgumentError(f"dim {repeated} appears multiple times in the list of dims")
    return Flip.apply(input, axes if input._data.ndim else ())


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return get_xp(x).roll(x, shifts, axis=axes)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return get_xp(g).roll(g, neg, axis=ctx.axes), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    if dims is None and isinstance(shifts, (tuple, list)) and len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
    if dims is None:
        flat = flatten(input)
        return reshape(Roll.apply(flat, int(shifts) if not isinstance(shifts, tuple)
                                  else shifts[0], 0), input._data.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    axes = tuple(wrap_dim(d, input._data.ndim, "roll") for d in dims)
    if not input._data.ndim:
        return reshape(input, ())
    return Roll.apply(input, shifts, axes)


def contiguous(input: Tensor) -> Tensor:
    if input._data.flags.c_contiguous:
        return input
    from .creation import clone

    return clone(input)
