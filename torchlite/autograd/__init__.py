"""Reverse-mode automatic differentiation, as `torch.autograd`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backend import get_xp
from ..tensor import Tensor
from .anomaly import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .engine import _settle_class, run_backward
from .function import Context, Function, Op
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function", "Context", "Op", "backward", "grad", "gradcheck", "gradgradcheck", "Variable",
    "no_grad",
    "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode", "detect_anomaly",
    "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]


def _as_tuple(x: Any) -> Any:
    if x is None:
        return None
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _root_grads(tensors, grads, op: str, create_graph: bool = False):
    if grads is None:
        grads = (None,) * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"{op}: got {len(tensors)} tensors and {len(grads)} gradients")
    out = []
    for t, g in zip(tensors, grads):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(
                f"{op}: element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (got a tensor of "
                    f"shape {tuple(t._data.shape)}); pass `gradient=` to backward"
                )
            xp = _xp(t)
            # a 0-d loss, the usual root, skips np.ones' Python-level empty-then-fill
            g = xp.array(1, dtype=t._data.dtype) if not t._data.ndim \
                else xp.ones(t._data.shape, dtype=t._data.dtype)
        else:
            given = g
            g = g._data if isinstance(g, Tensor) else _xp(t).asarray(g, dtype=t._data.dtype)
            if g.shape != t._data.shape:
                raise RuntimeError(
                    f"{op}: Mismatch in shape: grad_output has a shape of {tuple(g.shape)} and "
                    f"output has a shape of {tuple(t._data.shape)}"
                )
            if create_graph and isinstance(given, Tensor) and given.requires_grad:
                # a grad_output with history is part of the graph of the backward pass
                g = given if g.dtype == t._data.dtype else given.to(t.dtype)
            elif g.dtype != t._data.dtype:
                g = g.astype(t._data.dtype)
        out.append(g)
    return out


def _xp(t):
    return get_xp(t._data)


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Tensor | Sequence[Tensor] | None = None) -> None:
    """Accumulate gradients of `tensors` into the `.grad` of the leaves that produced them.

    With `create_graph=True` the backward pass is recorded too: `.grad` gets a history, so a
    function of it can be differentiated again (`retain_graph` then defaults to True)."""
    if retain_graph is None:
        retain_graph = create_graph
    roots = _as_tuple(tensors)
    grads = _root_grads(roots, _as_tuple(grad_tensors), "backward", create_graph)
    if inputs is not None:
        wrt = _as_tuple(inputs)
        captured = run_backward(roots, grads, bool(retain_graph), capture=list(wrt),
                                accumulate=False, create_graph=create_graph)
        for k, t in enumerate(wrt):
            g = captured.get(k)
            if g is None:
                continue
            if create_graph:
                t.grad = g.t if t.grad is None else t.grad + g.t
            elif t.grad is None:
                t.grad = t._make(g.copy(), t._device)
            else:
                t.grad._data = t.grad._data + g
        return
    run_backward(roots, grads, bool(retain_graph), create_graph=create_graph)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[Tensor, ...]:
    """Return d(outputs)/d(inputs) without touching any `.grad` (None for an input that the
    outputs do not depend on, with `allow_unused=True`; typed as PyTorch types it).

    With `create_graph=True` the returned gradients have a history of their own, so they can be
    differentiated again (`retain_graph` then defaults to True). `is_grads_batched=True` treats
    the first dimension of every grad_output as a batch of vectors, run one after another."""
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    roots = _as_tuple(outputs)
    wrt = _as_tuple(inputs)
    if is_grads_batched:
        return _batched_grad(roots, wrt, _as_tuple(grad_outputs), retain_graph, create_graph,
                             allow_unused, materialize_grads)
    for t in wrt:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _root_grads(roots, _as_tuple(grad_outputs), "grad", create_graph)
    captured = run_backward(roots, grads, bool(retain_graph), capture=list(wrt),
                            accumulate=False, create_graph=create_graph)
    result: list[Any] = []
    for k, t in enumerate(wrt):
        g = captured.get(k)
        if g is None:
            if materialize_grads:
                result.append(t._make(_xp(t).zeros_like(t._data), t._device))
                continue
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
            result.append(None)
        elif create_graph:
            result.append(g.t)
        else:
            result.append(t._make(g, t._device))
            if getattr(type(g), "__array_ufunc__", 0) is None:  # a sparse gradient
                _settle_class(result[-1])
    return tuple(result)


def _batched_grad(roots, wrt, grad_outputs, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """autograd.grad with is_grads_batched: one backward pass per vector of the batch, stacked
    (PyTorch vectorizes this with vmap; the result is the same)."""
    from ..ops.join import stack

    if grad_outputs is None:
        raise RuntimeError("grad: is_grads_batched=True needs grad_outputs")
    n = grad_outputs[0].shape[0]
    rows = []
    for b in range(n):
        rows.append(grad(roots, wrt, [g[b] for g in grad_outputs], retain_graph=True
                         if b < n - 1 else retain_graph, create_graph=create_graph,
                         allow_unused=allow_unused, materialize_grads=materialize_grads))
    return tuple(None if rows[0][k] is None else stack([r[k] for r in rows])
                 for k in range(len(wrt)))


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False  # noqa: N802
             ) -> Tensor:
    """Legacy alias kept for old tutorials: returns a Tensor. Silent, as PyTorch's (old code
    calls it in every step, so a warning per call would flood the output)."""
    if isinstance(data, Tensor):
        t = data.detach()
    else:
        from ..ops.creation import tensor

        t = tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def __getattr__(name: str) -> Any:
    # torch.autograd.functional, imported on first use (import torchlite stays fast)
    if name == "functional":
        import importlib

        return importlib.import_module(".functional", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
