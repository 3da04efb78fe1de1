"""Tensor element types: the dtype objects (torchlite.float32 ...), default dtype, finfo/iinfo.

bfloat16 resolves its NumPy type (ml_dtypes') on first use, so `import torchlite` does not load
ml_dtypes. torchlite.backend re-exports everything here.
"""

from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, as `torchlite.float32`. Wraps the NumPy dtype that stores it."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"torch.{self.name}"  # as PyTorch prints it (tensor reprs, messages)

    def __reduce__(self):  # dtypes are singletons, even through copy/deepcopy
        return (_dtype_by_name, (self.name,))


class _LazyDtype(dtype):
    """bfloat16: NumPy has no such type, ml_dtypes (0.6 s to import) provides it, so its NumPy
    type is resolved on first use and `import torchlite` stays fast."""

    __slots__ = ("_np",)

    def __init__(self, name: str, itemsize: int) -> None:
        self.name, self._np = name, None
        self.is_floating_point = self.is_signed = True
        self.itemsize = itemsize

    @property  # type: ignore[override]
    def np(self):
        if self._np is None:
            self._np = _bfloat16_np()
        return self._np


def _bfloat16_np():
    """The NumPy dtype of bfloat16 (ml_dtypes'), registered for lookups by NumPy dtype."""
    try:
        import ml_dtypes
    except ImportError as exc:
        raise TypeError("bfloat16 needs the ml_dtypes package: pip install 'torchlite[bf16]'"
                        ) from exc
    npdt = np.dtype(ml_dtypes.bfloat16)
    _BY_NP[npdt] = bfloat16
    return npdt


def is_bfloat16(np_dtype) -> bool:
    """True for ml_dtypes' bfloat16 (NumPy's kind 'V', so `kind == "f"` tests miss it)."""
    return np_dtype.kind == "V" and np_dtype.name == "bfloat16"


float16 = dtype("float16", np.float16)
bfloat16: dtype = _LazyDtype("bfloat16", 2)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
uint8 = dtype("uint8", np.uint8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)

_ALL_DTYPES = (float16, float32, float64, int8, uint8, int16, int32, int64, bool_)
_BY_NP = {d.np: d for d in _ALL_DTYPES}
_BY_NAME = {d.name: d for d in _ALL_DTYPES}
_BY_NAME["bfloat16"] = bfloat16
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)
# quantized element types (torchlite.ao.quantization): stored as the integer type they name, and
# never inferred from an array's dtype, so they stay out of _BY_NP
qint8, quint8 = dtype("qint8", np.int8), dtype("quint8", np.uint8)
qint32 = dtype("qint32", np.int32)
_BY_NAME.update(qint8=qint8, quint8=quint8, qint32=qint32)

_default_float = float32


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


class finfo:
    """Machine limits of a floating-point dtype, as `torch.finfo` (default: the default dtype)."""

    def __init__(self, type=None) -> None:  # noqa: A002 - PyTorch's argument name
        d = to_dtype(type) if type is not None else _default_float
        if not d.is_floating_point:
            raise TypeError(f"finfo: {d} is not a floating point dtype (use iinfo)")
        info = _finfo_of(d)
        self.dtype = d.name
        self.bits = info.bits
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.tiny)
        self.resolution = float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
                f"eps={self.eps}, smallest_normal={self.tiny}, dtype={self.dtype})")


def _finfo_of(d: dtype):
    if d is bfloat16:
        import ml_dtypes  # np.finfo does not know it
        return ml_dtypes.finfo(d.np)
    return np.finfo(d.np)


class iinfo:
    """Limits of an integer dtype, as `torch.iinfo`."""

    def __init__(self, type) -> None:  # noqa: A002 - PyTorch's argument name
        d = to_dtype(type)
        if d.is_floating_point or d.np.kind == "b":
            raise TypeError(f"iinfo: {d} is not an integer dtype (use finfo for floats)")
        info = np.iinfo(d.np)
        self.dtype = d.name
        self.bits, self.min, self.max = info.bits, int(info.min), int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating-point types are supported, got {d}")
    _default_float = d


def to_dtype(d) -> dtype:
    """Accept a torchlite dtype, a NumPy dtype or type, or a name like "float32". The Python
    types mean what they mean in PyTorch: float is float64 (whatever the default dtype), int
    is int64, bool is bool."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    try:
        if isinstance(d, str):
            return _BY_NAME[d]
        return _BY_NP[np.dtype(d)]
    except KeyError as exc:
        if not isinstance(d, str) and is_bfloat16(np.dtype(d)):
            return bfloat16
        raise TypeError(f"unsupported dtype {d!r}; torchlite has {sorted(_BY_NAME)}") from exc
    except TypeError as exc:
        raise TypeError(f"unsupported dtype {d!r}; torchlite has {sorted(_BY_NAME)}") from exc


def from_numpy_dtype(np_dtype) -> dtype:
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except KeyError:
        if is_bfloat16(np.dtype(np_dtype)):
            return bfloat16  # an array of it exists, so ml_dtypes is loaded: resolve on the spot
        raise TypeError(
            f"can't convert NumPy array of type {np.dtype(np_dtype)}; supported types are "
            + ", ".join(d.np.name for d in _ALL_DTYPES)
        ) from None
