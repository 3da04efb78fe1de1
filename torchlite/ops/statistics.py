"""Order and moment statistics: quantile, nanquantile, nanmedian, mode, msort, cov, corrcoef,
and histogram.

The differentiable ones are composed of sort, gather, lerp and sums, so their gradients are
those ops' (the sorted values' gradients go back to the elements they came from); the chosen
positions and counts are computed without a graph.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend, return_types
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .dims import wrap_dim

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _last_dim_view(input: Tensor, dim, op: str):
    """input with the reduced dim last (flattened when dim is None), and its dim index."""
    if dim is None:
        return input.reshape(-1), None
    d = wrap_dim(dim, max(input.ndim, 1), op)
    x = input if input.ndim else input.reshape(1)
    return x.movedim(d, -1), d


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool,
              op: str) -> Tensor:
    import torchlite

    if not isinstance(input, Tensor) or not input.is_floating_point():
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, midpoint "
                         f"or nearest. Got {interpolation}")
    scalar_q = not isinstance(q, Tensor) or q.ndim == 0
    if isinstance(q, Tensor) and q.ndim == 0:
        if q.dtype != input.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
        q = q.item()
    if scalar_q:
        if not 0 <= q <= 1:
            raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {q}")
        qt = torchlite.tensor([float(q)], dtype=input.dtype, device=input.device)
    else:
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
        if q.numel() and not bool(((q >= 0) & (q <= 1)).all()):
            raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
        qt = q.reshape(-1)
    if input.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    x, d = _last_dim_view(input, dim, op)
    values = x.sort(-1).values  # NaN sorts last
    n = x.shape[-1]
    with no_grad():
        nan = x.isnan()
        count = (~nan).sum(-1, keepdim=True) if ignore_nan else None
        qs = qt.detach().reshape((-1,) + (1,) * x.ndim)  # (Q, 1, ..., 1)
        k = (count.to(x.dtype) if ignore_nan else torchlite.full((1,), float(n),
                                                              dtype=x.dtype,
                                                              device=x.device))
        pos = qs * (k - 1)  # (Q, *batch, 1)
        if interpolation == "lower":
            pos = pos.floor()
        elif interpolation == "higher":
            pos = pos.ceil()
        elif interpolation == "nearest":
            pos = pos.round()  # half to even, as PyTorch
        lo = pos.floor().clamp(min=0).long()
        hi = pos.ceil().clamp(min=0).long()
        frac = pos - pos.floor()
    shape = (qt.shape[0],) + tuple(values.shape)
    expanded = values.unsqueeze(0).expand(*shape)
    lo = lo.expand(*shape[:-1], 1)
    hi = hi.expand(*shape[:-1], 1)
    low_v = expanded.gather(-1, lo).squeeze(-1)
    high_v = expanded.gather(-1, hi).squeeze(-1)
    if interpolation == "midpoint":
        result = (low_v + high_v) / 2
    elif interpolation in ("linear",):
        result = low_v.lerp(high_v, frac.expand(*shape[:-1], 1).squeeze(-1))
    else:
        result = low_v
    with no_grad():
        bad = (count == 0) if ignore_nan else nan.any(-1, keepdim=True)
        bad = bad.squeeze(-1).unsqueeze(0).expand(*result.shape)
    if bool(bad.any()):
        result = result.where(~bad, torchlite.full_like(result.detach(), math.nan))
    if keepdim and input.ndim:
        if d is None:
            result = result.reshape((result.shape[0],) + (1,) * input.ndim)
        else:
            result = result.unsqueeze(-1).movedim(-1, d + 1)
    elif input.ndim == 0:
        result = result.reshape((result.shape[0],))
    return result.squeeze(0) if scalar_q else result


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear", out=None) -> Tensor:
    """The q-th quantiles of input along dim (all elements when None); a slice holding NaN
    gives NaN. q a number or a 1-D tensor of input's dtype, in [0, 1]; a tensor q puts its
    dim first. interpolation between the two closest elements: linear, lower, higher,
    midpoint or nearest."""
    result = _quantile(input, q, dim, keepdim, interpolation, False, "quantile")
    return _out(result, out, "quantile")


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
                interpolation: str = "linear", out=None) -> Tensor:
    """quantile ignoring NaN (NaN only where a slice holds nothing else)."""
    result = _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")
    return _out(result, out, "nanquantile")


def nanmedian(input: Tensor, dim=None, keepdim: bool = False, *, out=None):
    """The lower median ignoring NaN; with dim, (values, indices) of it in input."""
    if dim is None:
        flat = input.reshape(-1)
        k = int((~flat.detach().isnan()).sum())
        if k == 0:
            return flat.sum() * math.nan if flat.numel() else flat.new_full((), math.nan)
        return flat.sort().values[(k - 1) // 2]
    x, d = _last_dim_view(input, dim, "nanmedian")
    with no_grad():
        order = x.detach().argsort(-1)  # NaN last
        k = (~x.detach().isnan()).sum(-1, keepdim=True)
        idx = order.gather(-1, ((k - 1).clamp(min=0)) // 2)
    values = x.gather(-1, idx)
    if not keepdim or not input.ndim:
        values, idx = values.squeeze(-1), idx.squeeze(-1)
    else:
        values, idx = values.movedim(-1, d), idx.movedim(-1, d)
    return _pair(return_types.nanmedian, values, idx, out, "nanmedian")


def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out=None):
    """(values, indices): the most frequent value of each slice along dim (the smallest of
    those tied) and the position of its last occurrence, as PyTorch's CPU kernel."""
    x, d = _last_dim_view(input, dim, "mode")
    data = backend.to_host(x.detach()._data)
    n = data.shape[-1]
    flat = data.reshape(-1, n)
    idx = np.empty(flat.shape[0], dtype=np.int64)
    for row, vals in enumerate(flat):
        uniq, inverse, counts = np.unique(vals, return_inverse=True, return_counts=True,
                                          equal_nan=False)  # each NaN its own value, as PyTorch
        best = int(np.argmax(counts))  # the first maximum: the smallest value
        idx[row] = int(np.flatnonzero(inverse.reshape(-1) == best)[-1])
    index = Tensor._make(backend.move(idx.reshape(data.shape[:-1] + (1,)), x._device),
                         x._device)
    values = x.gather(-1, index)
    if not keepdim or not input.ndim:
        values, index = values.squeeze(-1), index.squeeze(-1)
    else:
        values, index = values.movedim(-1, d), index.movedim(-1, d)
    return _pair(return_types.mode, values, index, out, "mode")


