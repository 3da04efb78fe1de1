"""Quantized Conv2d (and its fused ConvReLU2d): quint8 in, int8 weight, quint8 out.

The integer convolution runs as im2col of the uint8 input and one product on onnxruntime's
integer GEMM (NumPy arrays, onnxruntime installed, groups=1), or else as torchlite's float32
convolution over integer-valued arrays (exact while partial sums stay below 2**24; longer
reductions are split over input channels); both give the same integers. Zero padding pads with
the input's zero point, as PyTorch.
"""

from __future__ import annotations

import numpy as np

from .... import _workspace as ws
from .... import backend
from ....ao.quantization.int8_matmul import chunk_length, use_integer_gemm
from ....autograd.grad_mode import no_grad
from ....tensor import Tensor
from ...functional import conv as Fc
from .base import QuantizedOutput, check_quantized, output_qparams, weight_observer_for
from .linear_kernels import requantize
from .packed_params import PackedParams, PackedWeightLayer, quantize_weight


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class Conv2d(PackedWeightLayer, QuantizedOutput):
    """A quantized `nn.Conv2d`, as `torch.ao.nn.quantized.Conv2d` (zeros padding only).

    Shape: input (N, C_in, H, W) quint8 -> (N, C_out, H_out, W_out) quint8.
    """

    _relu = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=backend.qint8, per_channel: bool = False) -> None:
        super().__init__()
        if padding_mode != "zeros":
            raise NotImplementedError(f"quantized Conv2d: padding_mode {padding_mode!r} is not "
                                      "supported (only 'zeros')")
        if isinstance(padding, str):
            raise NotImplementedError("quantized Conv2d: string padding is not supported")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _pair(kernel_size), _pair(stride)
        self.padding, self.dilation = _pair(padding), _pair(dilation)
        self.groups, self.padding_mode = groups, padding_mode
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self._set_packed(PackedParams(shape, per_channel, bias, dtype))

    def _int_conv(self, a, w, wmax: int):
        """Exact integer convolution of float32 integer arrays, split over input channels
        when one product could exceed float32's exact range."""
        kk = self.kernel_size[0] * self.kernel_size[1]
        cin = w.shape[1]
        step = max(1, chunk_length(255, wmax) // kk)
        dev = backend.array_device(a)

        def conv(x, k):
            return Fc.conv2d(Tensor._make(x, dev), Tensor._make(k, dev), None, self.stride,
                             self.padding, self.dilation, self.groups)._data

        with no_grad():
            if cin <= step or self.groups != 1:
                return conv(a, w)
            out = None
            for i in range(0, cin, step):
                part = conv(a[:, i:i + step], w[:, i:i + step]).astype(np.float64)
                out = part if out is None else out + part
            return out

    def forward(self, x):
        x = check_quantized(x, self)
        if x.ndim != 4:
            raise ValueError(f"{type(self).__name__} (quantized): expected a 4-d input "
                             f"(N, C, H, W), got shape {list(x.shape)}")
        s, z = self.out_qparams
        q = self._conv_on_integer_gemm(x, s, z)
        if q is None:
            a = x._data.astype(np.float32) - np.float32(x._zero_point)
            w, wmax = self._packed_params.float_weight()
            acc = self._int_conv(a, w, wmax)
            q = requantize(backend.get_xp(a), acc, x._scale, self._packed_params, s, z,
                           self._relu, backend.quint8, 1)
        return self._wrap(q, x)

    def _conv_on_integer_gemm(self, x, out_scale: float, out_zp: int):
        """The quantized output through im2col on the uint8 input (padded with its zero point)
        and one integer GEMM, or None where that path does not apply (CuPy, groups, no
        onnxruntime, a reduction too long for int32)."""
        xq = x._data
        c, (kh, kw) = self.in_channels, self.kernel_size
        if (self.groups != 1 or xq.dtype != np.uint8 or not xq.size
                or c * kh * kw * 255 * 255 >= 2 ** 31 or not use_integer_gemm(backend.get_xp(xq))):
            return None
        gemm = self._packed_params.gemm_weight(True, channels_last=True)
        if gemm is None:
            return None
        (ph, pw), (sh, sw), (dh, dw) = self.padding, self.stride, self.dilation
        n, _, h, w = xq.shape
        ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if ho <= 0 or wo <= 0:
            return None
        # channels last, so that each window's copy below moves whole runs of channels
        xn = ws.empty(np, (n, h + 2 * ph, w + 2 * pw, c), np.uint8)
        if ph or pw:
            xn[...] = np.uint8(x._zero_point)
        xn[:, ph:ph + h, pw:pw + w] = xq.transpose(0, 2, 3, 1)
        cols = ws.empty(np, (n, ho, wo, kh, kw, c), np.uint8)  # im2col, columns (ky, kx, c)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, :, i, j] = xn[:, i * dh:i * dh + sh * (ho - 1) + 1:sh,
                                         j * dw:j * dw + sw * (wo - 1) + 1:sw]
        acc = gemm.matmul(cols.reshape(n * ho * wo, -1), x._zero_point)
        q = requantize(np, acc.reshape(n, ho, wo, -1), x._scale, self._packed_params,
                       out_scale, out_zp, self._relu, backend.quint8, -1)
        return np.ascontiguousarray(q.transpose(0, 3, 1, 2))

    def _get_name(self) -> str:
        return "Quantized" + type(self).__name__

    def extra_repr(self) -> str:
        s, z = self.out_qparams
        out = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
               f"stride={self.stride}, scale={s}, zero_point={z}")
        if self.padding != (0, 0):
            out += f", padding={self.padding}"
        if self.dilation != (1, 1):
            out += f", dilation={self.dilation}"
        if self.groups != 1:
            out += f", groups={self.groups}"
        return out

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        """The quantized layer of an observed float (or QAT) Conv2d."""
        from ...intrinsic import ConvReLU2d as FusedConvReLU2d

        conv = mod[0] if isinstance(mod, FusedConvReLU2d) else mod
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise NotImplementedError(f"quantized Conv2d: padding {conv.padding!r} / "
                                      f"padding_mode {conv.padding_mode!r} is not supported")
        obs = weight_observer_for(conv)
        qw = quantize_weight(conv.weight, obs)
        out = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                  conv.padding, conv.dilation, conv.groups, conv.bias is not None,
                  dtype=obs.dtype, per_channel=qw._axis is not None)
        out.set_weight_bias(qw, conv.bias)
        out._set_output(*output_qparams(mod))
        return out


class ConvReLU2d(Conv2d):
    """Quantized Conv2d followed by ReLU in one step, as `nn.intrinsic.quantized.ConvReLU2d`."""

    _relu = True
