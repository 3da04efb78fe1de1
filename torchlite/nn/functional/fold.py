"""F.unfold (im2col) and F.fold (col2im): sliding blocks of a batched image as columns, and
columns summed back into an image.

unfold is composed of differentiable ops (pad, Tensor.unfold, slicing, permute), so it
differentiates to any order. fold is its adjoint: one strided add per kernel offset forward,
and unfold of the gradient backward.
"""

from __future__ import annotations

from ...autograd.function import Op
from ...backend import get_xp
from ...ops.pad import pad as _pad
from ...tensor import Tensor


def _pair(v, name: str, op: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise RuntimeError(f"{op}: {name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _blocks(op, spatial, k, d, p, s):
    counts = []
    for n, ki, di, pi, si in zip(spatial, k, d, p, s):
        if ki < 1 or di < 1 or si < 1 or pi < 0:
            raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and "
                               f"padding non-negative, got {k}, {d}, {s}, {p}")
        c = (n + 2 * pi - di * (ki - 1) - 1) // si + 1
        if c < 1:
            raise RuntimeError(f"{op}: the padded input {tuple(spatial)} is smaller than the "
                               f"dilated kernel {k}")
        counts.append(c)
    return tuple(counts)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every kernel_size block of the (padded) image as a column, as torch.nn.functional.unfold.

    Shape: (N, C, H, W) or (C, H, W) -> (N, C*kH*kW, L), L the number of block positions.
    """
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {input.ndim}D)")
    op = "unfold"
    k, d, p, s = (_pair(v, n, op) for v, n in ((kernel_size, "kernel_size"),
                                               (dilation, "dilation"), (padding, "padding"),
                                               (stride, "stride")))
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    counts = _blocks(op, x.shape[2:], k, d, p, s)
    if any(p):
        x = _pad(x, (p[1], p[1], p[0], p[0]))
    for axis, (c, ki, di, si) in enumerate(zip(counts, k, d, s), 2):
        x = x.unfold(axis, di * (ki - 1) + 1, si).narrow(axis, 0, c)
        if di > 1:
            x = x[..., ::di]
    n, ch = x.shape[:2]
    cols = x.permute(0, 1, 4, 5, 2, 3).reshape(n, ch * k[0] * k[1], counts[0] * counts[1])
    return cols.squeeze(0) if unbatched else cols


def _fold_array(xp, cols, out_hw, k, d, p, s, counts):
    n, ck = cols.shape[:2]
    c = ck // (k[0] * k[1])
    blocks = cols.reshape(n, c, k[0], k[1], counts[0], counts[1])
    hp, wp = out_hw[0] + 2 * p[0], out_hw[1] + 2 * p[1]
    out = xp.zeros((n, c, hp, wp), dtype=cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            out[:, :, r0:r0 + s[0] * (counts[0] - 1) + 1:s[0],
                c0:c0 + s[1] * (counts[1] - 1) + 1:s[1]] += blocks[:, :, i, j]
    return out[:, :, p[0]:p[0] + out_hw[0], p[1]:p[1] + out_hw[1]]


def _unfold_array(xp, g, k, d, p, s, counts):
    n, c = g.shape[:2]
    gp = xp.pad(g, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    parts = [gp[:, :, i * d[0]:i * d[0] + s[0] * (counts[0] - 1) + 1:s[0],
                j * d[1]:j * d[1] + s[1] * (counts[1] - 1) + 1:s[1]]
             for i in range(k[0]) for j in range(k[1])]
    return xp.stack(parts, axis=2).reshape(n, c * k[0] * k[1], counts[0] * counts[1])


class Fold(Op):
    @staticmethod
    def forward(ctx, cols, out_hw, k, d, p, s, counts):
        ctx.args = (k, d, p, s, counts)
        return _fold_array(get_xp(cols), cols, out_hw, *ctx.args)

    @staticmethod
    def backward(ctx, g):
        return _unfold_array(get_xp(g), g, *ctx.args), None, None, None, None, None, None


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns of blocks back into an image (the adjoint of unfold), as
    torch.nn.functional.fold.

    Shape: (N, C*kH*kW, L) or (C*kH*kW, L) -> (N, C, *output_size).
    """
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {input.ndim}D)")
    op = "fold"
    out_hw, k, d, p, s = (_pair(v, n, op) for v, n in (
        (output_size, "output_size"), (kernel_size, "kernel_size"), (dilation, "dilation"),
        (padding, "padding"), (stride, "stride")))
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    counts = _blocks(op, out_hw, k, d, p, s)
    kk = k[0] * k[1]
    if x.shape[1] % kk:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={k}")
    if x.shape[2] != counts[0] * counts[1]:
        raise RuntimeError(f"Given output_size={out_hw}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {counts[0]} * "
                           f"{counts[1]} = {counts[0] * counts[1]}, but got "
                           f"input.size(2)={x.shape[2]}.")
    out = Fold.apply(x, out_hw, k, d, p, s, counts)
    return out.squeeze(0) if unbatched else out
