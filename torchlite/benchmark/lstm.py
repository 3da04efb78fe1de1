"""Suite `lstm`: a training step of a 2-layer LSTM with a linear head, float32.

The step: LSTM(64, 128, num_layers=2, batch_first=True) over a (32, 32, 64) batch (batch,
sequence, features), Linear(128, 10) on the last step's output, CrossEntropyLoss, backward, plain
SGD (lr 0.1). The floor is the same math by hand: the input projections of all steps in one
product, a loop over time, back-propagation through time with each weight gradient as one product
over all steps. Gates are in PyTorch's order (i, f, g, o).
"""

from __future__ import annotations

import numpy as np

from ._common import SEED, Env, FloorStep, ModuleStep, RowSpec, optimizer_name, uniform
from ._floor import cross_entropy, make_update

REPEAT, WARMUP, BLOCK, SETTLE = 20, 3, 5, 0.15
FULL = {"batch": 32, "seq": 32, "input": 64, "hidden": 128, "classes": 10}
QUICK = {"batch": 4, "seq": 4, "input": 8, "hidden": 16, "classes": 10}
OPT = {"name": "sgd", "lr": 0.1}
LAYERS = 2


def rows(quick: bool = False) -> list[RowSpec]:
    s = QUICK if quick else FULL
    desc = (f"{LAYERS}-layer LSTM {s['input']}->{s['hidden']}, batch {s['batch']}, sequence "
            f"{s['seq']}, batch_first, Linear({s['hidden']}, {s['classes']}) on the last step, "
            f"float32: forward, cross-entropy, backward, {optimizer_name(OPT)}")
    return [RowSpec("lstm", f"b{s['batch']} seq{s['seq']}", desc,
                    {**s, "opt": OPT, "seed": SEED})]


