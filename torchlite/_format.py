"""Printing tensors the way PyTorch does: tensor([0.5000, 1.0000], requires_grad=True)."""

from __future__ import annotations

import numpy as np

from . import backend


def _float_formatter(arr: np.ndarray):
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    absf = np.abs(finite)
    integral = bool(np.all(finite == np.round(finite)))
    amax, amin = float(absf.max()), float(absf.min()) if absf.size else 0.0
    nonzero = absf[absf > 0]
    nz_min = float(nonzero.min()) if nonzero.size else 0.0
    if integral and amax < 1e8:
        return lambda v: _special(v) or f"{v:.0f}."
    if amax >= 1e8 or (nz_min and nz_min < 1e-4) or (nz_min and amax / nz_min > 1e3):
        return lambda v: _special(v) or f"{v:.4e}"
    del amin
    return lambda v: _special(v) or f"{v:.4f}"


def _special(v) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return ""


def format_tensor(t) -> str:
    arr = backend.move(t._data, backend.CPU)
    prefix = "tensor("
    if arr.dtype.kind == "f":
        fmt = _float_formatter(arr)
        formatter = {"float_kind": fmt}
    elif arr.dtype.kind == "b":
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = {"int": lambda v: str(v)}
    if arr.size == 0:
        body = "[]" if arr.ndim == 1 else f"[], size={tuple(arr.shape)}"
    else:
        body = np.array2string(arr, separator=", ", formatter=formatter, prefix=prefix,
                               threshold=1000, edgeitems=3, max_line_width=80)
    extras = []
    if t._device.type != "cpu":
        extras.append(f"device='{t._device}'")
    default_hidden = {np.dtype(np.int64), np.dtype(np.bool_), backend.get_default_dtype().np}
    if arr.dtype not in default_hidden or (arr.size == 0 and arr.dtype.kind != "f"):
        extras.append(f"dtype={backend.from_numpy_dtype(arr.dtype)}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
