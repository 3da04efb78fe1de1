"""The GPU path of the optimizers: one fused kernel launch per batch of parameters.

Parameters on a GPU are collected during a step and updated together by the kernels of
torchlite._cuda_kernels.optim, one launch per (key, GPU, dtype) batch, where the key is what
must be shared inside a launch (Adam's step count, SGD's first-step flag). The arithmetic is
the CPU's `_adam_update` / `_sgd_update`, operation by operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

_FUSED_DTYPES = ("<f4", "<f8")


def fusable(arrays) -> bool:
    """Whether the kernels take this parameter's (param, grad, buffers...): float32 or float64,
    one dtype and shape throughout, parameter and buffers C-contiguous (a gradient may be
    strided: the kernels copy it). Anything else takes the unfused elementwise path."""
    p = arrays[0]
    if p.dtype.str not in _FUSED_DTYPES or not p.flags.c_contiguous:
        return False
    for k, a in enumerate(arrays[1:], start=1):
        if a is None:
            continue
        if a.dtype != p.dtype or a.shape != p.shape or (k != 1 and not a.flags.c_contiguous):
            return False
    return True


def batches(items: Iterable[tuple[object, tuple]]) -> Iterator[tuple[tuple, list[list]]]:
    """Group (key, arrays) pairs by (key, device id, dtype); yield each group's arrays as
    one list per position (param, grad, buffers...), in the order they came."""
    groups: dict[tuple, list[list]] = {}
    for key, arrays in items:
        p = arrays[0]
        lists = groups.setdefault((key, p.device.id, p.dtype.str), [[] for _ in arrays])
        for lst, a in zip(lists, arrays):
            lst.append(a)
    yield from groups.items()


def _kernels():
    from .._cuda_kernels import optim

    return optim


def _on_device(lists, fn) -> None:
    from .. import backend

    with backend.cuda_device_context(lists[0][0].device.id):
        fn()


def adam(lists, *, step, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize,
         decoupled_weight_decay) -> None:
    """One fused Adam launch over `lists` = [params, grads, exp_avgs, exp_avg_sqs, max_sqs]."""
    params, grads, m, v, vmax = lists
    _on_device(lists, lambda: _kernels().adam_(
        params, grads, m, v, vmax if amsgrad else None, step=step, lr=lr, beta1=beta1,
        beta2=beta2, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
        decoupled=decoupled_weight_decay))


def sgd(lists, *, first_step, lr, momentum, dampening, weight_decay, nesterov,
        maximize) -> None:
    """One fused SGD launch over `lists` = [params, grads, momentum buffers (or Nones)]."""
    params, grads, bufs = lists
    _on_device(lists, lambda: _kernels().sgd_(
        params, grads, bufs if momentum != 0 else None, lr=lr, momentum=momentum,
        dampening=dampening, weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
        first_step=first_step))
