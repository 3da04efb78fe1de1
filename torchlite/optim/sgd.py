"""Stochastic gradient descent, optionally with (Nesterov) momentum, as `torch.optim.SGD`."""

from __future__ import annotations

from .. import _parallel, backend
from ..ops.scatter import add_at
from ..tensor import Tensor
from . import _fused
from ._hyperparams import as_float, check_common, check_nonneg, check_number
from ._inplace import effective_grad
from .optimizer import Optimizer

__all__ = ["SGD"]


def _sgd_update(param, grad, buf, *, momentum, **hyper):
    """One SGD step on raw arrays, in place on `param` (and `buf`). Returns the momentum buffer.

    `buf` is None on the first step with momentum: it then starts as a copy of the gradient.
    The arithmetic is PyTorch's, operation by operation; it runs as one elementwise kernel over
    two scratch arrays (no fresh temporaries), chunked across threads for large parameters.
    """
    first = momentum != 0 and buf is None
    if first:
        buf = backend.get_xp(param).empty_like(param)
    _sgd_update_many([(param, grad, buf)], first=first, momentum=momentum, **hyper)
    return buf


def _sgd_update_many(entries, *, first, lr, momentum, dampening, weight_decay, nesterov,
                     maximize):
    """`_sgd_update` over many parameters of one dtype: (param, grad, buf) entries, all on their
    first momentum step (`first`, buffers to be filled) or none; one multi-tensor update."""

    # the effective gradient needs a scratch array of its own only with maximize or weight decay
    n_scratch = 2 if maximize or weight_decay else 1

    def kernel(p, g, *rest):
        xp = backend.get_xp(p)
        if momentum != 0:
            bb, *rest = rest
        else:
            bb = None
        a, b = rest if n_scratch == 2 else (None, rest[0])
        g = effective_grad(p, g, maximize=maximize, weight_decay=weight_decay, out=a, scratch=b)
        if bb is not None:
            if first:
                bb[...] = g
            else:
                bb *= momentum
                if dampening == 0:  # (1 - 0) * g is g exactly: skip the product
                    bb += g
                else:
                    xp.multiply(g, 1 - dampening, out=b)
                    bb += b
            if nesterov:  # g + momentum * buf
                xp.multiply(bb, momentum, out=b)
                b += g
                g = b
            else:
                g = bb
        xp.multiply(g, lr, out=b)
        p -= b

    groups = [e if momentum != 0 else e[:2] for e in entries]
    _parallel.elementwise_many(kernel, groups, n_scratch, entries[0][0].dtype)


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as `torch.optim.SGD`.

    Update rule, with gradient g_t, weight decay \lambda, momentum \mu, dampening \tau:

        g_t <- -g_t if maximize;  g_t <- g_t + \lambda \theta_{t-1}
        b_t <- g_t (first step) or \mu b_{t-1} + (1 - \tau) g_t;  g_t <- g_t + \mu b_t (nesterov)
        or g_t <- b_t;  \theta_t <- \theta_{t-1} - lr g_t

    State per parameter: `momentum_buffer` (only when momentum != 0). Sparse gradients
    (Embedding(sparse=True)) are accepted without weight decay; without momentum only their
    rows are updated.
    """

    _has_fused_update = True

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_common(group)
        check_nonneg("momentum", group["momentum"], "momentum value")
        check_number("dampening", group["dampening"], "dampening value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening (nesterov, momentum, "
                "dampening)"
            )

    def _hyper(self, group):
        return dict(lr=as_float(group["lr"]), momentum=float(group["momentum"]),
                    dampening=float(group["dampening"]),
                    weight_decay=float(group["weight_decay"]), nesterov=group["nesterov"],
                    maximize=group["maximize"])

    def _prepare(self, p, grad, group):
        state = self.state[p]
        if float(group["momentum"]) == 0:
            return False, (p._data, grad, None)
        # key: whether this is the buffer's first step (the update writes the gradient into it)
        buf = state.get("momentum_buffer")
        first = buf is None
        if first:
            buf = state["momentum_buffer"] = Tensor._make(
                backend.get_xp(p._data).empty_like(p._data), p._device)
        return first, (p._data, grad, buf._data)

    def _step_sparse(self, p, grad, group, hyper) -> None:
        """A sparse gradient: without momentum only its rows move (entry by entry, duplicates
        adding up, as PyTorch's `param.add_(grad, alpha=-lr)`); with momentum the gradient is
        made dense first, which is what PyTorch's arithmetic amounts to. Weight decay is
        refused, as PyTorch (its `grad.add(param)` has no sparse + dense form)."""
        if hyper["weight_decay"] != 0:
            raise RuntimeError(
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        if hyper["momentum"] == 0:
            values = grad.values
            if hyper["maximize"]:
                values = -values
            add_at(p._data, tuple(grad.indices), values * values.dtype.type(-hyper["lr"]))
            return
        key, arrays = self._prepare(p, grad.to_dense(), group)
        self._update([arrays], key, hyper)

    def _update(self, entries, key, hyper) -> None:
        _sgd_update_many(entries, first=key, **hyper)

    def _update_fused(self, lists, key, hyper) -> None:
        _fused.sgd(lists, first_step=key, **hyper)
