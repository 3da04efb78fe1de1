"""The legacy typed tensor constructors: `torchlite.LongTensor([1, 2])`, `FloatTensor(2, 3)`,
`torchlite.cuda.FloatTensor(...)`, and the type names that `Tensor.type()` reads and writes.

Old PyTorch code still uses them as constructors, in `isinstance` checks and in `x.type(...)`.
Each one is a class whose call returns a plain Tensor and whose `isinstance` check looks at the
tensor's dtype and device, as PyTorch's tensor types do.
"""

from __future__ import annotations

from typing import Any

from . import backend
from .ops import creation
from .tensor import Size, Tensor

# dtype name -> legacy class name (PyTorch's spelling)
_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
          "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
          "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


class TensorType(type):
    """The metaclass of the legacy constructors: calling one builds a Tensor of its dtype."""

    dtype: backend.dtype
    is_cuda: bool

    def __instancecheck__(cls, obj: Any) -> bool:
        return (isinstance(obj, Tensor) and obj.dtype == cls.dtype
                and obj.is_cuda == cls.is_cuda)

    def __repr__(cls) -> str:
        return f"<class '{type_string(cls.dtype, cls.is_cuda)}'>"

    def __call__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[override]
        dev = _device(cls, device)
        if len(args) == 1 and isinstance(args[0], Tensor):
            t = args[0]
            if t.dtype != cls.dtype or t.is_cuda != cls.is_cuda:
                raise TypeError(f"expected {type_string(cls.dtype, cls.is_cuda)} "
                                f"(got {t.type()})")
            return t  # the same tensor, as PyTorch's constructor aliases it
        if not args:
            return creation.empty(0, dtype=cls.dtype, device=dev)
        if isinstance(args[0], Size) and len(args) == 1 or _all_ints(args):
            size = tuple(args[0]) if isinstance(args[0], Size) else args
            return creation.zeros(*size, dtype=cls.dtype, device=dev)
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}(): expected sizes (ints) or one sequence of data, "
                            f"got {len(args)} arguments")
        return creation.tensor(args[0], dtype=cls.dtype, device=dev)


def _all_ints(args: tuple) -> bool:
    return all(isinstance(a, int) and not isinstance(a, bool) for a in args)


def _device(cls: TensorType, device: Any) -> backend.device:
    want = "cuda" if cls.is_cuda else "cpu"
    if device is None:
        return backend.to_device(want)
    dev = backend.to_device(device)
    if dev.type != want:
        raise RuntimeError(f"{cls.__name__}: legacy constructor expects device type {want}, "
                           f"got {dev.type}")
    return dev


def _make(dtype: backend.dtype, cuda: bool) -> TensorType:
    name = _NAMES[dtype.name]
    doc = (f"Legacy constructor of {dtype.name} tensors on the {'GPU' if cuda else 'CPU'}: "
           f"`{name}(data)`, `{name}(*sizes)` (filled with zeros, where PyTorch leaves memory "
           f"uninitialised) or `{name}()` (empty).")
    return TensorType(name, (), {"dtype": dtype, "is_cuda": cuda, "__doc__": doc,
                                 "__module__": "torchlite.cuda" if cuda else "torchlite"})


_BY_NAME: dict[tuple[str, bool], TensorType] = {
    (_NAMES[dt.name], cuda): _make(dt, cuda)
    for dt in (backend.float32, backend.float64, backend.float16, backend.int64, backend.int32,
               backend.int16, backend.int8, backend.uint8, backend.bool_)
    for cuda in (False, True)
}

FloatTensor, DoubleTensor, HalfTensor = (_BY_NAME[n, False] for n in
                                         ("FloatTensor", "DoubleTensor", "HalfTensor"))
LongTensor, IntTensor, ShortTensor, CharTensor = (
    _BY_NAME[n, False] for n in ("LongTensor", "IntTensor", "ShortTensor", "CharTensor"))
ByteTensor, BoolTensor = _BY_NAME["ByteTensor", False], _BY_NAME["BoolTensor", False]

CPU_TYPES = {name: cls for (name, cuda), cls in _BY_NAME.items() if not cuda}
CUDA_TYPES = {name: cls for (name, cuda), cls in _BY_NAME.items() if cuda}


def type_string(dtype: backend.dtype, cuda: bool) -> str:
    """PyTorch's type name for a dtype and device: 'torch.FloatTensor', 'torch.cuda.LongTensor'."""
    return ("torch.cuda." if cuda else "torch.") + _NAMES[dtype.name]


def _parse(name: str) -> TensorType:
    for prefix in ("torch.", "torchlite."):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            cuda = rest.startswith("cuda.")
            cls = _BY_NAME.get((rest[5:] if cuda else rest, cuda))
            if cls is not None:
                return cls
    raise ValueError(f"invalid type: {name!r}")


def cast(t: Tensor, target: Any) -> Tensor:
    """`t.type(target)`: a legacy type or its name moves and casts; a dtype only casts."""
    if isinstance(target, str):
        target = _parse(target)
    if isinstance(target, TensorType):
        if target.is_cuda != t.is_cuda:
            return t.to("cuda" if target.is_cuda else "cpu", target.dtype)
        return t.to(target.dtype)
    return t.to(target)
