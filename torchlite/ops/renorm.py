"""renorm: rescale each slice along a dim whose p-norm exceeds maxnorm down to maxnorm."""

from __future__ import annotations

from ..tensor import Tensor
from .dims import wrap_dim


def renorm(input: Tensor, p: float, dim: int, maxnorm: float, *, out=None) -> Tensor:
    """Each sub-tensor input.select(dim, i) with p-norm above maxnorm is scaled by
    maxnorm / (norm + 1e-7), PyTorch's factor; the others are left alone."""
    import torchlite

    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = wrap_dim(dim, input.ndim, "renorm")
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = torchlite.norm(input, float(p), others, keepdim=True) if others else input.abs()
    with torchlite.no_grad():
        over = norms > maxnorm
    factor = torchlite.where(over, maxnorm / (norms + 1e-7), torchlite.ones_like(norms))
    result = input * factor
    if out is not None:
        return out.copy_(result)
    return result
