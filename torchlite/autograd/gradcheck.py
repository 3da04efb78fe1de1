"""Numerical gradient checks: analytic Jacobians from backward against central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import CPU, move
from ..errors import GradcheckError
from ..tensor import Tensor
from .grad_mode import enable_grad, no_grad


def _outputs(func, inputs):
    out = func(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind in "fV"]


def _to_np(a):
    if getattr(type(a), "__array_ufunc__", 0) is None:  # a sparse gradient: its dense values
        a = a.to_dense()
    return np.array(move(a, CPU), dtype=np.float64)  # a copy: `a` may be a view of an input


def gradcheck(func: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_ignored: Any) -> bool:
    """Check `func`'s gradients w.r.t. every input that requires grad, as torch.autograd.gradcheck.

    Builds the full Jacobian both ways: one backward pass per output element, and two forward
    passes per input element with that element moved by +-eps. Inputs should be float64.
    """
    from . import grad as autograd_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    outs = _outputs(func, inputs)
    if not outs:
        raise ValueError("gradcheck: the function returned no floating-point tensor")

    for oi, out in enumerate(outs):
        n_out = out._data.size
        # analytic: row j of d(out)/d(inputs) from a backward pass with a one-hot grad_output
        analytic = [np.zeros((n_out, t._data.size)) for t in diff]
        for j in range(n_out):
            fresh = _outputs(func, inputs)[oi]
            if not fresh.requires_grad:
                break  # an output with no history (a constant derivative): its rows are zero
            seed = np.zeros(n_out)
            seed[j] = 1.0
            g_out = fresh._make(_like(fresh._data, seed), fresh._device)
            grads = autograd_grad(fresh, diff, grad_outputs=g_out, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    analytic[k][j] = _to_np(g._data).ravel()
        # numeric: central differences on each input element
        numeric = [np.zeros((n_out, t._data.size)) for t in diff]
        with no_grad():
            for k, t in enumerate(diff):
                for i in range(t._data.size):
                    idx = np.unravel_index(i, t._data.shape)
                    orig = t._data[idx].item()
                    t._data[idx] = orig + eps
                    plus = _to_np(_outputs(func, inputs)[oi]._data).ravel()
                    t._data[idx] = orig - eps
                    minus = _to_np(_outputs(func, inputs)[oi]._data).ravel()
                    t._data[idx] = orig
                    numeric[k][:, i] = (plus - minus) / (2 * eps)
        for k, t in enumerate(diff):
            a, n = analytic[k], numeric[k]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                bad = np.unravel_index(np.argmax(np.abs(a - n) - rtol * np.abs(n)), a.shape)
                msg = (
                    f"Jacobian mismatch for output {oi} with respect to input "
                    f"{_position(inputs, t)}: "
                    f"at (output {bad[0]}, input {bad[1]}) numerical {n[bad]:.8g} vs analytical "
                    f"{a[bad]:.8g}\nnumerical:\n{n}\nanalytical:\n{a}"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def _like(arr, values):
    from ..backend import get_xp

    return get_xp(arr).asarray(values.reshape(arr.shape), dtype=arr.dtype)


def _position(inputs, t) -> int:
    return next(i for i, x in enumerate(inputs) if x is t)


def gradgradcheck(func: Callable[..., Any], inputs: Any, grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  **_ignored: Any) -> bool:
    """Check second derivatives, as torch.autograd.gradgradcheck: gradcheck of the function
    (inputs, grad_outputs) -> d(func)/d(inputs) . grad_outputs, whose backward is the graph that
    `create_graph=True` records. Random grad_outputs (requiring grad) when none are given."""
    from . import grad as autograd_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff_idx:
        raise ValueError("gradgradcheck expects at least one input tensor to require gradient")
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = []
        for o in _outputs(func, inputs):
            v = rng.standard_normal(o._data.shape)
            g = o._make(_like(o._data, np.asarray(v)), o._device)
            g.requires_grad_(True)
            grad_outputs.append(g)
    grad_outputs = tuple(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else (
        grad_outputs,)
    n_in = len(inputs)

    def first_derivative(*args):
        xs, gs = args[:n_in], args[n_in:]
        with enable_grad():  # gradcheck's finite differences run this under no_grad
            outs = _outputs(func, xs)
            wrt = [xs[i] for i in diff_idx]
            grads = autograd_grad(outs, wrt, grad_outputs=list(gs), create_graph=True,
                                  allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
