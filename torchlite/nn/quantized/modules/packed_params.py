"""The storage of a quantized layer's weight: its integers, scales and zero points, and the
float bias, as buffers, so they save, load and move with the module. Weights stay int8 in memory
and on disk; the float32-BLAS path turns them into float32 integers only for the product, and
the integer-GEMM path keeps an int8-sized copy pre-packed in the layout its kernel reads (as
PyTorch pre-packs for fbgemm), made on first use and dropped whenever the weight changes."""

from __future__ import annotations

import numpy as np

from .... import backend
from ....ao.quantization.int8_matmul import GemmWeight
from ....ao.quantization.qtensor import (
    QRANGE,
    QTensor,
    per_channel_affine,
    per_channel_symmetric,
    per_tensor_affine,
    quantize_per_channel,
    quantize_per_tensor,
)
from ....tensor import Tensor
from ...module import Module


def _t(arr) -> Tensor:
    return Tensor._make(np.asarray(arr), backend.CPU)


class PackedParams(Module):
    """weight (int8), weight_scale (float64 [1] or [C]), weight_zero_point (int64),
    weight_axis (int64, -1 for per tensor), bias (float32 or absent)."""

    def __init__(self, weight_shape: tuple, per_channel: bool = False, bias: bool = True,
                 dtype=backend.qint8) -> None:
        super().__init__()
        self.qdtype = backend.to_dtype(dtype)
        n = weight_shape[0] if per_channel else 1
        self.register_buffer("weight", _t(np.zeros(weight_shape, self.qdtype.np)))
        self.register_buffer("weight_scale", _t(np.ones(n, np.float64)))
        self.register_buffer("weight_zero_point", _t(np.zeros(n, np.int64)))
        self.register_buffer("weight_axis", _t(np.array(0 if per_channel else -1, np.int64)))
        self.register_buffer("bias", _t(np.zeros(weight_shape[0], np.float32)) if bias else None)

    @property
    def axis(self) -> int | None:
        a = int(self.weight_axis._data)
        return None if a < 0 else a

    def gemm_weight(self, full_range: bool, channels_last: bool = False) -> GemmWeight | None:
        """The weight pre-packed for the integer GEMM (for activations up to 255 when
        `full_range`, else up to 127; a convolution's columns ordered (ky, kx, c) when
        `channels_last`), cached; None when it is not a CPU array or its channels are not the
        rows of the (out, in) matrix."""
        cache = self.__dict__.setdefault("_gemm_cache", {})
        packed = cache.get((full_range, channels_last))
        if packed is None:
            w = self.weight._data
            if not isinstance(w, np.ndarray) or self.axis not in (None, 0):
                return None
            rows = np.moveaxis(w, 1, -1) if channels_last else w
            packed = cache[full_range, channels_last] = GemmWeight(
                rows.reshape(w.shape[0], -1), self.weight_zero_point._data, full_range)
            scale = self.weight_scale._data.astype(np.float32)
            packed.scale = scale[0] if self.axis is None else scale
            if packed.b.dtype == w.dtype and w.ndim == 2:
                # the same bytes transposed: the buffer becomes a view of the packed copy, so
                # the layer holds its weight once (saving writes it out C-ordered as before)
                self.weight._data = packed.b.T
        return packed

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_gemm_cache", None)  # rebuilt on first use; copies need not carry it
        return state

    def _drop_packed(self) -> None:
        self.__dict__.pop("_gemm_cache", None)

    def _apply(self, fn, recurse: bool = True):
        self._drop_packed()
        return super()._apply(fn, recurse)

    def set_weight_bias(self, w: QTensor, b: Tensor | None) -> None:
        self._drop_packed()
        if w.dtype is not self.qdtype:
            raise RuntimeError(f"expected a {self.qdtype} weight, got {w.dtype}")
        dev = w.device
        self.weight = Tensor._make(w._data, dev)
        xp = backend.xp_for(dev)
        if w.qscheme() is per_tensor_affine:
            scale = xp.asarray([w.q_scale()], np.float64)
            zp = xp.asarray([w.q_zero_point()], np.int64)
            axis = -1
        else:
            scale, zp, axis = w._scale.astype(np.float64), w._zero_point, w._axis
        self.weight_scale = Tensor._make(scale, dev)
        self.weight_zero_point = Tensor._make(zp.astype(np.int64), dev)
        self.weight_axis = Tensor._make(xp.asarray(axis, np.int64), dev)
        if b is not None:
            self.bias = Tensor._make(b.detach()._data.astype(np.float32), dev)
        elif "bias" in self._buffers:
            self.bias = None

    def qweight(self) -> QTensor:
        w = self.weight._data
        if self.axis is None:
            return QTensor._wrap(w, self.weight._device, self.qdtype, per_tensor_affine,
                                 float(self.weight_scale._data[0]),
                                 int(self.weight_zero_point._data[0]))
        return QTensor._wrap(w, self.weight._device, self.qdtype, per_channel_affine,
                             self.weight_scale._data.astype(np.float64),
                             self.weight_zero_point._data.astype(np.int64), self.axis)

    def float_weight(self):
        """(w - zero_point) as float32 integers, and a bound on their magnitude."""
        w = self.weight._data.astype(np.float32)
        lo, hi = QRANGE[self.qdtype]
        z = self.weight_zero_point._data
        if bool((z != 0).any()):
            zf = z.astype(np.float32).reshape((-1,) + (1,) * (w.ndim - 1))
            w -= zf
            return w, hi - lo
        return w, max(-lo, hi)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        self._drop_packed()
        # per channel or per tensor is the file's choice: take the stored qparams' shapes
        n = None
        for name in ("weight_scale", "weight_zero_point"):
            v = state_dict.get(prefix + name)
            if isinstance(v, Tensor) and v.ndim == 1:
                n = v.shape[0]
                buf = getattr(self, name)
                setattr(self, name, Tensor._make(
                    backend.xp_for(buf.device).zeros(n, buf._data.dtype), buf.device))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def quantize_weight(weight: Tensor, observer) -> QTensor:
    """The weight quantized with the qparams its (already run) weight observer computed."""
    scale, zp = observer.calculate_qparams()
    dtype = observer.dtype
    if observer.qscheme not in (per_channel_affine, per_channel_symmetric):
        return quantize_per_tensor(weight.detach().float(), float(scale._data[0]),
                                   int(zp._data[0]), dtype)
    return quantize_per_channel(weight.detach().float(), scale.double(), zp.long(),
                                observer.ch_axis, dtype)


