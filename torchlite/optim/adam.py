"""Adam (and its AMSGrad variant), as `torch.optim.Adam`."""

from __future__ import annotations

from .. import _parallel, backend
from . import _fused
from ._adam_family import adam_grad, adam_hyper, adam_moments_
from ._hyperparams import check_common
from ._state import bump_scalar, lazy_state
from .optimizer import Optimizer

__all__ = ["Adam"]


def _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, **hyper):
    """One Adam step on raw arrays, in place on `param` and the moment buffers.

    `step` is the step count after this step (1 on the first one); `max_exp_avg_sq` is None
    unless `amsgrad`. The arithmetic is PyTorch's, operation by operation; it runs as one
    elementwise kernel over two scratch arrays, chunked across threads for large parameters.
    """
    _adam_update_many([(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)], step=step, **hyper)


def _adam_update_many(entries, *, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
                      decoupled_weight_decay):
    """`_adam_update` over many parameters of one dtype sharing a step count: (param, grad,
    exp_avg, exp_avg_sq, max_exp_avg_sq) entries, spread over threads as one multi-tensor
    update when they are large in all."""
    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5

    def kernel(p, g, m, v, *rest):
        xp = backend.get_xp(p)
        vmax, a, b = rest if amsgrad else (None, *rest)
        g = adam_grad(p, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay,
                      maximize=maximize, out=a, scratch=b)
        adam_moments_(m, v, g, beta1, beta2, scratch=b)
        if vmax is not None:
            xp.maximum(vmax, v, out=vmax)
        # param += -step_size * exp_avg / (sqrt(v) / sqrt(bias_correction2) + eps)
        xp.sqrt(v if vmax is None else vmax, out=a)
        a /= bias_correction2_sqrt
        a += eps
        xp.multiply(m, -step_size, out=b)
        b /= a
        p += b

    groups = [e if amsgrad else e[:4] for e in entries]
    _parallel.elementwise_many(kernel, groups, 2, entries[0][0].dtype,
                               parallel_min=_PARALLEL_MIN)


# Adam's kernel makes about 13 passes per element, so two threads already pay from a few
# hundred thousand parameters: for the 535K of a 784-512-256-10 MLP, 0.70-1.13 ms against
# 1.00-1.51 ms on one thread (interleaved runs, 2-core x86). SGD's 4 passes do not (0.39-0.42
# against 0.28-0.36 ms), so it keeps _parallel's default.
_PARALLEL_MIN = 1 << 18

_BUFFERS = ("exp_avg", "exp_avg_sq")
_AMSGRAD_BUFFERS = _BUFFERS + ("max_exp_avg_sq",)


class Adam(Optimizer):
    r"""Adam, as `torch.optim.Adam` (defaults lr=1e-3, betas=(0.9, 0.999), eps=1e-8).

    Update rule at step t, gradient g_t (negated if maximize):

        g_t <- g_t + \lambda \theta_{t-1}   (weight_decay \lambda; or, decoupled,
                                              \theta_{t-1} <- \theta_{t-1} (1 - lr \lambda))
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t;   v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2
        v_t^max = max(v_{t-1}^max, v_t) if amsgrad (used in place of v_t below)
        \theta_t = \theta_{t-1} - lr / (1 - \beta_1^t) * m_t
                                  / (\sqrt{v_t} / \sqrt{1 - \beta_2^t} + eps)

    State per parameter: `step` (0-d float32 CPU tensor), `exp_avg`, `exp_avg_sq` and, with
    amsgrad, `max_exp_avg_sq`. `foreach`, `capturable` and `fused` are accepted for
    compatibility and change nothing.
    """

    _has_fused_update = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                        eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _validate_group(self, group) -> None:
        check_common(group)

    def _hyper(self, group):
        return adam_hyper(group, amsgrad=group["amsgrad"],
                          decoupled_weight_decay=group["decoupled_weight_decay"])

    def _prepare(self, p, grad, group):
        amsgrad = group["amsgrad"]
        state = lazy_state(self.state[p], p, *(_AMSGRAD_BUFFERS if amsgrad else _BUFFERS))
        step = bump_scalar(state["step"])
        max_sq = state["max_exp_avg_sq"]._data if amsgrad else None
        return step, (p._data, grad, state["exp_avg"]._data, state["exp_avg_sq"]._data, max_sq)

    def _update(self, entries, key, hyper) -> None:
        _adam_update_many(entries, step=key, **hyper)

    def _update_fused(self, lists, key, hyper) -> None:
        _fused.adam(lists, step=key, **hyper)

