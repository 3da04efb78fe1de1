"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2
and 3 dims, each F.pad with a fixed mode over the last 1, 2 or 3 dims."""

from __future__ import annotations

from ...ops.pad import pad
from ...tensor import Tensor
from ..module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _PadNd(Module):
    """F.pad(input, padding, mode, value); an int pads every side of the last nd dims, a tuple
    is (left, right[, top, bottom[, front, back]])."""

    _nd = 1
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0) -> None:
        super().__init__()
        n = 2 * self._nd
        pads = (padding,) * n if isinstance(padding, int) else tuple(int(p) for p in padding)
        if len(pads) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a {n}-tuple, "
                             f"got {padding!r}")
        self.padding = pads
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self._mode,
                   self.value if self._mode == "constant" else None)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_PadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)


class ZeroPad1d(_ZeroPadNd):
    """Zero padding. Shape: (N, C, W) or (C, W), the last 1 dim(s) padded."""

    _nd = 1
    _mode = "constant"


class ZeroPad2d(_ZeroPadNd):
    """Zero padding. Shape: (N, C, H, W) or (C, H, W), the last 2 dim(s) padded."""

    _nd = 2
    _mode = "constant"


class ZeroPad3d(_ZeroPadNd):
    """Zero padding. Shape: (N, C, D, H, W) or (C, D, H, W), the last 3 dim(s) padded."""

    _nd = 3
    _mode = "constant"


class ConstantPad1d(_ConstantPadNd):
    """Padding with the constant `value`. Shape: (N, C, W) or (C, W), the last 1 dim(s) padded."""

    _nd = 1
    _mode = "constant"


class ConstantPad2d(_ConstantPadNd):
    """Padding with the constant `value`.

    Shape: (N, C, H, W) or (C, H, W), the last 2 dim(s) padded.
    """

    _nd = 2
    _mode = "constant"


class ConstantPad3d(_ConstantPadNd):
    """Padding with the constant `value`.

    Shape: (N, C, D, H, W) or (C, D, H, W), the last 3 dim(s) padded.
    """

    _nd = 3
    _mode = "constant"


class ReflectionPad1d(_PadNd):
    """Padding by reflection of the input at its edges.

    Shape: (N, C, W) or (C, W), the last 1 dim(s) padded.
    """

    _nd = 1
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ReflectionPad2d(_PadNd):
    """Padding by reflection of the input at its edges.

    Shape: (N, C, H, W) or (C, H, W), the last 2 dim(s) padded.
    """

    _nd = 2
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ReflectionPad3d(_PadNd):
    """Padding by reflection of the input at its edges.

    Shape: (N, C, D, H, W) or (C, D, H, W), the last 3 dim(s) padded.
    """

    _nd = 3
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ReplicationPad1d(_PadNd):
    """Padding by repeating the input's edge values.

    Shape: (N, C, W) or (C, W), the last 1 dim(s) padded.
    """

    _nd = 1
    _mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ReplicationPad2d(_PadNd):
    """Padding by repeating the input's edge values.

    Shape: (N, C, H, W) or (C, H, W), the last 2 dim(s) padded.
    """

    _nd = 2
    _mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class ReplicationPad3d(_PadNd):
    """Padding by repeating the input's edge values.

    Shape: (N, C, D, H, W) or (C, D, H, W), the last 3 dim(s) padded.
    """

    _nd = 3
    _mode = "replicate"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class CircularPad1d(_PadNd):
    """Circular padding (the input wraps around).

    Shape: (N, C, W) or (C, W), the last 1 dim(s) padded.
    """

    _nd = 1
    _mode = "circular"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class CircularPad2d(_PadNd):
    """Circular padding (the input wraps around).

    Shape: (N, C, H, W) or (C, H, W), the last 2 dim(s) padded.
    """

    _nd = 2
    _mode = "circular"

    def __init__(self, padding) -> None:
        super().__init__(padding)


class CircularPad3d(_PadNd):
    """Circular padding (the input wraps around).

    Shape: (N, C, D, H, W) or (C, D, H, W), the last 3 dim(s) padded.
    """

    _nd = 3
    _mode = "circular"

    def __init__(self, padding) -> None:
        super().__init__(padding)
