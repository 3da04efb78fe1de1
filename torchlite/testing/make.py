"""torch.testing.make_tensor: a random tensor of a shape and dtype for tests."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor

# PyTorch's default ranges: [-9, 9] for signed and floating types, [0, 10) for unsigned
_LOW, _HIGH = -9, 9


def make_tensor(*shape, dtype, device, low=None, high=None, requires_grad: bool = False,
                noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format=None) -> Tensor:
    """Values drawn uniformly (from the global generator): floats in [low, high), integers in
    [low, high) (defaults -9 and 10; unsigned 0 and 10), booleans evenly. `noncontiguous`
    returns a strided view of a larger tensor; `exclude_zero` replaces zeros (with 1 for
    integers, the dtype's tiny for floats)."""
    import torchlite

    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torchlite.Size)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if low is not None and high is not None and low > high:
        raise ValueError(f"make_tensor: low must be less than or equal to high, but got "
                         f"low={low} and high={high}")
    if requires_grad and not dtype.is_floating_point:
        raise ValueError("make_tensor: requires_grad=True is not supported for non-floating "
                         f"dtypes, got {dtype}")
    full = shape[:-1] + (shape[-1] * 2,) if noncontiguous and shape and shape[-1] > 0 else shape
    if dtype == torchlite.bool:
        t = torchlite.randint(0, 2, full, device=device).to(torchlite.bool)
    elif dtype.is_floating_point:
        lo = _LOW if low is None else low
        hi = _HIGH if high is None else high
        t = torchlite.rand(full, dtype=torchlite.float64, device=device) * (hi - lo) + lo
        t = t.to(dtype)
    else:
        unsigned = dtype == torchlite.uint8
        lo = (0 if unsigned else _LOW) if low is None else int(np.ceil(low))
        hi = 10 if high is None else int(np.ceil(high))  # exclusive
        if hi <= lo:
            raise ValueError(f"make_tensor: the range [{low}, {high}) holds no integer")
        t = torchlite.randint(lo, hi, full, dtype=dtype, device=device)
    if exclude_zero:
        if dtype.is_floating_point:
            tiny = float(np.finfo(np.float16 if dtype == torchlite.float16 else np.float32).tiny)
            t = torchlite.where(t == 0, torchlite.full_like(t, tiny), t)
        elif dtype != torchlite.bool:
            t = torchlite.where(t == 0, torchlite.ones_like(t), t)
    if noncontiguous and shape and shape[-1] > 0:
        t = t[..., ::2]
    if requires_grad:
        t.requires_grad_(True)
    return t
