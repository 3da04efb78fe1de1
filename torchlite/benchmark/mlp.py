"""The cost of building and back-propagating a graph: a 784-512-256-10 MLP, batch 128, float32.

One step = forward (matmul + bias + relu twice, a linear output, log-softmax via logsumexp, the
mean negative log-likelihood) and backward to all six parameters, no update. The same math is
written three ways: torchlite ops with autograd, hand-written NumPy (forward and backward, the
floor for this design) and PyTorch. The three must agree before they are timed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

import torchlite

from ._common import BenchmarkError, Row, check_close

SIZES = (784, 512, 256, 10)
BATCH = 128
REPEATS, WARMUP = 100, 20


def make_data(seed: int = 0):
    """Inputs (BATCH, 784), one-hot targets and the six parameters (w as (in, out)), float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    onehot = np.zeros((BATCH, SIZES[-1]), np.float32)
    onehot[np.arange(BATCH), y] = 1.0
    return x, onehot, params


# each of the three steps returns (loss, list of parameter gradients)


def numpy_step(x, onehot, params):
    w1, b1, w2, b2, w3, b3 = params
    z1 = x @ w1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ w2 + b2
    h2 = np.maximum(z2, 0)
    z3 = h2 @ w3 + b3
    m = z3.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z3 - m).sum(axis=1, keepdims=True)) + m
    logp = z3 - lse
    loss = -(logp * onehot).sum(axis=1).mean()
    # backward
    g_logp = onehot * np.float32(-1.0 / len(x))
    g_z3 = g_logp - np.exp(logp) * g_logp.sum(axis=1, keepdims=True)
    g_w3 = h2.T @ g_z3
    g_b3 = g_z3.sum(axis=0)
    g_z2 = (g_z3 @ w3.T) * (z2 > 0)
    g_w2 = h1.T @ g_z2
    g_b2 = g_z2.sum(axis=0)
    g_z1 = (g_z2 @ w2.T) * (z1 > 0)
    g_w1 = x.T @ g_z1
    g_b1 = g_z1.sum(axis=0)
    return loss, [g_w1, g_b1, g_w2, g_b2, g_w3, g_b3]


def torchlite_step(x, onehot, params):
    for p in params:
        p.grad = None
    w1, b1, w2, b2, w3, b3 = params
    h1 = torchlite.relu(torchlite.add(torchlite.matmul(x, w1), b1))
    h2 = torchlite.relu(torchlite.add(torchlite.matmul(h1, w2), b2))
    z3 = torchlite.add(torchlite.matmul(h2, w3), b3)
    logp = z3 - torchlite.logsumexp(z3, 1, keepdim=True)
    loss = -(logp * onehot).sum(1).mean()
    loss.backward()
    return loss, [p.grad for p in params]


def torch_step(torch, x, onehot, params):
    for p in params:
        p.grad = None
    w1, b1, w2, b2, w3, b3 = params
    h1 = torch.relu(torch.add(torch.matmul(x, w1), b1))
    h2 = torch.relu(torch.add(torch.matmul(h1, w2), b2))
    z3 = torch.add(torch.matmul(h2, w3), b3)
    logp = z3 - torch.logsumexp(z3, 1, keepdim=True)
    loss = -(logp * onehot).sum(1).mean()
    loss.backward()
    return loss, [p.grad for p in params]


def rows(torch=None) -> Iterator[Row]:
    """The one row of this case, after checking that the implementations agree."""
    x, onehot, params = make_data()
    tl_x, tl_onehot = torchlite.from_numpy(x), torchlite.from_numpy(onehot)
    tl_params = [torchlite.from_numpy(p.copy()).requires_grad_() for p in params]

    ref_loss, ref_grads = numpy_step(x, onehot, params)
    loss, grads = torchlite_step(tl_x, tl_onehot, tl_params)
    check_close("mlp", "torchlite loss", loss.item(), ref_loss)
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        if g.dtype != torchlite.float32:
            raise BenchmarkError(f"mlp: torchlite gradient {i} is {g.dtype}, not float32")
        check_close("mlp", f"torchlite gradient {i}", g.numpy(), r, atol=1e-6)

    fns = {
        "torchlite": lambda: torchlite_step(tl_x, tl_onehot, tl_params),
        "numpy": lambda: numpy_step(x, onehot, params),
    }
    if torch is not None:
        t_x, t_onehot = torch.from_numpy(x), torch.from_numpy(onehot)
        t_params = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        t_loss, _ = torch_step(torch, t_x, t_onehot, t_params)
        check_close("mlp", "PyTorch loss", t_loss.item(), ref_loss)
        fns["torch"] = lambda: torch_step(torch, t_x, t_onehot, t_params)
    yield Row("mlp", f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, float32: forward + "
                     "backward", fns)
