"""softmax, log_softmax and softmin as nn.functional has them: the dim may be left implicit
(deprecated, with PyTorch's warning). The Ops live in torchlite/ops/softmax.py. Also
gumbel_softmax, a softmax of logits plus Gumbel noise."""

from __future__ import annotations

import warnings

from ...backend import to_dtype
from ...ops import softmax as _ops
from ...ops.softmax import LogSoftmax, Softmax, log_softmax_array
from ...tensor import Tensor
from ._util import check_tensor

__all__ = ["LogSoftmax", "Softmax", "log_softmax", "log_softmax_array", "softmax", "softmin"]


def _get_softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.", stacklevel=4,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _dim(input, dim, name: str) -> int:
    check_tensor(input, name)
    return _get_softmax_dim(name, input.dim()) if dim is None else dim


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`. Shape: any; the output has the input's shape."""
    return _ops._apply(Softmax, input, _dim(input, dim, "softmax"), dtype, "softmax")


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """log(softmax(x)) along `dim`, computed as x - logsumexp(x) (finite for huge logits)."""
    return _ops._apply(LogSoftmax, input, _dim(input, dim, "log_softmax"), dtype, "log_softmax")


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along `dim`."""
    dim = _dim(input, dim, "softmin")
    if dtype is None and input._data.dtype.kind not in "fV":
        raise RuntimeError(f"softmin: expected a floating-point input, got {input.dtype}")
    x = input if dtype is None else input.to(to_dtype(dtype))
    return _ops._apply(Softmax, -x, dim, None, "softmin")


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau) with g Gumbel(0, 1) noise (-log of an exponential draw);
    with hard=True the one-hot of its argmax in the forward pass and the soft sample's
    gradient in the backward (the straight-through estimator)."""
    import torchlite

    with torchlite.no_grad():
        gumbels = -torchlite.empty_like(logits).exponential_().log()
    y = torchlite.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    index = y.argmax(dim, keepdim=True)
    y_hard = torchlite.zeros_like(y).scatter(dim, index, 1.0)
    return y_hard - y.detach() + y
