"""Suite `lenet5`: a LeNet-5 training step, batch 64 of 1x28x28, float32.

The step: conv(1->6, 5x5, pad 2)-relu-maxpool 2-conv(6->16, 5x5)-relu-maxpool 2-flatten-linear
400-120-84-10, CrossEntropyLoss, backward, SGD with momentum (lr 0.01, momentum 0.9). The floor is
the same math by hand, with the algorithm torchlite uses but without its graph: convolution as
one matrix product over strided windows (im2col) forward, one strided add per kernel offset for
the input gradient, large buffers allocated once.
"""

from __future__ import annotations

import numpy as np

from ._common import SEED, Env, FloorStep, ModuleStep, RowSpec, optimizer_name, uniform
from ._floor import cross_entropy, make_update

REPEAT, WARMUP, BLOCK, SETTLE = 20, 3, 5, 0.15
BATCH, QUICK_BATCH = 64, 4
OPT = {"name": "sgd", "lr": 0.01, "momentum": 0.9}
# parameter name, shape, fan-in (PyTorch's initialisation bound is 1 / sqrt(fan-in))
LAYERS = (("0", (6, 1, 5, 5), 25), ("3", (16, 6, 5, 5), 150), ("7", (120, 400), 400),
          ("9", (84, 120), 120), ("11", (10, 84), 84))


def rows(quick: bool = False) -> list[RowSpec]:
    batch = QUICK_BATCH if quick else BATCH
    desc = (f"LeNet-5, batch {batch} of 1x28x28, float32: forward, cross-entropy, backward, "
            f"{optimizer_name(OPT)}")
    return [RowSpec("lenet5", f"b{batch} sgd", desc, {"batch": batch, "opt": OPT, "seed": SEED})]


def data(params: dict):
    rng = np.random.default_rng(params["seed"])
    x = rng.standard_normal((params["batch"], 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, params["batch"])
    weights = {}
    for name, shape, fan_in in LAYERS:
        bound = 1.0 / np.sqrt(fan_in)
        weights[f"{name}.weight"] = uniform(rng, shape, bound)
        weights[f"{name}.bias"] = uniform(rng, shape[:1], bound)
    return x, y, weights


def make(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))  # the positions of a 2x2 window