class PackedParamsOwner(Module):
    """A layer holding PackedParams without them being child modules, so the layer stays a
    leaf (as PyTorch's quantized layers are to hooks, printing and summaries); their tensors
    still save, load and move, under `<layer>.<name>.` (`_packed_params` for one weight)."""

    def _set_packed(self, packed: PackedParams, name: str = "_packed_params") -> None:
        if "_packed" not in self.__dict__:
            object.__setattr__(self, "_packed", {})
        self._packed[name] = packed
        object.__setattr__(self, name, packed)

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for name, packed in self._packed.items():
            packed.state_dict(destination=destination, prefix=f"{prefix}{name}.",
                              keep_vars=keep_vars)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        rest = dict(state_dict)
        for name, packed in self._packed.items():
            inner = f"{prefix}{name}."
            packed._load_from_state_dict(state_dict, inner, local_metadata, strict,
                                         missing_keys, unexpected_keys, error_msgs)
            rest = {k: v for k, v in rest.items() if not k.startswith(inner)}
        super()._load_from_state_dict(rest, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def _apply(self, fn, recurse: bool = True):
        super()._apply(fn, recurse)
        for packed in self._packed.values():
            packed._apply(fn)
        return self

    def __deepcopy__(self, memo):
        import copy

        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            object.__setattr__(new, k, copy.deepcopy(v, memo))
        return new


class PackedWeightLayer(PackedParamsOwner):
    """A quantized layer with one packed weight (Linear, Conv2d, dynamic Linear): PyTorch's
    `weight()`, `bias()` and `set_weight_bias(w, b)` accessors."""

    def weight(self):
        return self._packed_params.qweight()

    def bias(self) -> Tensor | None:
        return self._packed_params.bias

    def set_weight_bias(self, w, b) -> None:
        self._packed_params.set_weight_bias(w, b)
