"""Dynamically quantized LSTM and GRU: int8 weights; each step's input and hidden state are
quantized per call, as PyTorch's `torch.ao.nn.quantized.dynamic.LSTM` / `GRU`. Inference only;
padded batches (not PackedSequence) only."""

from __future__ import annotations

import numpy as np

from .... import backend
from ....tensor import Tensor
from ...module import Module
from ..modules.base import weight_observer_for
from ..modules.linear_kernels import dynamic_linear
from ..modules.packed_params import PackedParams, PackedParamsOwner, quantize_weight


def _sigmoid(xp, x):
    return 0.5 * (xp.tanh(0.5 * x) + 1)


class _WeightHolder(Module):
    """Stand-in with `.weight` and `.qconfig` for the weight observer of one matrix."""

    def __init__(self, weight: Tensor, qconfig) -> None:
        super().__init__()
        self.weight, self.qconfig = weight, qconfig


class RNNBase(PackedParamsOwner):
    _GATES = 1

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype=backend.qint8,
                 per_channel: bool = False) -> None:
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        D = 2 if bidirectional else 1
        gate = self._GATES * hidden_size
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                self._set_packed(PackedParams((gate, n_in), per_channel, bias, dtype), "ih" + sfx)
                self._set_packed(PackedParams((gate, hidden_size), per_channel, bias, dtype),
                                 "hh" + sfx)

    def _cell(self, xp, gx, h, state, hh):
        raise NotImplementedError

    def _run(self, x, states):
        """x: (L, N, in) array; states: per state kind a (layers*D, N, H) array."""
        xp = backend.get_xp(x)
        D = 2 if self.bidirectional else 1
        finals = [s.copy() for s in states]
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                ih, hh = getattr(self, "ih" + sfx), getattr(self, "hh" + sfx)
                cur = [s[k] for s in states]
                steps = range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])
                out = xp.empty((x.shape[0], x.shape[1], self.hidden_size), np.float32)
                for t in steps:
                    gx = dynamic_linear(x[t], ih)
                    cur = self._cell(xp, gx, cur, hh)
                    out[t] = cur[0]
                outs.append(out)
                for j, c in enumerate(cur):
                    finals[j][k] = c
            x = outs[0] if D == 1 else xp.concatenate(outs, axis=-1)
        return x, finals

    def _forward(self, input: Tensor, hx_list, n_states: int):
        if not isinstance(input, Tensor):
            raise TypeError(f"dynamic quantized {self.mode}: PackedSequence inputs are not "
                            "supported; pass a padded Tensor")
        x = input._data.astype(np.float32, copy=False)
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None] if not self.batch_first else x[None]
        if self.batch_first:
            x = x.transpose(1, 0, 2)
        xp = backend.get_xp(x)
        D = 2 if self.bidirectional else 1
        shape = (self.num_layers * D, x.shape[1], self.hidden_size)
        states = []
        for i in range(n_states):
            h = hx_list[i] if hx_list is not None else None
            if h is None:
                states.append(xp.zeros(shape, np.float32))
            else:
                arr = h._data.astype(np.float32)
                states.append(arr[:, None] if unbatched else arr)
        out, finals = self._run(x, states)
        if self.batch_first:
            out = out.transpose(1, 0, 2)
        if unbatched:
            out = out[:, 0] if not self.batch_first else out[0]
            finals = [f[:, 0] for f in finals]
        dev = input.device
        return Tensor._make(out, dev), [Tensor._make(f, dev) for f in finals]

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant: bool = False):
        """The dynamically quantized layer of a float LSTM / GRU (int8 weights)."""
        qconfig = getattr(mod, "qconfig", None)
        per_channel = False
        out = None
        D = 2 if mod.bidirectional else 1
        for layer in range(mod.num_layers):
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                for kind in ("ih", "hh"):
                    w = getattr(mod, f"weight_{kind}{sfx}")
                    b = getattr(mod, f"bias_{kind}{sfx}") if mod.bias else None
                    obs = weight_observer_for(_WeightHolder(w, qconfig))
                    qw = quantize_weight(w, obs)
                    if out is None:
                        per_channel = qw._axis is not None
                        out = cls(mod.input_size, mod.hidden_size, mod.num_layers, mod.bias,
                                  mod.batch_first, mod.dropout, mod.bidirectional, obs.dtype,
                                  per_channel)
                    getattr(out, kind + sfx).set_weight_bias(qw, b)
        return out

    def _get_name(self) -> str:
        return "DynamicQuantized" + self.mode

    def extra_repr(self) -> str:
        out = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                out += f", {name}={getattr(self, name)}"
        return out


class LSTM(RNNBase):
    """A dynamically quantized `nn.LSTM` (gates i, f, g, o, as PyTorch).

    Shape: as nn.LSTM: input (L, N, H_in) (or batch_first) -> output, (h_n, c_n).
    """

    _GATES = 4

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def _cell(self, xp, gx, state, hh):
        h, c = state
        g = gx + dynamic_linear(h, hh)
        i, f, gg, o = xp.split(g, 4, axis=-1)
        c = _sigmoid(xp, f) * c + _sigmoid(xp, i) * xp.tanh(gg)
        h = _sigmoid(xp, o) * xp.tanh(c)
        return [h.astype(np.float32), c.astype(np.float32)]

    def forward(self, input: Tensor, hx=None):
        out, (h, c) = self._forward(input, list(hx) if hx is not None else None, 2)
        return out, (h, c)


class GRU(RNNBase):
    """A dynamically quantized `nn.GRU` (gates r, z, n, as PyTorch).

    Shape: as nn.GRU: input (L, N, H_in) (or batch_first) -> output, h_n.
    """

    _GATES = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)

    def _cell(self, xp, gx, state, hh):
        (h,) = state
        gh = dynamic_linear(h, hh)
        xr, xz, xn = xp.split(gx, 3, axis=-1)
        hr, hz, hn = xp.split(gh, 3, axis=-1)
        r, z = _sigmoid(xp, xr + hr), _sigmoid(xp, xz + hz)
        n = xp.tanh(xn + r * hn)
        return [((1 - z) * n + z * h).astype(np.float32)]

    def forward(self, input: Tensor, hx: Tensor | None = None):
        out, (h,) = self._forward(input, [hx] if hx is not None else None, 1)
        return out, h
