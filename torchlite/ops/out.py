"""PyTorch's `out=` argument. An op takes `out=None` as a keyword and, only when one is given,
hands the call to `with_out` (ops) or `creation_out` (factories): the usual call pays for one
`is not None` test, no wrapper."""

from __future__ import annotations

from .. import backend
from ..tensor import Tensor
from .promotion import dtype_category


def _any_requires_grad(values) -> bool:
    for v in values:
        if isinstance(v, Tensor):
            if v._requires_grad:
                return True
        elif isinstance(v, (list, tuple)) and _any_requires_grad(v):
            return True
    return False


def _check_out_grad(name: str, args, kwargs, out) -> None:
    from ..autograd import grad_mode

    if grad_mode._state.enabled and (_any_requires_grad(args)
                                     or _any_requires_grad(kwargs.values())
                                     or _any_requires_grad(out if isinstance(out, (list, tuple))
                                                           else (out,))):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )


def _write_out(name: str, result: Tensor, out, exact: bool, warn: bool = True) -> Tensor:
    """Copy `result` into `out` (cast to out's dtype, resized to the result's shape)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out._device != result._device:
        raise RuntimeError(
            f"{name}(): Expected out tensor to be on device {result._device}, but got "
            f"{out._device} instead (all tensors must be on the same device)"
        )
    rdt, odt = result._data.dtype, out._data.dtype
    if rdt != odt:
        if exact:
            raise RuntimeError(f"{name}(): Expected out tensor to have dtype "
                               f"{result.dtype}, but got {out.dtype} instead")
        if exact is not None and dtype_category(rdt) > dtype_category(odt):
            raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the "
                               f"desired output type {out.dtype}")
    shape = result._data.shape
    if out._data.shape != shape:
        if warn and out._data.size:
            import warnings

            warnings.warn(
                f"{name}(): An output with one or more elements was resized since it had shape "
                f"{list(out._data.shape)}, which does not match the required output shape "
                f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release "
                "outputs will not be resized unless they have zero elements. You can explicitly "
                "reuse an out tensor t by resizing it, inplace, to zero elements with "
                "t.resize_(0).", UserWarning, stacklevel=4)
        out._data = backend.xp_for(out._device).empty(shape, dtype=odt)
    out._data[...] = result._data
    out._bump()
    return out


def with_out(fn, name: str, out, args, kwargs=None, exact=False):
    """PyTorch's `out=` semantics for op `fn` called as `fn(*args, **kwargs)`.

    The result is written into `out` (a Tensor, or a tuple of them for ops that return several,
    as max(x, dim, out=(values, indices))) and `out` itself is returned. An `out` of another
    shape is resized (with PyTorch's warning when it held elements); the result's dtype must be
    castable to out's (no float into an integer tensor, nothing but bool into bool); `exact=True`
    asks for the same dtype, as mm and argmax do (per output where it is a tuple), and
    `exact=None` allows any cast, as sum and cumsum do (they accumulate in out's dtype); devices
    must match. With grad mode on, an argument or `out` that requires grad is a RuntimeError, as in
    PyTorch: out= functions are not differentiable.
    """
    from ..autograd import grad_mode

    kwargs = kwargs or {}
    _check_out_grad(name, args, kwargs, out)
    with grad_mode.no_grad():
        result = fn(*args, **kwargs)
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} "
                            f"Tensors, not {type(out).__name__}")
        ex = exact if isinstance(exact, tuple) else (exact,) * len(result)
        outs = []
        for r, o, e in zip(result, out, ex):  # (a loop: the warning's stacklevel counts frames)
            outs.append(_write_out(name, r, o, e))
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return _write_out(name, result, out, exact)


def creation_out(fn, name: str, out, args, kwargs):
    """PyTorch's `out=` for a factory (randn, arange, zeros, ...): the values are made in out's
    dtype and on its device (a different `dtype=`/`device=` is a RuntimeError) and written
    into `out`, resized without a warning; `out` is returned."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    if dtype is not None and backend.to_dtype(dtype).np != out._data.dtype:
        raise RuntimeError(f"{name}(): dtype {backend.to_dtype(dtype)} does not match dtype of "
                           f"out parameter ({out.dtype})")
    if device is not None and backend.device(device) != out._device:
        raise RuntimeError(f"{name}(): device {backend.device(device)} does not match device of "
                           f"out parameter ({out._device})")
    kwargs.pop("requires_grad", None)
    _check_out_grad(name, (), {}, out)
    result = fn(*args, dtype=out.dtype, device=out._device, **kwargs)
    return _write_out(name, result, out, False, warn=False)
