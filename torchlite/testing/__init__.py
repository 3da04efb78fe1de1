"""`torch.testing`: assert_close, which compares tensors (or NumPy arrays, numbers, and
sequences and mappings of them) within dtype-dependent tolerances and says where they differ,
and make_tensor, random test inputs of a given shape and dtype."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..tensor import Tensor
from .make import make_tensor

__all__ = ["assert_close", "make_tensor"]

# (rtol, atol) by dtype, PyTorch's defaults; a pair takes the larger of its two dtypes'
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


class _Mismatch(AssertionError):
    """A failed comparison; `where` is the path of the item inside nested containers."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message, self.where = message, where


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, msg=None) -> None:
    """Raise AssertionError unless `actual` and `expected` are close: |a - e| <= atol +
    rtol * |e| elementwise for floating tensors (defaults by dtype: float32 1.3e-6 / 1e-5,
    float64 1e-7 / 1e-7, float16 1e-3 / 1e-5, bfloat16 1.6e-2 / 1e-5), equal for integers and
    booleans, with the same shape, device and dtype. Sequences and mappings are compared item
    by item. `msg` (a string, or a function of the generated message) replaces the message."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'atol' if atol is None else 'rtol'}.")
    options = dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
                   check_dtype=check_dtype)
    try:
        _compare(actual, expected, options, "")
    except _Mismatch as exc:
        message = exc.message
        if exc.where:
            message += f"\n\nThe failure occurred for item {exc.where}"
        if msg is not None:
            message = msg(message) if callable(msg) else msg
        raise AssertionError(message) from None


def _compare(actual, expected, options: dict, where: str) -> None:
    if _is_array(actual) and _is_array(expected) and isinstance(actual, Tensor) == isinstance(
            expected, Tensor):
        return _compare_arrays(actual, expected, options, where)
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, options, where)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Mismatch("The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {missing}\n"
                            f"Additional keys in the actual mapping: {extra}", where)
        for key in expected:
            _compare(actual[key], expected[key], options, f"{where}[{key!r}]")
        return None
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != "
                            f"{len(expected)}", where)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, options, f"{where}[{i}]")
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def _is_array(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _is_number(x) -> bool:
    return isinstance(x, (bool, int, float, np.number, np.bool_))


def _is_sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


def _compare_numbers(actual, expected, options: dict, where: str) -> None:
    a, e = actual, expected
    if type(a) is not type(e) and options["check_dtype"] and not (
            isinstance(a, float) and isinstance(e, float)):
        raise _Mismatch(f"The values for attribute 'type' do not match: {type(a)} != "
                        f"{type(e)}.", where)
    floating = isinstance(a, float) or isinstance(e, float)
    rtol, atol = _tolerances(["float64"] if floating else [], options)
    if _close(float(a), float(e), rtol, atol, options["equal_nan"]):
        return
    diff = abs(float(a) - float(e))
    rel = diff / abs(float(e)) if e else math.inf
    kind = "close" if rtol or atol else "equal"
    body = f"Expected {e} but got {a}.\nAbsolute difference: {_num(diff, floating)}"
    if rtol or atol:
        body += f" (up to {atol} allowed)\nRelative difference: {rel} (up to {rtol} allowed)"
    else:
        body += f"\nRelative difference: {rel}"
    raise _Mismatch(f"Scalars are not {kind}!\n\n{body}", where)


def _num(v: float, floating: bool):
    return v if floating or not float(v).is_integer() else int(v)


def _close(a: float, e: float, rtol: float, atol: float, equal_nan: bool) -> bool:
    if math.isnan(a) or math.isnan(e):
        return equal_nan and math.isnan(a) and math.isnan(e)
    if a == e:
        return True
    return abs(a - e) <= atol + rtol * abs(e)


def _tolerances(dtype_names, options: dict) -> tuple[float, float]:
    if options["rtol"] is not None:
        return float(options["rtol"]), float(options["atol"])
    pairs = [_TOLERANCES.get(n, (0.0, 0.0)) for n in dtype_names] or [(0.0, 0.0)]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _compare_arrays(actual, expected, options: dict, where: str) -> None:
    if isinstance(actual, Tensor):
        if tuple(actual.shape) != tuple(expected.shape):
            raise _Mismatch(f"The values for attribute 'shape' do not match: {actual.shape!r} "
                            f"!= {expected.shape!r}.", where)
        if options["check_device"] and actual.device != expected.device:
            raise _Mismatch(f"The values for attribute 'device' do not match: "
                            f"{actual.device} != {expected.device}.", where)
        if options["check_dtype"] and actual.dtype != expected.dtype:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} "
                            f"!= {expected.dtype}.", where)
        names = [str(t.dtype).rsplit(".", 1)[-1] for t in (actual, expected)]
        a, e = (_host(t) for t in (actual, expected))
    else:
        if actual.shape != expected.shape:
            raise _Mismatch(f"The values for attribute 'shape' do not match: {actual.shape} != "
                            f"{expected.shape}.", where)
        if options["check_dtype"] and actual.dtype != expected.dtype:
            raise _Mismatch(f"The values for attribute 'dtype' do not match: {actual.dtype} "
                            f"!= {expected.dtype}.", where)
        names = [str(x.dtype) for x in (actual, expected)]
        a, e = np.asarray(actual), np.asarray(expected)
    rtol, atol = _tolerances(names, options)
    a64, e64 = _widen(a), _widen(e)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a64 - e64)
        ok = (a64 == e64) | (diff <= atol + rtol * np.abs(e64))
        if options["equal_nan"]:
            ok |= np.isnan(a64) & np.isnan(e64)
    if ok.all():
        return
    _report(a64, e64, diff, ok, rtol, atol, where, np.result_type(a, e))


def _host(t: Tensor) -> np.ndarray:
    t = t.detach()
    if getattr(t, "_sparse_layout", False):
        t = t.to_dense()
    from ..backend import to_host

    data = to_host(t._data)
    return data if data.dtype.kind in "biuf" else data.astype(np.float32)  # bfloat16


def _widen(x: np.ndarray) -> np.ndarray:
    """float64 for the arithmetic (int64 stays exact as it is)."""
    return x if x.dtype.kind in "iu" and x.dtype.itemsize == 8 else x.astype(np.float64)


def _report(a, e, diff, ok, rtol, atol, where, dtype) -> None:
    bad = ~ok
    n, k = ok.size, int(bad.sum())
    exact = rtol == 0 and atol == 0
    floating = dtype.kind == "f"
    # the relative difference in the inputs' precision (float32 for integers), as PyTorch
    # reports it
    work = dtype if floating else np.dtype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = (diff.astype(work) / np.abs(e).astype(work)).astype(np.float64)
    # the worst mismatch first; a NaN against a number counts as the worst
    diffs = np.where(bad, np.where(np.isnan(diff), np.inf, diff), -np.inf)
    i_abs = np.unravel_index(int(np.argmax(diffs)), a.shape) if a.ndim else ()
    rels = np.where(bad, np.nan_to_num(rel, nan=np.inf), -np.inf)
    i_rel = np.unravel_index(int(np.argmax(rels)), a.shape) if a.ndim else ()
    abs_max = diff[i_abs] if a.ndim else diff
    rel_max = rel[i_rel] if a.ndim else rel
    lines = [f"Mismatched elements: {k} / {n} ({100 * k / n:.1f}%)",
             f"Greatest absolute difference: {_num(float(abs_max), floating)} at index "
             f"{tuple(int(i) for i in i_abs)}" + ("" if exact else f" (up to {atol} allowed)"),
             f"Greatest relative difference: {float(rel_max)} at index "
             f"{tuple(int(i) for i in i_rel)}" + ("" if exact else f" (up to {rtol} allowed)")]
    kind = "equal" if exact else "close"
    raise _Mismatch(f"Tensor-likes are not {kind}!\n\n" + "\n".join(lines), where)
