"""A LeNet-5 training step, batch 64 of 1x28x28, float32.

The step: conv(1,6,5,pad 2)-relu-maxpool2-conv(6,16,5)-relu-maxpool2-flatten-linear 400-120-84-10,
cross-entropy, backward, plain SGD update (lr 0.01). torchlite and PyTorch run the same modules
from the same weights. The NumPy floor is the same math by hand, written as fast as NumPy
allows (the algorithm torchlite uses, without its graph): convolution as one matrix product over
strided windows (im2col) forward, one strided add per kernel offset for the input gradient,
large buffers allocated once. The first step's loss and gradients must agree before anything is
timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._common import Row, cross_entropy, model_step_fns

BATCH, LR = 64, 0.01
REPEATS, WARMUP = 50, 5


def lenet(m):
    """The model, built from module namespace `m` (torchlite.nn or torch.nn)."""
    return m.Sequential(
        m.Conv2d(1, 6, 5, padding=2), m.ReLU(), m.MaxPool2d(2),
        m.Conv2d(6, 16, 5), m.ReLU(), m.MaxPool2d(2), m.Flatten(),
        m.Linear(400, 120), m.ReLU(), m.Linear(120, 84), m.ReLU(), m.Linear(84, 10),
    )


# ----------------------------------------------------------------------------------------------
# the NumPy floor


def _scratch(ws: dict, key: str, shape: tuple, dtype) -> np.ndarray:
    """An array kept in `ws` across steps (zero-filled when made). Fresh multi-megabyte arrays
    are page-faulted in on every step (see torchlite/nn/functional/_workspace.py), a cost a
    hand-written NumPy loop avoids by allocating its large buffers once, as torchlite does."""
    a = ws.get(key)
    if a is None or a.shape != shape:
        a = ws[key] = np.zeros(shape, dtype)
    return a


def _conv(x, w, b, pad, ws, tag):
    """Stride-1 convolution of x (C, N, H, W) -> output (O, N, Ho, Wo) and what backward needs.

    As in torchlite: activations are channel-major, and the windows run over each flattened
    padded image, so a window column is one contiguous run of Ho*Wp values (the Wp - Wo extra
    values per row are junk, cropped from the output). The im2col copy then runs at memory speed
    and W @ cols is already in the output layout."""
    c, n, h, wd = x.shape
    o, _, k, _ = w.shape
    hp, wp = h + 2 * pad, wd + 2 * pad
    ho, wo = hp - k + 1, wp - k + 1
    buf = _scratch(ws, tag + "buf", (c, n, hp * wp + k - 1), x.dtype)  # the border stays zero
    buf[:, :, :hp * wp].reshape(c, n, hp, wp)[:, :, pad:pad + h, pad:pad + wd] = x
    e, (sc, sn, _) = buf.itemsize, buf.strides
    win = as_strided(buf, (c, k, k, n, ho * wp), (sc, wp * e, e, sn, e))
    cols = _scratch(ws, tag + "cols", (c * k * k, n * ho * wp), x.dtype)
    cols.reshape(win.shape)[...] = win  # the one copy
    y = np.matmul(w.reshape(o, -1), cols, out=_scratch(ws, tag + "y", (o, n * ho * wp), x.dtype))
    z = _scratch(ws, tag + "z", (o, n, ho, wo), x.dtype)
    np.add(y.reshape(o, n, ho, wp)[:, :, :, :wo], b[:, None, None, None], out=z)
    return z, (cols, x.shape, pad, wp)


def _conv_backward(g, saved, w, need_input, ws, tag):
    """Gradients of _conv wrt weight, bias and (if `need_input`) its input."""
    cols, (c, n, h, wd), pad, wp = saved
    o, _, ho, wo = g.shape
    k = w.shape[2]
    gm = _scratch(ws, tag + "gm", (o, n, ho, wp), g.dtype)  # the junk columns stay zero
    gm[:, :, :, :wo] = g
    gm = gm.reshape(o, -1)
    gw = (cols @ gm.T).T.reshape(w.shape)  # BLAS is faster this way round for few channels
    gb = g.sum(axis=(1, 2, 3))
    if not need_input:
        return gw, gb, None
    gcols = np.matmul(w.reshape(o, -1).T, gm, out=_scratch(ws, tag + "gcols", cols.shape, g.dtype))
    gcols = gcols.reshape(c, k, k, n, ho * wp)
    hp = h + 2 * pad
    buf = _scratch(ws, tag + "gbuf", (c, n, hp * wp + k - 1), g.dtype)
    buf.fill(0)
    for i in range(k):  # one add per kernel offset, over contiguous runs
        for j in range(k):
            off = i * wp + j
            buf[:, :, off:off + ho * wp] += gcols[:, i, j]
    gx = buf[:, :, :hp * wp].reshape(c, n, hp, wp)[:, :, pad:pad + h, pad:pad + wd]
    return gw, gb, gx


_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))  # the positions of a 2x2 window


def _pool(h):
    """2x2 max pooling, stride 2, of (C, N, H, W) with even H and W."""
    a, b, c, d = (h[:, :, i::2, j::2] for i, j in _OFFSETS)
    return np.maximum(np.maximum(a, b), np.maximum(c, d))


def _unpool(g, h, out):
    """Route g to the maximum of each window. Only exact ties would reach several elements;
    after a relu those are zeros, whose gradient the relu mask removes."""
    gh = np.empty_like(h)
    for i, j in _OFFSETS:
        np.multiply(h[:, :, i::2, j::2] == out, g, out=gh[:, :, i::2, j::2])
    return gh


def numpy_forward_backward(params, x, y, ws=None):
    """Loss and the gradients of all ten parameters, in the model's parameters() order.

    `ws`: a dict of buffers kept across the calls of one training loop (see _scratch)."""
    ws = {} if ws is None else ws
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = params
    n = len(x)
    z1, saved1 = _conv(x.transpose(1, 0, 2, 3), c1w, c1b, 2, ws, "c1")
    r1 = np.maximum(z1, 0)
    p1 = _pool(r1)
    z2, saved2 = _conv(p1, c2w, c2b, 0, ws, "c2")
    r2 = np.maximum(z2, 0)
    p2 = _pool(r2)
    a0 = p2.transpose(1, 0, 2, 3).reshape(n, -1)
    z3 = a0 @ f1w.T + f1b
    a1 = np.maximum(z3, 0)
    z4 = a1 @ f2w.T + f2b
    a2 = np.maximum(z4, 0)
    z5 = a2 @ f3w.T + f3b
    loss, g5 = cross_entropy(z5, y)
    # backward
    g4 = (g5 @ f3w) * (z4 > 0)
    g3 = (g4 @ f2w) * (z3 > 0)
    gp2 = (g3 @ f1w).reshape(n, p2.shape[0], *p2.shape[2:]).transpose(1, 0, 2, 3)
    gz2 = _unpool(gp2, r2, p2) * (z2 > 0)
    gc2w, gc2b, gp1 = _conv_backward(gz2, saved2, c2w, True, ws, "c2")
    gz1 = _unpool(gp1, r1, p1) * (z1 > 0)
    gc1w, gc1b, _ = _conv_backward(gz1, saved1, c1w, False, ws, "c1")
    return loss, [gc1w, gc1b, gc2w, gc2b, g3.T @ a0, g3.sum(axis=0), g4.T @ a1,
                  g4.sum(axis=0), g5.T @ a2, g5.sum(axis=0)]


# ----------------------------------------------------------------------------------------------


def rows(torch=None) -> Iterator[Row]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    fns = model_step_fns("lenet", lenet, x, y, partial(numpy_forward_backward, ws={}), LR, torch)
    yield Row("lenet", f"LeNet-5, batch {BATCH} of 1x28x28, float32: forward, cross-entropy, "
                       "backward, SGD", fns)
