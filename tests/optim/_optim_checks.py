"""Shared pieces of the optimizer tests: problems with NumPy gradients, runners for torchlite, for
PyTorch and for plain-NumPy reference loops, and trajectory comparisons.

Gradients are computed here in NumPy (float64, from the current parameter values, then cast to the
parameters' dtype), so the optimizer tests do not depend on autograd, and torchlite and PyTorch
see exactly the same gradients for the same parameter values.
"""

from __future__ import annotations

import numpy as np

import torchlite

STEPS = 50


class Problem:
    """Parameters (float64 NumPy arrays) and their gradient as a function of (params, step)."""

    def __init__(self, name, params0, grad, loss=None) -> None:
        self.name = name
        self.params0 = params0
        self.grad = grad
        self.loss = loss

    def __repr__(self) -> str:
        return self.name


def quadratic() -> Problem:
    """f(x) = x.A x / 2 - b.x in 6 dims, A diagonally dominant, the minimum ~4 away from x0 in
    every coordinate: 50 small steps never bring a gradient component near zero, so trajectories
    stay well-conditioned (no chaotic amplification of rounding differences)."""
    r = np.random.default_rng(0)
    n = 6
    off = r.uniform(-0.1, 0.1, (n, n))
    a = np.diag(r.uniform(1.0, 2.0, n)) + (off + off.T) / 2
    x0 = r.uniform(-1, 1, n)
    x_star = x0 + 4.0 * np.sign(r.uniform(-1, 1, n))
    b = a @ x_star
    return Problem("quadratic", [x0], lambda ps, k: [a @ ps[0] - b],
                   lambda ps: float(ps[0] @ a @ ps[0] / 2 - b @ ps[0]))


def mlp() -> Problem:
    """Mean squared error of a 3-4-2 tanh MLP on 8 fixed samples, with hand-written gradients:
    four parameters of different shapes (weight, bias, weight, bias)."""
    r = np.random.default_rng(1)
    x = r.normal(size=(8, 3))
    y = r.normal(size=(8, 2)) + 2.0
    params0 = [r.normal(size=(4, 3)) * 0.5, r.normal(size=4) * 0.1,
               r.normal(size=(2, 4)) * 0.5, r.normal(size=2) * 0.1]

    def forward(ps):
        w1, b1, w2, b2 = ps
        h = np.tanh(x @ w1.T + b1)
        return h, h @ w2.T + b2

    def loss(ps):
        return float(((forward(ps)[1] - y) ** 2).mean())

    def grad(ps, k):
        w1, b1, w2, b2 = ps
        h, out = forward(ps)
        d_out = 2 * (out - y) / out.size
        d_h = d_out @ w2 * (1 - h**2)
        return [d_h.T @ x, d_h.sum(0), d_out.T @ h, d_out.sum(0)]

    return Problem("mlp", params0, grad, loss)


def sparse_rows() -> Problem:
    """An embedding-like (6, 3) table whose gradients are a fixed sequence touching a few rows
    per step (the other rows' gradients are exactly zero)."""
    r = np.random.default_rng(2)
    grads = []
    for _ in range(STEPS):
        g = r.normal(size=(6, 3))
        g[r.permutation(6)[:3]] = 0.0
        grads.append(g)
    return Problem("sparse_rows", [r.normal(size=(6, 3))], lambda ps, k: [grads[k]])


PROBLEMS = [quadratic(), mlp()]


