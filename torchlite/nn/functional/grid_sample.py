"""Spatial transformers: affine_grid and grid_sample (4-D input; bilinear or nearest; zeros,
border or reflection padding), as PyTorch's.

Both are composed of differentiable ops (matmul, gather, floor with a detached index), so the
gradients reach the input, the grid and the affine matrices, to any order.
"""

from __future__ import annotations

from ...ops.creation import linspace
from ...ops.ternary import where
from ...ops.unary import abs as _abs
from ...ops.unary import floor, round
from ...tensor import Tensor


def _base_coords(n: int, align_corners: bool, like: Tensor) -> Tensor:
    """The normalised [-1, 1] coordinates of n pixel centres (or corners with align_corners)."""
    grid = linspace(-1, 1, n, dtype=like.dtype, device=like.device)
    return grid if align_corners else grid * ((n - 1) / n)


def affine_grid(theta: Tensor, size, align_corners: bool = False) -> Tensor:
    """The sampling grid of the affine maps `theta`, as torch.nn.functional.affine_grid.

    Shape: theta (N, 2, 3) with size (N, C, H, W) -> (N, H, W, 2); theta (N, 3, 4) with size
    (N, C, D, H, W) -> (N, D, H, W, 3). Each grid point is theta @ (x, y[, z], 1).
    """
    size = tuple(int(s) for s in size)
    nd = len(size) - 2
    if nd not in (2, 3) or tuple(theta.shape[1:]) != (nd, nd + 1) or theta.shape[0] != size[0]:
        raise ValueError(f"affine_grid: expected theta of shape (N, {nd}, {nd + 1}) for size "
                         f"{list(size)}, got {tuple(theta.shape)}")
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    spatial = size[2:]
    axes = [_base_coords(n, align_corners, theta) for n in reversed(spatial)]  # x, y[, z]
    from ...ops.join import meshgrid, stack

    mesh = meshgrid(*reversed(axes), indexing="ij")  # (D,) H, W grids of z, y, x
    ones = mesh[0] * 0 + 1
    base = stack([*reversed(mesh), ones], -1).reshape(1, -1, nd + 1)  # (1, P, nd + 1)
    grid = base.matmul(theta.transpose(1, 2))  # (N, P, nd)
    return grid.reshape(size[0], *spatial, nd)


def _unnormalize(coord: Tensor, n: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) * ((n - 1) / 2)
    return ((coord + 1) * n - 1) / 2


def _reflect(x: Tensor, lo: float, hi: float) -> Tensor:
    span = hi - lo
    if span <= 0:
        return x * 0
    d = _abs(x - lo)
    flips = floor(d / span).detach()
    extra = d - flips * span
    even = (flips % 2) == 0
    return where(even, extra + lo, hi - extra)


def _source(coord: Tensor, n: int, padding_mode: str, align_corners: bool) -> Tensor:
    x = _unnormalize(coord, n, align_corners)
    if padding_mode == "border":
        return x.clamp(0, n - 1)
    if padding_mode == "reflection":
        x = _reflect(x, 0.0, n - 1.0) if align_corners else _reflect(x, -0.5, n - 0.5)
        return x.clamp(0, n - 1)
    return x


def _gather(flat: Tensor, ix: Tensor, iy: Tensor, W: int, H: int, zeros: bool):
    """flat (N, C, H*W) at integer positions (ix, iy) (N, P): (N, C, P), 0 outside with zeros
    padding."""
    inside = (ix >= 0) & (ix <= W - 1) & (iy >= 0) & (iy <= H - 1)
    cx = ix.clamp(0, W - 1)
    cy = iy.clamp(0, H - 1)
    idx = (cy * W + cx).long().unsqueeze(1).expand(flat.shape[0], flat.shape[1], ix.shape[1])
    vals = flat.gather(2, idx)
    if zeros:
        vals = vals * inside.unsqueeze(1).to(flat.dtype)
    return vals


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample `input` at the normalised [-1, 1] positions of `grid`, as
    torch.nn.functional.grid_sample (4-D input).

    Shape: input (N, C, H, W), grid (N, H_out, W_out, 2) with (x, y) last -> (N, C, H_out,
    W_out). mode 'bilinear' or 'nearest'; padding_mode 'zeros', 'border' or 'reflection'.
    """
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported (bilinear, "
                                  "nearest)")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if input.ndim != 4:
        raise NotImplementedError(f"grid_sample: only 4-D input is supported, got "
                                  f"{input.ndim}-D")
    if grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample(): expected grid of shape (N, H_out, W_out, 2) for "
                           f"input {tuple(input.shape)}, got {tuple(grid.shape)}")
    align = bool(align_corners)
    N, C, H, W = input.shape
    ho, wo = grid.shape[1], grid.shape[2]
    g = grid.reshape(N, ho * wo, 2).to(input.dtype)
    x = _source(g[..., 0], W, padding_mode, align)
    y = _source(g[..., 1], H, padding_mode, align)
    flat = input.reshape(N, C, H * W)
    zeros = padding_mode == "zeros"
    if mode == "nearest":
        out = _gather(flat, round(x).detach(), round(y).detach(), W, H, zeros)
        return out.reshape(N, C, ho, wo)
    x0, y0 = floor(x).detach(), floor(y).detach()
    wx1, wy1 = x - x0, y - y0
    wx0, wy0 = 1 - wx1, 1 - wy1
    out = None
    for xi, yi, w in ((x0, y0, wx0 * wy0), (x0 + 1, y0, wx1 * wy0), (x0, y0 + 1, wx0 * wy1),
                      (x0 + 1, y0 + 1, wx1 * wy1)):
        term = _gather(flat, xi, yi, W, H, zeros) * w.unsqueeze(1)
        out = term if out is None else out + term
    return out.reshape(N, C, ho, wo)
