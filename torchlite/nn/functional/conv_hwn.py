"""Stride-1 conv2d on small images with the batch innermost (NumPy only).

conv.py's stride-1 ("flat") layout runs each window over the flattened padded image, which
adds Wp - Wo junk columns per output row to every product; on a small image that is a large
share (LeNet-5's second layer: 14 columns per row for 10 outputs, 40% more arithmetic). Here
the padded input is laid out (C, Hp, Wp, N), batch innermost: an output position (h, w) over
all samples is then one contiguous run of N values, so the im2col copy reads runs of Wo*N
values without any junk, and the input gradient folds back with one add of whole (Ho, Wo*N)
planes per kernel offset. The price is four transposing copies (input, output, output
gradient, input gradient) with the batch innermost, cheap for small images: measured on
LeNet-5's second layer (one thread) forward 0.98 -> 0.74 ms and backward 2.7 -> 2.0 ms, while
on its first (28x28, 6 channels out) the output's copy alone would cost more than the junk.
So this layout is taken when the junk is at least a quarter of the columns (`takes`).
"""

from __future__ import annotations

import numpy as np

from ... import _workspace as ws
from . import fused_act  # looked up at call time, so a patched bias_act is seen here too
from .conv_matmul import matmul, matmul_t


def takes(geom, x) -> bool:
    """Whether Conv2dOp uses this layout for geometry `geom` (a conv._Geom) and input x."""
    return (isinstance(x, np.ndarray) and geom.flat and geom.kh * geom.kw > 1
            and 4 * geom.Wp >= 5 * geom.Wo)


def _cols(geom, x, pads):
    """(G, C/G*kh*kw, Ho*Wo*N) columns of x (N, C, H, W), batch innermost."""
    N, C, H, W = x.shape
    Hp, Wp = geom.Hp, geom.Wp
    buf = (ws.zeros if pads != (0, 0) else ws.empty)(np, (C, Hp, Wp, N), x.dtype)
    buf[:, pads[0]: pads[0] + H, pads[1]: pads[1] + W] = x.transpose(1, 2, 3, 0)
    e = buf.itemsize
    sc, sh, sw = Hp * Wp * N * e, Wp * N * e, N * e
    view = np.lib.stride_tricks.as_strided(
        buf, (C, geom.kh, geom.kw, geom.Ho, geom.Wo, N),
        (sc, geom.dh * sh, geom.dw * sw, sh, sw, e))
    cols = ws.empty(np, (geom.G, C // geom.G * geom.kh * geom.kw, geom.Ho * geom.Wo * N),
                    x.dtype)
    cols.reshape(view.shape)[...] = view
    return cols


def forward(geom, x, w, b, pads, act):
    """The output (N, O, Ho, Wo), the columns and what the activation's backward takes."""
    N = x.shape[0]
    O = w.shape[0]
    cols = _cols(geom, x, pads)
    y = matmul(w.reshape(geom.G, O // geom.G, -1), cols)
    if b is not None:
        y.reshape(O, -1)[...] += b.reshape(O, 1)
    out = ws.empty(np, (N, O, geom.Ho, geom.Wo), y.dtype)
    out[...] = y.reshape(O, geom.Ho, geom.Wo, N).transpose(3, 0, 1, 2)
    return out, cols, (None if act is None else fused_act.bias_act(out, None, act, out))


def backward(geom, g, cols, w, saved, act, pads, hw, needs, has_bias):
    """Gradients of the input, weight and bias, as Conv2dOp.backward returns them."""
    if act is not None:
        g = fused_act.bias_act_grad(g, saved, act)
    N, O = g.shape[0], g.shape[1]
    G, L = geom.G, geom.Ho * geom.Wo * N
    g2 = ws.empty(np, (G, O // G, L), g.dtype)
    g2.reshape(O, geom.Ho, geom.Wo, N)[...] = g.transpose(1, 2, 3, 0)
    gx = gw = gb = None
    if needs[1]:
        gw = matmul_t(cols, g2).transpose(0, 2, 1).reshape(w.shape)
    if needs[0]:
        gx = _fold(geom, matmul(w.reshape(G, O // G, -1).transpose(0, 2, 1), g2), pads, hw, N)
    if needs[2] and has_bias:  # a matrix-vector product over g2's rows: BLAS sums faster
        ones = ws.empty(np, (L,), g2.dtype)
        ones.fill(1)
        with np.errstate(over="ignore", invalid="ignore"):
            gb = g2.reshape(O, L) @ ones
    return gx, gw, gb


def _fold(geom, gcols, pads, hw, N):
    """col2im of (G, C/G*kh*kw, Ho*Wo*N) columns, cropped to (N, C, H, W)."""
    C, Hp, Wp, Ho, Wo = geom.C, geom.Hp, geom.Wp, geom.Ho, geom.Wo
    c5 = gcols.reshape(C, geom.kh, geom.kw, Ho, Wo * N)
    buf = ws.zeros(np, (C, Hp, Wp * N), gcols.dtype)
    for i in range(geom.kh):
        for j in range(geom.kw):
            r, s = i * geom.dh, j * geom.dw * N
            buf[:, r: r + Ho, s: s + Wo * N] += c5[:, i, j]
    (pt, pl), (H, W) = pads, hw
    out = ws.empty(np, (N, C, H, W), gcols.dtype)
    out[...] = buf.reshape(C, Hp, Wp, N)[:, pt: pt + H, pl: pl + W].transpose(3, 0, 1, 2)
    return out