def run_torchlite(make_opt, problem: Problem, steps: int = STEPS, dtype: str = "float64"):
    """Step `make_opt(params)` `steps` times; returns the trajectory [[param arrays] per step]."""
    params = [torchlite.tensor(p, dtype=getattr(torchlite, dtype), requires_grad=True)
              for p in problem.params0]
    opt = make_opt(params)
    traj = []
    for k in range(steps):
        grads = problem.grad([p.detach().numpy().astype(np.float64) for p in params], k)
        for p, g in zip(params, grads):
            p.grad = torchlite.tensor(g, dtype=getattr(torchlite, dtype))
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def run_torch(torch, make_opt, problem: Problem, steps: int = STEPS, dtype: str = "float64",
              sparse_grad: bool = False):
    """The same loop in PyTorch (on one thread: these tensors are tiny, and a busy machine makes
    PyTorch's thread pool, sparse ops especially, very slow)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _torch_loop(torch, make_opt, problem, steps, dtype, sparse_grad)
    finally:
        torch.set_num_threads(threads)


def _torch_loop(torch, make_opt, problem, steps, dtype, sparse_grad):
    params = [torch.tensor(p, dtype=getattr(torch, dtype), requires_grad=True)
              for p in problem.params0]
    opt = make_opt(params)
    traj = []
    for k in range(steps):
        grads = problem.grad([p.detach().numpy().astype(np.float64) for p in params], k)
        for p, g in zip(params, grads):
            g = torch.tensor(g, dtype=getattr(torch, dtype))
            p.grad = g.to_sparse() if sparse_grad else g
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def run_reference(problem: Problem, update, init=None, steps: int = STEPS):
    """A plain-NumPy float64 loop: `update(p, g, state, t) -> new p` with t = 1, 2, ...;
    `init(p) -> state dict` for each parameter."""
    params = [p.copy() for p in problem.params0]
    states = [init(p) if init is not None else {} for p in params]
    traj = []
    for t in range(1, steps + 1):
        grads = problem.grad([p.copy() for p in params], t - 1)
        params = [update(p.copy(), g.copy(), s, t) for p, g, s in zip(params, grads, states)]
        traj.append([p.copy() for p in params])
    return traj


def assert_traj_close(actual, expected, rtol: float) -> None:
    """Each parameter at each step within `rtol` relative to that parameter's magnitude
    (max |a - e| <= rtol * max |e|), and of the expected dtype-independent shape."""
    assert len(actual) == len(expected)
    for k, (ps_a, ps_e) in enumerate(zip(actual, expected)):
        for i, (a, e) in enumerate(zip(ps_a, ps_e)):
            assert a.shape == e.shape
            scale = max(float(np.abs(e).max()), 1e-12)
            err = float(np.abs(a.astype(np.float64) - e.astype(np.float64)).max())
            assert err <= rtol * scale, (
                f"step {k + 1}, param {i}: max abs error {err:.3e} > {rtol:g} * {scale:.3e}"
            )


def check_against_reference(make_opt, problem, update, init=None, steps: int = STEPS) -> None:
    """torchlite in float64 must follow the reference loop to 1e-10; in float32 it must stay
    float32 and follow it to float32 accuracy."""
    expected = run_reference(problem, update, init, steps)
    assert_traj_close(run_torchlite(make_opt, problem, steps, "float64"), expected, 1e-10)
    traj32 = run_torchlite(make_opt, problem, steps, "float32")
    assert all(a.dtype == np.float32 for ps in traj32 for a in ps)
    assert_traj_close(traj32, expected, 2e-4)


def check_parity(torch, name: str, kwargs: dict, problem, steps: int = STEPS,
                 sparse_grad: bool = False, rtol32: float = 1e-6) -> None:
    """torchlite.optim.<name>(**kwargs) against torch.optim.<name>(**kwargs): float64 to 1e-12
    and float32 to `rtol32` (1e-6), relative to each parameter's magnitude."""
    ours = getattr(torchlite.optim, name)
    theirs = getattr(torch.optim, name)
    for dtype, rtol in (("float64", 1e-12), ("float32", rtol32)):
        a = run_torchlite(lambda ps: ours(ps, **kwargs), problem, steps, dtype)
        e = run_torch(torch, lambda ps: theirs(ps, **kwargs), problem, steps, dtype, sparse_grad)
        assert_traj_close(a, e, rtol)


# ------------------------------------------------------------------------------------------------
# smoke test: a small MLP on a toy regression problem, with torchlite ops and autograd


def mlp_smoke(make_opt, steps: int = 60, closure: bool = False) -> tuple[float, float]:
    """Train a 2-16-1 ReLU MLP on y = sin(x0) + x1^2 / 2 (64 samples); returns (first, last)
    loss."""
    r = np.random.default_rng(3)
    x_np = r.uniform(-1, 1, (64, 2)).astype(np.float32)
    y_np = (np.sin(x_np[:, :1]) + x_np[:, 1:] ** 2 / 2).astype(np.float32)
    x, y = torchlite.tensor(x_np), torchlite.tensor(y_np)
    w1 = torchlite.tensor(r.normal(size=(2, 16)).astype(np.float32) * 0.7, requires_grad=True)
    b1 = torchlite.tensor(np.zeros(16, np.float32), requires_grad=True)
    w2 = torchlite.tensor(r.normal(size=(16, 1)).astype(np.float32) * 0.25, requires_grad=True)
    b2 = torchlite.tensor(np.zeros(1, np.float32), requires_grad=True)
    opt = make_opt([w1, b1, w2, b2])

    def compute_loss():
        opt.zero_grad()
        pred = torchlite.relu(x @ w1 + b1) @ w2 + b2
        loss = ((pred - y) ** 2).sum() * (1.0 / 64)
        loss.backward()
        return loss

    losses = []
    for _ in range(steps):
        if closure:
            losses.append(float(opt.step(compute_loss)))
        else:
            losses.append(float(compute_loss()))
            opt.step()
    with torchlite.no_grad():
        final = float((((torchlite.relu(x @ w1 + b1) @ w2 + b2) - y) ** 2).sum() * (1.0 / 64))
    assert all(p.dtype == torchlite.float32 for p in (w1, b1, w2, b2))
    return losses[0], final
