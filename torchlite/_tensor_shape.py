"""Tensor's shape and indexing methods: views (`view`, `transpose`, `T`, ...), copies
(`repeat`, `flip`, ...), splits, and selection by index (`gather`, `masked_fill`, ...).
"""

from __future__ import annotations

from typing import Any

from .ops import creation, difference, index_update, indexing, join, layout, shape, windows
from .ops import scatter_reduce as scatter_reduce_op
from .tensor import Tensor


class ShapeMethods:
    """Reshaping, transposing, expanding, splitting and flipping; views share memory."""

    __slots__ = ()

    reshape = shape.reshape
    view = shape.view
    unfold = windows.unfold
    ravel = shape.ravel
    rot90 = layout.rot90
    diff = difference.diff

    def view_as(self: Any, other: Tensor) -> Tensor:
        """A view with `other`'s shape."""
        return shape.view(self, other._data.shape)

    def reshape_as(self: Any, other: Tensor) -> Tensor:
        """This tensor with `other`'s shape (a view where the layout allows)."""
        return shape.reshape(self, other._data.shape)

    flatten = shape.flatten
    unflatten = shape.unflatten
    squeeze = shape.squeeze
    unsqueeze = shape.unsqueeze
    transpose = swapaxes = swapdims = shape.transpose
    t = shape.t
    permute = shape.permute
    movedim = moveaxis = shape.movedim
    expand = shape.expand
    expand_as = shape.expand_as
    broadcast_to = shape.broadcast_to
    repeat = shape.repeat
    tile = shape.tile
    repeat_interleave = shape.repeat_interleave
    select = shape.select
    narrow = shape.narrow
    flip = shape.flip
    fliplr = shape.fliplr
    flipud = shape.flipud
    roll = shape.roll
    contiguous = shape.contiguous
    split = join.split
    chunk = join.chunk
    tensor_split = join.tensor_split
    hsplit = join.hsplit
    vsplit = join.vsplit
    dsplit = join.dsplit
    unbind = join.unbind

    @property
    def T(self: Any) -> Tensor:  # noqa: N802 - PyTorch's name
        """All dimensions reversed (a view)."""
        return shape.permute(self, tuple(range(self._data.ndim))[::-1])

    @property
    def mT(self: Any) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dimensions swapped (a view)."""
        return shape.transpose(self, -2, -1)

    # real tensors only: the conjugate transposes are the transposes
    H = T
    mH = mT


class IndexingMethods:
    """Selection by index and by mask (`gather`, `scatter`, `masked_fill`, `nonzero`, ...)."""

    __slots__ = ()

    index_select = indexing.index_select
    gather = indexing.gather
    scatter = indexing.scatter
    scatter_add = indexing.scatter_add
    scatter_reduce = scatter_reduce_op.scatter_reduce
    index_fill = index_update.index_fill
    index_copy = index_update.index_copy
    masked_scatter = index_update.masked_scatter
    put = index_update.put
    index_add = indexing.index_add
    index_put = indexing.index_put
    masked_fill = indexing.masked_fill
    masked_select = indexing.masked_select
    nonzero = indexing.nonzero
    argwhere = indexing.argwhere
    take = indexing.take
    take_along_dim = indexing.take_along_dim
    multinomial = creation.multinomial
