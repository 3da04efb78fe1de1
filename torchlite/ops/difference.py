"""diff: n-th forward differences along a dim (differentiable: slices and a subtraction)."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .dims import wrap_dim
from .elementwise import sub
from .join import cat
from .shape import narrow


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """out[i] = input[i + 1] - input[i] along `dim`, n times; prepend/append are concatenated
    along `dim` first. Bool tensors give logical XOR, as PyTorch.

    Shape: (..., L, ...) -> (..., L + len(prepend) + len(append) - n, ...).
    """
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.ndim, "diff")
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = narrow(x, d, 1, length - 1), narrow(x, d, 0, length - 1)
        x = hi ^ lo if x._data.dtype == np.bool_ else sub(hi, lo)
    return x
