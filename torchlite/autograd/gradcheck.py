"""Numerical gradient checks: analytic Jacobians from backward against central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import CPU, move
from ..errors import GradcheckError
from ..tensor import Tensor
from .grad_mode import no_grad


def _outputs(func, inputs):
    out = func(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind in "fV"]


def _to_np(a):
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
