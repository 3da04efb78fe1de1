"""The common call of a binary elementwise op, without the general path's machinery.

Most calls of `+ - * / **` in a training loop or a tutorial are the same case: two Tensors of
one float32 or float64 dtype holding NumPy arrays (or a Tensor and a Python float or int), no
views to resynchronise, no profiler or exporter recording, no anomaly mode. For that case the
general path (operand conversion, promotion, `Function.apply`'s loop over arguments, the
version bookkeeping's search over arguments) computes answers known in advance. The function
built here checks the case with a few identity tests, runs the op's forward on the arrays and
records the same graph node the general path would: same Context fields, same saved arrays,
same version entries, same edges. Anything else returns None and the caller takes the general
path, unchanged. Half dtypes, integers, CuPy arrays and NumPy scalars always go that way.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.anomaly import _state as _anomaly_state
from ..autograd.function import Context, _edge_for
from ..autograd.record import recorders as _recorders
from ..tensor import Tensor

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_ndarray = np.ndarray
_mode = grad_mode._state
_new = object.__new__


def binary_fast_path(cls, f, plan: dict, with_out: bool, nothing: bool):
    """`call(a, b)`: op `cls` on the common case (see the module docstring), or None.

    `f` is the op's forward over (xp, a, b), under the np.errstate the op asks for; `plan`,
    `with_out` and `nothing` are the factory's saving plan for `cls` (what its derivatives read
    for each combination of inputs that need a gradient).
    """

    def call(a, b):
        if isinstance(a, Tensor):
            da = a._data
            if type(da) is not _ndarray or a._view is not None:
                return None
            dt = da.dtype
            dev = a._device
            if isinstance(b, Tensor):
                db = b._data
                if type(db) is not _ndarray or db.dtype is not dt or b._device is not dev \
                        or b._view is not None:
                    return None
                ta = tb = True
            elif type(b) is float or type(b) is int:  # a Python number keeps a float dtype
                db = b
                ta, tb = True, False
            else:
                return None
        elif isinstance(b, Tensor) and (type(a) is float or type(a) is int):
            da, db = a, b._data
            if type(db) is not _ndarray or b._view is not None:
                return None
            dt = db.dtype
            dev = b._device
            ta, tb = False, True
        else:
            return None
        if (dt is not _F32 and dt is not _F64) or _recorders or _anomaly_state.enabled:
            return None
        try:
            out = f(np, da, db)
        except ValueError:  # shapes that do not broadcast: the general path words the error
            return None
        if out.dtype is not dt:  # NumPy 1's value-based casting widens for a huge Python float
            return None
        # Tensor._make, written out (its call is a tenth of this function's cost); a 0-d result
        # is a NumPy scalar, kept as saved, its Tensor holding a 0-d array
        t = _new(Tensor)
        t._data = out if type(out) is _ndarray else np.asarray(out)
        t._device = dev
        t._requires_grad = False
        t.grad = None
        t.grad_fn = None
        t._out_index = 0
        t._vbox = [0]
        t._hooks = None
        t._acc = None
        ra = ta and a._requires_grad
        rb = tb and b._requires_grad
        if (ra or rb) and _mode.enabled:
            ctx = Context(cls, (ra, rb, False))
            ctx.next_edges = (_edge_for(a) if ra else None, _edge_for(b) if rb else None, None)
            ctx.ma = (da.shape, dt) if ta else None
            ctx.mb = (db.shape, dt) if tb else None
            if not nothing:
                k = plan[(ra, rb, False)]
                if with_out:
                    saved = (da if k[0] else None, db if k[1] else None, out if k[2] else None)
                else:
                    saved = (da if k[0] else None, db if k[1] else None)
                ctx._saved = saved
                # what _record_versions finds: the first argument holding the array, else the
                # output
                versions = []
                for i, s in enumerate(saved):
                    if s is None:
                        continue
                    if ta and s is da:
                        box, j = a._vbox, 0
                    elif tb and s is db:
                        box, j = b._vbox, 1
                    elif s is out:
                        box, j = t._vbox, -1
                    else:
                        continue
                    versions.append((i, (box, box[0]), j))
                if versions:
                    ctx._versions = versions
            t._requires_grad = True
            t.grad_fn = ctx
        return t

    return call