def names() -> list[str]:
    """Parameter names in parameters() order (PyTorch's)."""
    out = [f"lstm.{w}_l{k}" for k in range(LAYERS)
           for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return out + ["head.weight", "head.bias"]


def data(p: dict):
    rng = np.random.default_rng(p["seed"])
    x = rng.standard_normal((p["batch"], p["seq"], p["input"]), dtype=np.float32)
    y = rng.integers(0, p["classes"], p["batch"])
    h = p["hidden"]
    bound = 1.0 / np.sqrt(h)  # PyTorch initialises every LSTM weight in [-1/sqrt(h), 1/sqrt(h)]
    weights = {}
    for k in range(LAYERS):
        n_in = p["input"] if k == 0 else h
        weights[f"lstm.weight_ih_l{k}"] = uniform(rng, (4 * h, n_in), bound)
        weights[f"lstm.weight_hh_l{k}"] = uniform(rng, (4 * h, h), bound)
        weights[f"lstm.bias_ih_l{k}"] = uniform(rng, (4 * h,), bound)
        weights[f"lstm.bias_hh_l{k}"] = uniform(rng, (4 * h,), bound)
    weights["head.weight"] = uniform(rng, (p["classes"], h), bound)
    weights["head.bias"] = uniform(rng, (p["classes"],), bound)
    return x, y, weights


def make(nn, p: dict):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(p["input"], p["hidden"], num_layers=LAYERS, batch_first=True)
            self.head = nn.Linear(p["hidden"], p["classes"])

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return Net()


class Floor:
    """Forward and backward of the network by hand over `xp`; returns (loss, gradients).

    All four gates are activated at once: sigmoid(a) = tanh(a / 2) / 2 + 1/2, so with per-column
    constants act = tanh(a * scale) * mul + add covers sigmoid (i, f, o) and tanh (g) in a few
    in-place passes over the contiguous (N, 4H) block instead of one pass per gate."""

    def __init__(self, xp, params: list, x, y) -> None:
        self.xp, self.params, self.x, self.y = xp, params, x, y
        self.rows = xp.arange(len(y))
        h = params[1].shape[1]
        half = xp.full(4 * h, 0.5, dtype=x.dtype)
        tanh_gate = slice(2 * h, 3 * h)
        self.scale, self.mul, self.add = half, half.copy(), half.copy()
        self.scale[tanh_gate], self.mul[tanh_gate], self.add[tanh_gate] = 1, 1, 0
        self.dscale = self.scale * self.mul  # d act / d a = mul * scale * (1 - tanh(a*scale)^2)

    def _layer_forward(self, x, w_ih, w_hh, b):
        """x (T, N, I) -> hidden states, activated gates, cells, tanh of cells (T, N, H or 4H)
        and the gates' derivatives wrt their pre-activations."""
        xp = self.xp
        t_len, n, _ = x.shape
        h_size = w_hh.shape[1]
        acts = (x.reshape(t_len * n, -1) @ w_ih.T + b).reshape(t_len, n, 4 * h_size)
        deriv = xp.empty_like(acts)
        cs = xp.empty((t_len, n, h_size), x.dtype)
        hs, tcs = xp.empty_like(cs), xp.empty_like(cs)
        h = xp.zeros((n, h_size), x.dtype)
        c = xp.zeros_like(h)
        rec = xp.empty((n, 4 * h_size), x.dtype)
        ig = xp.empty_like(h)
        w_hh_t = w_hh.T
        for t in range(t_len):
            a, d = acts[t], deriv[t]
            a += xp.matmul(h, w_hh_t, out=rec)
            a *= self.scale
            xp.tanh(a, out=a)
            xp.multiply(a, a, out=d)
            xp.subtract(1, d, out=d)
            d *= self.dscale
            a *= self.mul
            a += self.add
            i, f, g, o = (a[:, k * h_size:(k + 1) * h_size] for k in range(4))  # np.split is slow
            c, h = cs[t], hs[t]
            xp.multiply(f, cs[t - 1] if t else 0, out=c)
            c += xp.multiply(i, g, out=ig)
            xp.tanh(c, out=tcs[t])
            xp.multiply(o, tcs[t], out=h)
        return hs, (acts, deriv, cs, tcs)

    def _layer_backward(self, g_hs, x, w_ih, w_hh, hs, saved, need_input):
        """Gradients wrt w_ih, w_hh, the (shared) bias and, if `need_input`, x."""
        xp = self.xp
        acts, deriv, cs, tcs = saved
        t_len, n, h_size = hs.shape
        da = xp.empty_like(acts)  # gradient wrt the gates before their activation
        dh = xp.zeros((n, h_size), hs.dtype)
        dc = xp.zeros_like(dh)
        tmp = xp.empty_like(dh)
        for t in range(t_len - 1, -1, -1):
            i, f, g, o = (acts[t, :, k * h_size:(k + 1) * h_size] for k in range(4))
            di, df, dg, do = (da[t, :, k * h_size:(k + 1) * h_size] for k in range(4))
            dh += g_hs[t]
            xp.multiply(tcs[t], tcs[t], out=tmp)  # dc += dh * o * (1 - tanh(c)^2)
            xp.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            xp.multiply(dc, g, out=di)  # gradients wrt the activated gates ...
            if t:
                xp.multiply(dc, cs[t - 1], out=df)
            else:
                df.fill(0)
            xp.multiply(dc, i, out=dg)
            xp.multiply(dh, tcs[t], out=do)
            da[t] *= deriv[t]  # ... and wrt their pre-activations
            dc *= f
            xp.matmul(da[t], w_hh, out=dh)
        flat = da.reshape(t_len * n, 4 * h_size)
        h_prev = xp.concatenate([xp.zeros((1, n, h_size), hs.dtype), hs[:-1]])
        g_w_hh = flat.T @ h_prev.reshape(t_len * n, h_size)
        g_w_ih = flat.T @ x.reshape(t_len * n, -1)
        g_x = (flat @ w_ih).reshape(x.shape) if need_input else None
        return g_w_ih, g_w_hh, flat.sum(axis=0), g_x

    def __call__(self):
        wi0, wh0, bi0, bh0, wi1, wh1, bi1, bh1, hw, hb = self.params
        x = self.xp.ascontiguousarray(self.x.transpose(1, 0, 2))  # batch_first -> time-major
        hs0, saved0 = self._layer_forward(x, wi0, wh0, bi0 + bh0)
        hs1, saved1 = self._layer_forward(hs0, wi1, wh1, bi1 + bh1)
        last = hs1[-1]
        loss, gz = cross_entropy(self.xp, last @ hw.T + hb, self.y, self.rows)
        g_hs1 = self.xp.zeros_like(hs1)
        g_hs1[-1] = gz @ hw
        gwi1, gwh1, gb1, g_hs0 = self._layer_backward(g_hs1, hs0, wi1, wh1, hs1, saved1, True)
        gwi0, gwh0, gb0, _ = self._layer_backward(g_hs0, x, wi0, wh0, hs0, saved0, False)
        return loss, [gwi0, gwh0, gb0, gb0, gwi1, gwh1, gb1, gb1, gz.T @ last, gz.sum(axis=0)]


def build(env: Env, params: dict):
    x, y, weights = data(params)
    if env.lib is not None:
        return ModuleStep(env, make(env.lib.nn, params), weights, x, y, params["opt"])
    ps = [env.put(weights[k]) for k in names()]
    return FloorStep(env, ps, Floor(env.xp, ps, env.put(x), env.put(y)),
                     make_update(env.xp, ps, params["opt"]))
