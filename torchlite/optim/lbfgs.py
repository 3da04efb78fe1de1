"""L-BFGS, as `torch.optim.LBFGS`, with an optional strong-Wolfe line search.

The scalars of the algorithm (dot products, curvature ratios, step lengths) are NumPy scalars of
the parameters' dtype, so a float32 problem does its scalar arithmetic in float32, as PyTorch does
with its 0-d tensors; that keeps the accept/reject decisions of the line search identical.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from ._hyperparams import as_float, check_lr, check_number
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _host(x):
    """A 0-d array or scalar as a NumPy scalar on the host (keeps its dtype)."""
    if isinstance(x, np.generic):
        return x
    return np.asarray(backend.move(x, backend.CPU))[()]


def _lbfgs_direction(flat_grad, old_dirs, old_stps, ro, h_diag, al):
    """The two-loop recursion: the search direction -H g from the stored curvature pairs.

    `old_dirs` holds y (gradient differences), `old_stps` s (steps), `ro` 1 / (y.s); `al` is
    scratch space of at least len(old_dirs) entries, filled here (kept in the state as PyTorch).
    """
    xp = backend.get_xp(flat_grad)
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):
        al[i] = _host(xp.dot(old_stps[i], q)) * ro[i]
        q += -al[i] * old_dirs[i]
    r = q * h_diag
    for i in range(len(old_dirs)):
        be_i = _host(xp.dot(old_dirs[i], r)) * ro[i]
        r += (al[i] - be_i) * old_stps[i]
    return r


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to `bounds`."""
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search along `d` from step `t` for a point meeting the strong Wolfe conditions.

    Returns (loss, flat gradient, step, function evaluations). `obj_func(x, t, d)` evaluates the
    loss and flat gradient at x + t d.
    """
    xp = backend.get_xp(d)
    d_norm = _host(xp.abs(d).max())
    f_new, g_new = obj_func(x, t, d)
    evals = 1
    gtd_new = _host(xp.dot(g_new, d))
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    # bracketing phase: grow the step until an interval holds a point that satisfies the conditions
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = _host(xp.dot(g_new, d))
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom phase: shrink the interval until a point satisfies the conditions
    insuf_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # keep away from the interval's ends unless progress stalls
        top, bottom = max(bracket), min(bracket)
        eps = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < eps:
            if insuf_progress or t >= top or t <= bottom:
                t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = _host(xp.dot(g_new, d))
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


def _to_state(x):
    """Scalars and arrays as state values that `torchlite.save` can store."""
    if isinstance(x, np.generic):
        return Tensor._make(np.asarray(x), backend.CPU)
    return x


def _from_state(x):
    if isinstance(x, Tensor):
        return _host(x._data) if x._data.ndim == 0 else x._data
    return x


class LBFGS(Optimizer):
    r"""L-BFGS, as `torch.optim.LBFGS` (defaults lr=1, max_iter=20, max_eval=max_iter * 5 // 4,
    tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100, line_search_fn=None).

    Each `step(closure)` runs up to `max_iter` iterations: the direction d = -H g comes from the
    last `history_size` curvature pairs (s = t d, y = g_new - g_old, kept when y.s > 1e-10, with
    H_0 = (y.s / y.y) I); the parameters move by t d, where t = lr (the first iteration ever:
    min(1, 1 / |g|_1) lr), or the step found by the strong-Wolfe line search. It stops when
    max|g| <= tolerance_grad, when the step or the loss changes by less than tolerance_change,
    or after `max_eval` closure calls. `closure` must clear the gradients, compute the loss,
    call backward and return the loss.

    One parameter group only; all parameters on one device. State (on the first parameter):
    `func_evals`, `n_iter`, `d`, `t`, `old_dirs`, `old_stps`, `ro`, `H_diag`, `prev_flat_grad`,
    `prev_loss`, `al`.
    """

    _scalar_state_keys = ()

    def __init__(self, params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    @property
    def _params(self) -> list:
        return self.param_groups[0]["params"]

    def _validate_group(self, group) -> None:
        check_lr(group["lr"])
        for name in ("max_iter", "max_eval", "history_size"):
            v = group[name]
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Invalid {name}: {v!r} ({name} must be a positive integer)")
        for name in ("tolerance_grad", "tolerance_change"):
            if check_number(name, group[name]) < 0:
                raise ValueError(f"Invalid {name}: {group[name]} ({name} must be >= 0)")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"Invalid line_search_fn: {group['line_search_fn']!r} (only None and "
                "'strong_wolfe' are supported)"
            )
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    # -- flat views of the parameters --------------------------------------------------------------
    def _gather_flat_grad(self):
        xp = backend.get_xp(self._params[0]._data)
        return xp.concatenate([
            xp.zeros(p._data.size, dtype=p._data.dtype) if p.grad is None
            else p.grad._data.reshape(-1)
            for p in self._params
        ])

    def _add_grad(self, t, d) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += d[offset:offset + n].reshape(p._data.shape) * t
            p._bump()
            offset += n

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for p, saved in zip(self._params, x):
            p._data[...] = saved
            p._bump()
        return loss, flat_grad

    @no_grad()
    def step(self, closure):
        """Run up to `max_iter` L-BFGS iterations; returns the loss of the first closure call."""
        if closure is None or not callable(closure):
            raise TypeError(
                "LBFGS.step needs a closure that clears the gradients, computes the loss, calls "
                "backward and returns the loss"
            )
        closure = enable_grad()(closure)
        group = self.param_groups[0]
        lr = as_float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        xp = backend.get_xp(flat_grad)
        if _host(xp.abs(flat_grad).max()) <= tolerance_grad:
            return orig_loss

        d = _from_state(state.get("d"))
        t = _from_state(state.get("t"))
        old_dirs = [_from_state(v) for v in state.get("old_dirs") or []]
        old_stps = [_from_state(v) for v in state.get("old_stps") or []]
        ro = [_from_state(v) for v in state.get("ro") or []]
        h_diag = _from_state(state.get("H_diag"))
        prev_flat_grad = _from_state(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = state.get("al")
        al = None if al is None else [_from_state(v) for v in al]

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = _host(xp.dot(y, s))
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / _host(xp.dot(y, y))
                if al is None:
                    al = [None] * history_size
                elif len(al) < history_size:
                    al.extend([None] * (history_size - len(al)))
                d = _lbfgs_direction(flat_grad, old_dirs, old_stps, ro, h_diag, al)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / _host(xp.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = _host(xp.dot(flat_grad, d))
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = [p._data.copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = _host(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = _host(xp.abs(flat_grad).max()) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if _host(xp.abs(d * t).max()) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = None if d is None else Tensor._make(d, self._params[0]._device)
        state["t"] = _to_state(t)
        dev = self._params[0]._device
        state["old_dirs"] = [Tensor._make(v, dev) for v in old_dirs]
        state["old_stps"] = [Tensor._make(v, dev) for v in old_stps]
        state["ro"] = [_to_state(v) for v in ro]
        state["H_diag"] = _to_state(h_diag)
        state["prev_flat_grad"] = Tensor._make(prev_flat_grad, dev)
        state["prev_loss"] = prev_loss
        if al is not None:
            state["al"] = [_to_state(v) for v in al]
        return orig_loss