class Floor:
    """Forward and backward of LeNet-5 by hand over `xp`; returns (loss, gradients)."""

    def __init__(self, xp, params: list, x, y) -> None:
        self.xp, self.params, self.x, self.y = xp, params, x, y
        self.rows = xp.arange(len(y))
        self.ws: dict = {}

    def _scratch(self, key: str, shape: tuple, dtype):
        """An array kept across steps (zero-filled when made): fresh multi-megabyte arrays are
        page-faulted in on every step, a cost a hand-written loop avoids by allocating its
        large buffers once, as torchlite does."""
        a = self.ws.get(key)
        if a is None or a.shape != shape:
            a = self.ws[key] = self.xp.zeros(shape, dtype)
        return a

    def _conv(self, x, w, b, pad, tag):
        """Stride-1 convolution of x (C, N, H, W) -> (O, N, Ho, Wo) and what backward needs.

        Activations are channel-major, and the windows run over each flattened padded image, so
        a window column is one contiguous run of Ho*Wp values (the Wp - Wo extra values per row
        are junk, cropped from the output): the im2col copy runs at memory speed and W @ cols is
        already in the output layout."""
        xp = self.xp
        c, n, h, wd = x.shape
        o, _, k, _ = w.shape
        hp, wp = h + 2 * pad, wd + 2 * pad
        ho, wo = hp - k + 1, wp - k + 1
        buf = self._scratch(tag + "buf", (c, n, hp * wp + k - 1), x.dtype)  # border stays zero
        buf[:, :, :hp * wp].reshape(c, n, hp, wp)[:, :, pad:pad + h, pad:pad + wd] = x
        e, (sc, sn, _) = buf.itemsize, buf.strides
        win = xp.lib.stride_tricks.as_strided(buf, (c, k, k, n, ho * wp), (sc, wp * e, e, sn, e))
        cols = self._scratch(tag + "cols", (c * k * k, n * ho * wp), x.dtype)
        cols.reshape(win.shape)[...] = win  # the one copy
        y = xp.matmul(w.reshape(o, -1), cols, out=self._scratch(tag + "y", (o, n * ho * wp),
                                                                  x.dtype))
        z = self._scratch(tag + "z", (o, n, ho, wo), x.dtype)
        xp.add(y.reshape(o, n, ho, wp)[:, :, :, :wo], b[:, None, None, None], out=z)
        return z, (cols, x.shape, pad, wp)

    def _conv_backward(self, g, saved, w, need_input, tag):
        """Gradients of _conv wrt weight, bias and (if `need_input`) its input."""
        xp = self.xp
        cols, (c, n, h, wd), pad, wp = saved
        o, _, ho, wo = g.shape
        k = w.shape[2]
        gm = self._scratch(tag + "gm", (o, n, ho, wp), g.dtype)  # junk columns stay zero
        gm[:, :, :, :wo] = g
        gm = gm.reshape(o, -1)
        gw = (cols @ gm.T).T.reshape(w.shape)  # BLAS is faster this way round for few channels
        gb = g.sum(axis=(1, 2, 3))
        if not need_input:
            return gw, gb, None
        gcols = xp.matmul(w.reshape(o, -1).T, gm,
                          out=self._scratch(tag + "gcols", cols.shape, g.dtype))
        gcols = gcols.reshape(c, k, k, n, ho * wp)
        hp = h + 2 * pad
        buf = self._scratch(tag + "gbuf", (c, n, hp * wp + k - 1), g.dtype)
        buf.fill(0)
        for i in range(k):  # one add per kernel offset, over contiguous runs
            for j in range(k):
                off = i * wp + j
                buf[:, :, off:off + ho * wp] += gcols[:, i, j]
        gx = buf[:, :, :hp * wp].reshape(c, n, hp, wp)[:, :, pad:pad + h, pad:pad + wd]
        return gw, gb, gx

    def _pool(self, h):
        """2x2 max pooling, stride 2, of (C, N, H, W) with even H and W."""
        xp = self.xp
        a, b, c, d = (h[:, :, i::2, j::2] for i, j in _OFFSETS)
        return xp.maximum(xp.maximum(a, b), xp.maximum(c, d))

    def _unpool(self, g, h, out):
        """Route g to the maximum of each window. Only exact ties would reach several elements;
        after a relu those are zeros, whose gradient the relu mask removes."""
        gh = self.xp.empty_like(h)
        for i, j in _OFFSETS:
            self.xp.multiply(h[:, :, i::2, j::2] == out, g, out=gh[:, :, i::2, j::2])
        return gh

    def __call__(self):
        xp, x = self.xp, self.x
        c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = self.params
        n = len(x)
        z1, saved1 = self._conv(x.transpose(1, 0, 2, 3), c1w, c1b, 2, "c1")
        r1 = xp.maximum(z1, 0)
        p1 = self._pool(r1)
        z2, saved2 = self._conv(p1, c2w, c2b, 0, "c2")
        r2 = xp.maximum(z2, 0)
        p2 = self._pool(r2)
        a0 = p2.transpose(1, 0, 2, 3).reshape(n, -1)
        a1 = a0 @ f1w.T
        a1 += f1b
        xp.maximum(a1, 0, out=a1)
        a2 = a1 @ f2w.T
        a2 += f2b
        xp.maximum(a2, 0, out=a2)
        z5 = a2 @ f3w.T
        z5 += f3b
        loss, g5 = cross_entropy(xp, z5, self.y, self.rows)
        g4 = g5 @ f3w
        g4 *= a2 > 0
        g3 = g4 @ f2w
        g3 *= a1 > 0
        gp2 = (g3 @ f1w).reshape(n, p2.shape[0], *p2.shape[2:]).transpose(1, 0, 2, 3)
        gz2 = self._unpool(gp2, r2, p2)
        gz2 *= z2 > 0
        gc2w, gc2b, gp1 = self._conv_backward(gz2, saved2, c2w, True, "c2")
        gz1 = self._unpool(gp1, r1, p1)
        gz1 *= z1 > 0
        gc1w, gc1b, _ = self._conv_backward(gz1, saved1, c1w, False, "c1")
        return loss, [gc1w, gc1b, gc2w, gc2b, g3.T @ a0, g3.sum(axis=0), g4.T @ a1,
                      g4.sum(axis=0), g5.T @ a2, g5.sum(axis=0)]


def build(env: Env, params: dict):
    x, y, weights = data(params)
    if env.lib is not None:
        return ModuleStep(env, make(env.lib.nn), weights, x, y, params["opt"])
    ps = [env.put(weights[f"{name}.{kind}"]) for name, *_ in LAYERS for kind in ("weight", "bias")]
    return FloorStep(env, ps, Floor(env.xp, ps, env.put(x), env.put(y)),
                     make_update(env.xp, ps, params["opt"]))