def msort(input: Tensor, *, out=None) -> Tensor:
    """input sorted along its first dim."""
    return _out(input.sort(0).values, out, "msort")


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of input's rows (variables) over its columns (observations),
    with integer frequency weights and float observation weights as numpy.cov; `correction`
    is subtracted from the weights' sum (1: Bessel's correction)."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                         f"input with {input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not x.is_floating_point():
        import torchlite

        x = x.to(torchlite.get_default_dtype())
    n = x.shape[1]
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        if weights.ndim > 1 or weights.numel() != n:
            raise RuntimeError(f"cov(): expected {name} to have one dimension and {n} elements "
                             f"(the number of observations), got shape {tuple(weights.shape)}")
        if bool((weights < 0).any()):
            raise RuntimeError(f"cov(): {name} cannot be negative")
        if name == "fweights" and weights.is_floating_point():
            raise RuntimeError("cov(): expected fweights to have integral dtype")
        weights = weights.to(x.dtype)
        w = weights if w is None else w * weights
    if w is None:
        avg = x.mean(1, keepdim=True)
        w_sum = float(n)
        norm = w_sum - correction
    else:
        w_sum_t = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum_t
        w_sum = w_sum_t
        if aweights is None or correction == 0:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights.to(x.dtype)).sum() / w_sum
    centred = x - avg
    weighted = centred if w is None else centred * w
    if isinstance(norm, Tensor):
        norm = norm.clamp(min=0)
    else:
        norm = max(norm, 0.0)
    result = (weighted @ centred.mT) / norm
    return result.reshape(()) if x.shape[0] == 1 else result  # one variable: a 0-d variance


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of input's rows, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    sd = c.diagonal().sqrt()
    return (c / sd.unsqueeze(1) / sd.unsqueeze(0)).clamp(min=-1, max=1)


def histogram(input: Tensor, bins=100, *, range=None, weight=None,  # noqa: A002
              density: bool = False, out=None):
    """(hist, bin_edges): counts (or weight sums) of input's values in `bins` equal bins over
    `range` (default the values' min to max), or between the edges of a 1-D tensor `bins`;
    density divides by the total and the bin widths. Not differentiable, as in PyTorch."""
    if not input.is_floating_point():
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the "
                           f"same dtype, but got input {input.dtype}")
    data = backend.to_host(input.detach()._data).reshape(-1)
    edges_in = backend.to_host(bins.detach()._data) if isinstance(bins, Tensor) else int(bins)
    w = None if weight is None else backend.to_host(weight.detach()._data).reshape(-1)
    if isinstance(edges_in, int) and edges_in < 1:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {edges_in}")
    if range is not None and not isinstance(edges_in, int):
        raise RuntimeError("torch.histogram(): range cannot be given with a tensor of edges")
    with np.errstate(invalid="ignore"):
        hist, edges = np.histogram(data, bins=edges_in, range=range, weights=w, density=density)
    dt = input._data.dtype
    hist_t = Tensor._make(backend.move(hist.astype(dt), input._device), input._device)
    edges_t = Tensor._make(backend.move(edges.astype(dt), input._device), input._device)
    return _pair(return_types.histogram, hist_t, edges_t, out, "histogram")


def _pair(cls, a: Tensor, b: Tensor, out, name: str):
    if out is not None:
        _out(a, out[0], name)
        _out(b, out[1], name)
        return cls(*out)
    return cls(a, b)


def _out(result: Tensor, out, name: str) -> Tensor:
    if out is None:
        return result
    from .out import _check_out_grad, _write_out

    _check_out_grad(name, (result,), {}, out)
    return _write_out(name, result, out, exact=True)
