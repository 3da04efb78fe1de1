"""A 2-layer LSTM training step: batch 32, sequence 35, input 64, hidden 128, float32.

The step: LSTM(64, 128, num_layers=2) over a (35, 32, 64) batch, a linear head on the last
hidden state (128 -> 10), cross-entropy, backward, plain SGD update (lr 0.1). torchlite and
PyTorch run the same modules from the same weights; the NumPy floor is the same math by hand
(input projections of all steps in one product, a time loop, back-propagation through time with
the weight gradients as one product over all steps). The first step's loss and gradients must
agree before anything is timed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._common import Row, cross_entropy, model_step_fns

SEQ, BATCH, N_IN, HIDDEN, N_OUT = 35, 32, 64, 128, 10
LR = 0.1
REPEATS, WARMUP = 30, 5


def make(m):
    """The model, built from module namespace `m` (torchlite.nn or torch.nn)."""

    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.lstm = m.LSTM(N_IN, HIDDEN, num_layers=2)
            self.head = m.Linear(HIDDEN, N_OUT)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1])

    return Net()


# ----------------------------------------------------------------------------------------------
# the NumPy floor; gates in PyTorch's order (i, f, g, o)


def _sigmoid(a):
    return np.tanh(a * 0.5) * 0.5 + 0.5  # cannot overflow, unlike 1 / (1 + exp(-a))


def _layer_forward(x, w_ih, w_hh, b):
    """x (T, N, I) -> hidden states (T, N, H), post-activation gates (T, N, 4H), cells (T, N, H)."""
    t_len, n, _ = x.shape
    h_size = w_hh.shape[1]
    acts = (x.reshape(t_len * n, -1) @ w_ih.T + b).reshape(t_len, n, 4 * h_size)
    cs = np.empty((t_len, n, h_size), x.dtype)
    hs = np.empty_like(cs)
    h = np.zeros((n, h_size), x.dtype)
    c = np.zeros_like(h)
    w_hh_t = w_hh.T
    for t in range(t_len):
        a = acts[t]
        a += h @ w_hh_t
        a[:, :2 * h_size] = _sigmoid(a[:, :2 * h_size])
        a[:, 2 * h_size:3 * h_size] = np.tanh(a[:, 2 * h_size:3 * h_size])
        a[:, 3 * h_size:] = _sigmoid(a[:, 3 * h_size:])
        i, f, g, o = np.split(a, 4, axis=1)
        c = f * c + i * g
        h = o * np.tanh(c)
        cs[t], hs[t] = c, h
    return hs, acts, cs


def _layer_backward(g_hs, x, w_ih, w_hh, hs, acts, cs, need_input):
    """Gradients wrt w_ih, w_hh, the (shared) bias and, if `need_input`, x."""
    t_len, n, h_size = hs.shape
    da = np.empty_like(acts)  # gradient wrt the gates before their activation
    dh = np.zeros((n, h_size), hs.dtype)
    dc = np.zeros_like(dh)
    for t in range(t_len - 1, -1, -1):
        i, f, g, o = np.split(acts[t], 4, axis=1)
        tc = np.tanh(cs[t])
        c_prev = cs[t - 1] if t else np.zeros_like(dc)
        dh = dh + g_hs[t]
        dc = dc + dh * o * (1 - tc * tc)
        d = da[t]
        d[:, :h_size] = dc * g * i * (1 - i)
        d[:, h_size:2 * h_size] = dc * c_prev * f * (1 - f)
        d[:, 2 * h_size:3 * h_size] = dc * i * (1 - g * g)
        d[:, 3 * h_size:] = dh * tc * o * (1 - o)
        dc = dc * f
        dh = d @ w_hh
    flat = da.reshape(t_len * n, 4 * h_size)
    h_prev = np.concatenate([np.zeros((1, n, h_size), hs.dtype), hs[:-1]])
    g_w_hh = flat.T @ h_prev.reshape(t_len * n, h_size)
    g_w_ih = flat.T @ x.reshape(t_len * n, -1)
    g_x = (flat @ w_ih).reshape(x.shape) if need_input else None
    return g_w_ih, g_w_hh, flat.sum(axis=0), g_x


def numpy_forward_backward(params, x, y):
    """Loss and the gradients of all ten parameters, in the model's parameters() order."""
    wi0, wh0, bi0, bh0, wi1, wh1, bi1, bh1, hw, hb = params
    hs0, a0, c0 = _layer_forward(x, wi0, wh0, bi0 + bh0)
    hs1, a1, c1 = _layer_forward(hs0, wi1, wh1, bi1 + bh1)
    last = hs1[-1]
    loss, gz = cross_entropy(last @ hw.T + hb, y)
    g_hs1 = np.zeros_like(hs1)
    g_hs1[-1] = gz @ hw
    gwi1, gwh1, gb1, g_hs0 = _layer_backward(g_hs1, hs0, wi1, wh1, hs1, a1, c1, True)
    gwi0, gwh0, gb0, _ = _layer_backward(g_hs0, x, wi0, wh0, hs0, a0, c0, False)
    return loss, [gwi0, gwh0, gb0, gb0, gwi1, gwh1, gb1, gb1, gz.T @ last, gz.sum(axis=0)]


# ----------------------------------------------------------------------------------------------


def rows(torch=None) -> Iterator[Row]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SEQ, BATCH, N_IN)).astype(np.float32)
    y = rng.integers(0, N_OUT, BATCH)
    fns = model_step_fns("lstm", make, x, y, numpy_forward_backward, LR, torch)
    yield Row("lstm", f"2-layer LSTM {N_IN}->{HIDDEN}, sequence {SEQ}, batch {BATCH}, float32: "
                      "forward, cross-entropy, backward, SGD", fns)
