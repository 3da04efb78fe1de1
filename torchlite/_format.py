"""Printing tensors the way PyTorch does: tensor([0.5000, 1.0000], requires_grad=True).

The layout follows PyTorch's printer with its default options (precision 4, threshold 1000,
3 edge items, line width 80; `set_printoptions` changes them): one width for every element so
that columns line up, integral floats as `1.`, scientific notation when the magnitudes span
more than 1000x (or exceed 1e8, or go below 1e-4), and long tensors summarised with `...`.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend

_PRECISION = 4
_THRESHOLD = 1000
_EDGEITEMS = 3
_LINEWIDTH = 80
_SCI_MODE: bool | None = None  # None: chosen from the values shown
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
             "full": (4, math.inf, 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """torch.set_printoptions: digits after the point, the element count above which a tensor
    is summarised, the items kept at each edge when it is, the line width, a profile
    ('default', 'short', 'full') to start from, and sci_mode (True/False forces scientific
    notation on or off; None chooses)."""
    global _PRECISION, _THRESHOLD, _EDGEITEMS, _LINEWIDTH, _SCI_MODE
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}; expected one of "
                             f"{', '.join(_PROFILES)}")
        _PRECISION, _THRESHOLD, _EDGEITEMS, _LINEWIDTH = _PROFILES[profile]
    if precision is not None:
        _PRECISION = int(precision)
    if threshold is not None:
        _THRESHOLD = threshold
    if edgeitems is not None:
        _EDGEITEMS = int(edgeitems)
    if linewidth is not None:
        _LINEWIDTH = int(linewidth)
    _SCI_MODE = sci_mode


class _Formatter:
    """Decides the notation and the common width from the values that will be shown."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind in "fV"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        if not self.floating:
            for v in values.ravel().tolist():
                self.width = max(self.width, len(str(v)))
            return
        vals = values.astype(np.float64).ravel()
        shown = vals[np.isfinite(vals) & (vals != 0)]
        if shown.size == 0:
            return
        mags = np.abs(shown)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if _SCI_MODE is not None:
            self.sci_mode = _SCI_MODE
        elif self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        for v in shown.tolist():
            if self.sci_mode:
                n = len(f"{v:.{_PRECISION}e}")
            elif self.int_mode:
                n = len(f"{v:.0f}") + 1  # the trailing "."
            else:
                n = len(f"{v:.{_PRECISION}f}")
            self.width = max(self.width, n)

    def format(self, v) -> str:
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:{self.width}.{_PRECISION}e}"
        elif self.int_mode:
            s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{v:.{_PRECISION}f}"
        return s.rjust(self.width)


def _summarized(arr: np.ndarray) -> np.ndarray:
    """Only the elements a summarised print shows (the first and last edge items per dim)."""
    for axis, n in enumerate(arr.shape):
        if n > 2 * _EDGEITEMS:
            idx = list(range(_EDGEITEMS)) + list(range(n - _EDGEITEMS, n))
            arr = np.take(arr, idx, axis=axis)
    return arr


def _render(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    n = arr.shape[0]
    cut = summarize and n > 2 * _EDGEITEMS
    if arr.ndim == 1:
        if cut:
            items = [fmt.format(v) for v in arr[:_EDGEITEMS].tolist()] + [" ..."] + \
                [fmt.format(v) for v in arr[n - _EDGEITEMS:].tolist()]
        else:
            items = [fmt.format(v) for v in arr.tolist()]
        per_line = max(1, (_LINEWIDTH - indent) // (fmt.width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(_EDGEITEMS)) + [None] + list(range(n - _EDGEITEMS, n)) if cut else \
        list(range(n))
    parts = ["..." if i is None else _render(arr[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    # a suffix that would overflow the line goes on a line of its own, as PyTorch does
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def format_tensor(t) -> str:
    arr = backend.move(t._data, backend.CPU)
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    default = backend.get_default_dtype().np
    dtype_str = f"dtype={backend.from_numpy_dtype(arr.dtype)}"
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if arr.dtype != default:
            suffixes.append(dtype_str)
        body = "[]"
    else:
        if arr.dtype not in (default, np.dtype(np.int64), np.dtype(np.bool_)):
            suffixes.append(dtype_str)
        summarize = arr.size > _THRESHOLD
        fmt = _Formatter(_summarized(arr) if summarize else arr)
        body = _render(arr, indent, summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
