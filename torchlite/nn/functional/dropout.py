"""Dropout variants. CPU masks come from the generator's uniforms, GPU masks from its seeds."""

from __future__ import annotations

import warnings

import numpy as np

from ... import backend
from ...autograd.function import Op
from ...random import _rng
from ...tensor import Tensor
from ._util import check_float, maybe_inplace

_SELU_NEG = 1.7580993408473766  # -(SELU's negative saturation value) = scale * alpha


class MulMask(Op):
    """y = x * mask + shift (mask and shift are fixed arrays; d y / d x = mask)."""

    @staticmethod
    def forward(ctx, x, mask, shift):
        ctx.mask = mask
        with np.errstate(invalid="ignore"):  # a dropped inf: inf * 0 = NaN, as PyTorch
            y = x * mask
        if shift is not None:
            y += shift
        return y

    @staticmethod
    def backward(ctx, g):
        with np.errstate(invalid="ignore"):
            return g * ctx.mask, None, None


def _check_p(p: float) -> float:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _keep_mask(x: Tensor, shape, p: float, generator):
    """1.0 where kept, 0.0 where dropped, as an array of x's dtype on x's device."""
    keep = _rng(generator).random(shape, dtype=np.float32) >= p
    return backend.move(keep.astype(x._data.dtype), x._device)


def _on_gpu(a) -> bool:
    return backend.get_xp(a) is not np


def _kernels():
    from ..._cuda_kernels import dropout

    return dropout


def _gpu_mask(dtype, shape, p: float, generator):
    """The scaled mask drawn on the GPU (Philox, one launch) from one 64-bit seed taken from
    the generator: reproducible under manual_seed, but not the CPU's mask (as in PyTorch, where
    CPU and CUDA dropout masks differ too). Moving a CPU-drawn mask would cost a host-to-device
    copy per call."""
    k = _kernels()
    return k.dropout_mask(shape, p, seed=k.draw_seed(generator), dtype=dtype)


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, mask_shape, fn: str,
             generator=None) -> Tensor:
    p = _check_p(p)
    check_float(input, fn)
    if not training or p == 0.0:
        return input
    if _on_gpu(input._data) and input._data.dtype.str in ("<f4", "<f8"):  # the kernel's types
        mask = _gpu_mask(input._data.dtype, mask_shape, p, generator)
    else:
        keep = _keep_mask(input, mask_shape, p, generator)
        mask = keep * (0.0 if p == 1.0 else 1.0 / (1.0 - p))
    return maybe_inplace(input, lambda t: MulMask.apply(t, mask, None), inplace)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
            generator=None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (in training)."""
    return _dropout(input, p, training, inplace, tuple(input.shape), "dropout", generator)


def _feature_shape(input: Tensor, batched_ndim: int, fn: str):
    nd = input.dim()
    if nd not in (batched_ndim - 1, batched_ndim):
        raise RuntimeError(
            f"{fn}: Expected {batched_ndim - 1}D or {batched_ndim}D input, but received a "
            f"{nd}D input. Note that {fn} exists to provide channel-wise dropout on inputs with "
            f"{batched_ndim - 2} spatial dimension(s)."
        )
    shape = tuple(input.shape)
    lead = 2 if nd == batched_ndim else 1  # (N, C, ...) or unbatched (C, ...)
    return shape[:lead] + (1,) * (nd - lead)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels. Shape: (N, C, L) or (C, L)."""
    shape = _feature_shape(input, 3, "dropout1d")
    return _dropout(input, p, training, inplace, shape, "dropout1d", generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels. Shape: (N, C, H, W) or (C, H, W)."""
    nd = input.dim()
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
        shape = tuple(input.shape[:2]) + (1,)
    elif nd == 4:
        shape = tuple(input.shape[:2]) + (1, 1)
    else:
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2,
        )
        shape = tuple(input.shape[:2]) + (1,) * (nd - 2) if nd >= 2 else tuple(input.shape)
    return _dropout(input, p, training, inplace, shape, "dropout2d", generator)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels. Shape: (N, C, D, H, W) or (C, D, H, W)."""
    shape = _feature_shape(input, 5, "dropout3d")
    return _dropout(input, p, training, inplace, shape, "dropout3d", generator)


def _alpha(input: Tensor, p: float, training: bool, inplace: bool, mask_shape, fn: str,
           generator=None) -> Tensor:
    """Dropped units take SELU's saturation value; an affine map keeps mean 0 and variance 1."""
    p = _check_p(p)
    check_float(input, fn)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return maybe_inplace(input, lambda t: t * 0.0, inplace)
    keep = _keep_mask(input, mask_shape, p, generator)
    a = 1.0 / ((_SELU_NEG**2 * p + 1.0) * (1.0 - p)) ** 0.5
    # y = a * (x * keep + (keep - 1) * alpha') + alpha' * a * p, alpha' = SELU_NEG
    shift = (keep - 1.0) * (_SELU_NEG * a) + _SELU_NEG * a * p
    scale = keep * a
    return maybe_inplace(input, lambda t: MulMask.apply(t, scale, shift), inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  *, generator=None) -> Tensor:
    """Dropout for SELU networks (keeps the self-normalising mean and variance)."""
    return _alpha(input, p, training, inplace, tuple(input.shape), "alpha_dropout", generator)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False, *, generator=None) -> Tensor:
    """Alpha dropout of whole channels. Shape: (N, C, *)."""
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
    return _alpha(input, p, training, inplace, shape, "feature_alpha_dropout", generator)
