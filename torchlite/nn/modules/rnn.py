"""Recurrent layers: RNN, LSTM, GRU and their cells RNNCell, LSTMCell, GRUCell.

Parameter names, shapes, gate order and init are PyTorch's, so state dicts load both ways. Each
layer-direction projects the whole input sequence with one matrix product and then runs one
fused recurrence Op (see nn/functional/recurrent.py).

RNN, LSTM and GRU take a PackedSequence as PyTorch's do: the output is packed alike, the padded
steps of each sequence are skipped (its state carried through), and h_n holds each sequence's
state at its own last step (for the reverse direction, at its first).
"""

from __future__ import annotations

import math

from ...amp import state as _amp
from ...ops.creation import zeros
from ...ops.half_compute import in_float32, is_half_numpy
from ...ops.join import cat, stack, unbind
from ...ops.linalg import matmul
from ...tensor import Tensor
from .. import init
from ..functional import recurrent as R
from ..functional.dropout import dropout
from ..module import Module
from ..utils import rnn as _packing
from ._factory import param

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _seq(op, w_hh: Tensor):
    """A recurrent Op, or for float16/bfloat16 NumPy weights its float32-computing variant (the
    step's products and state in float32, as PyTorch's CPU kernels; see half_compute)."""
    return in_float32(op) if is_half_numpy(w_hh._data) else op


def _project(x: Tensor, w_ih: Tensor, bias) -> Tensor:
    """(L, N, in) -> (L, N, G*H): every time step's input projection in one matrix product."""
    L, N, n_in = x.shape
    out = matmul(x.reshape(L * N, n_in), w_ih.t())
    if bias is not None:
        out = out + bias
    return out.reshape(L, N, w_ih.shape[0])


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (parameters, shapes, layers and directions)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
        if not 0 <= float(dropout) <= 1 or isinstance(dropout, bool):
            raise ValueError(f"dropout should be a number in range [0, 1], got {dropout!r}")
        if proj_size:
            raise NotImplementedError("LSTM proj_size is not supported by torchlite")
        self.mode = mode
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias = num_layers, bias
        self.batch_first, self.dropout = batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate = _GATES[mode] * hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (gate, n_in)), ("weight_hh", (gate, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                for name, shape in shapes:
                    setattr(self, name + sfx, param(shape, device, dtype))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    @property
    def all_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    def _weights(self, layer: int, d: int):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        w_ih, w_hh = getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx)
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, "bias_ih" + sfx), getattr(self, "bias_hh" + sfx)

    def _check_input(self, input: Tensor, hx):
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input")
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        unbatched = input.ndim == 2
        if unbatched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        if self.batch_first:
            input = input.transpose(0, 1)
        return input, unbatched

    def _state(self, h, N, unbatched, like: Tensor, name: str) -> Tensor:
        D = 2 if self.bidirectional else 1
        shape = (self.num_layers * D, N, self.hidden_size)
        if h is None:
            return zeros(shape, dtype=like.dtype, device=like.device)
        if unbatched:
            if h.ndim != 2:
                raise RuntimeError(f"For unbatched 2-D input, {name} should also be 2-D but got "
                                   f"{h.ndim}-D tensor")
            h = h.unsqueeze(1)
        if tuple(h.shape) != shape:
            raise RuntimeError(f"Expected {name} size {shape}, got {tuple(h.shape)}")
        return h

    def _run(self, x: Tensor, states, inactive=None):
        """Run every layer and direction. states: per-state lists of (N, H) tensors, indexed
        layer * D + d; inactive: None, or for packed input the (L, N, 1) boolean array of the
        steps past each sequence's end. Returns the last layer's output and the per-state final
        values."""
        D = 2 if self.bidirectional else 1
        finals = [[None] * (self.num_layers * D) for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d in range(D):
                k = layer * D + d
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                init_states = [s[k] for s in states]
                res = self._cell_seq(x, w_ih, w_hh, b_ih, b_hh, init_states, d == 1, inactive)
                outs.append(res[0])
                for j in range(len(states)):
                    finals[j][k] = res[1 + j]
            x = outs[0] if D == 1 else cat(outs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, True)
        return x, finals

    def _cell_seq(self, x, w_ih, w_hh, b_ih, b_hh, init_states, reverse, inactive):
        raise NotImplementedError

    def _forward(self, input: Tensor, hx_list):
        if isinstance(input, _packing.PackedSequence):
            return self._forward_packed(input, hx_list)
        x, unbatched = self._check_input(input, hx_list)
        N = x.shape[1]
        names = ("h_0", "c_0")
        states = [unbind(self._state(h, N, unbatched, x, names[i]), 0)
                  for i, h in enumerate(hx_list)]
        out, finals = self._run(x, states)
        finals = [stack(f, 0) for f in finals]
        if self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
            finals = [f.squeeze(1) for f in finals]
        return out, finals

    def _forward_packed(self, seq, hx_list):
        """A PackedSequence: run on the padded batch (sorted by length) with the steps past each
        end carried through, pack the output alike, and give h_n in the caller's batch order."""
        data = seq.data
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]} (packed data of shape "
                               f"{tuple(data.shape)})")
        x, inactive = _packing._unpack_for_rnn(seq)
        N = x.shape[1]
        names = ("h_0", "c_0")
        states = []
        for i, h in enumerate(hx_list):
            state = self._state(h, N, False, x, names[i])
            if h is not None and seq.sorted_indices is not None:
                state = state.index_select(1, seq.sorted_indices)  # the caller's order -> sorted
            states.append(unbind(state, 0))
        out, finals = self._run(x, states, inactive)
        finals = [stack(f, 0) for f in finals]
        if seq.unsorted_indices is not None:
            finals = [f.index_select(1, seq.unsorted_indices) for f in finals]
        return _packing._pack_rnn_output(out, seq), finals

    def flatten_parameters(self) -> None:
        """Nothing to do: the weights are separate arrays, as PyTorch's on the CPU (cuDNN's
        packed buffer does not exist here). Kept so code written for cuDNN runs unchanged."""
        return None

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    Shape: input (L, N, H_in) (or (N, L, H_in) with batch_first, or unbatched (L, H_in)), h_0
    (num_layers * D, N, H) -> output (L, N, D * H), h_n (num_layers * D, N, H); D = 2 when
    bidirectional. Parameters weight_ih_l{k}[_reverse] (H, H_in), weight_hh_l{k} (H, H),
    bias_ih_l{k}, bias_hh_l{k} (H,), all U(-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def _cell_seq(self, x, w_ih, w_hh, b_ih, b_hh, init_states, reverse, inactive):
        if _amp.on:
            x, w_ih, w_hh, b_ih, b_hh, *init_states = _amp.cast("rnn", x, w_ih, w_hh, b_ih, b_hh,
                                                                *init_states)
        bias = None if b_ih is None else b_ih + b_hh
        op = _seq(R.RNNSeq, w_hh)
        return op.apply(_project(x, w_ih, bias), w_hh, init_states[0],
                        self.nonlinearity == "relu", reverse, inactive)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        out, (h_n,) = self._forward(input, [hx])
        return out, h_n


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997) with PyTorch's gate order
    (i, f, g, o): c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).

    Shape: input (L, N, H_in) (batch_first: (N, L, H_in); unbatched: (L, H_in)), (h_0, c_0) each
    (num_layers * D, N, H) -> output (L, N, D * H), (h_n, c_n). weight_ih_l{k} is (4H, H_in),
    weight_hh_l{k} (4H, H), biases (4H,).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)

    def _cell_seq(self, x, w_ih, w_hh, b_ih, b_hh, init_states, reverse, inactive):
        if _amp.on:
            x, w_ih, w_hh, b_ih, b_hh, *init_states = _amp.cast("lstm", x, w_ih, w_hh, b_ih, b_hh,
                                                                *init_states)
        bias = None if b_ih is None else b_ih + b_hh
        op = _seq(R.LSTMSeq, w_hh)
        return op.apply(_project(x, w_ih, bias), w_hh, init_states[0], init_states[1],
                        reverse, inactive)

    def forward(self, input: Tensor, hx=None):
        h0, c0 = (None, None) if hx is None else hx
        out, (h_n, c_n) = self._forward(input, [h0, c0])
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014) with PyTorch's gate order (r, z, n):
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    Shape: as RNN. weight_ih_l{k} is (3H, H_in), weight_hh_l{k} (3H, H), biases (3H,).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def _cell_seq(self, x, w_ih, w_hh, b_ih, b_hh, init_states, reverse, inactive):
        if _amp.on:
            x, w_ih, w_hh, b_ih, b_hh, *init_states = _amp.cast("gru", x, w_ih, w_hh, b_ih, b_hh,
                                                                *init_states)
        op = _seq(R.GRUSeq, w_hh)
        return op.apply(_project(x, w_ih, b_ih), w_hh, b_hh, init_states[0], reverse,
                        inactive)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        out, (h_n,) = self._forward(input, [hx])
        return out, h_n


# ----------------------------------------------------------------------------------------------
# cells: one time step, the same fused Ops with L = 1


class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = param((num_chunks * hidden_size, input_size), device, dtype)
        self.weight_hh = param((num_chunks * hidden_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = param((num_chunks * hidden_size,), device, dtype)
            self.bias_hh = param((num_chunks * hidden_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _prep(self, input: Tensor, hx, n_states: int):
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
        N = input.shape[0]
        if hx is None:
            hx = [zeros((N, self.hidden_size), dtype=input.dtype, device=input.device)] * n_states
        else:
            hx = [h.unsqueeze(0) if unbatched else h for h in hx]
            for h in hx:
                if tuple(h.shape) != (N, self.hidden_size):
                    raise RuntimeError(f"{type(self).__name__}: hidden state has shape "
                                       f"{tuple(h.shape)}, expected {(N, self.hidden_size)}")
        return input.unsqueeze(0), hx, unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        return s


def _squeeze(t: Tensor, unbatched: bool) -> Tensor:
    return t.squeeze(0) if unbatched else t


class RNNCell(RNNCellBase):
    """One Elman RNN step. Shape: input (N, H_in) or (H_in,), hx (N, H) -> h' (N, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unb = self._prep(input, None if hx is None else [hx], 1)
        bias = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        op = _seq(R.RNNSeq, self.weight_hh)
        _, h1 = op.apply(_project(x, self.weight_ih, bias), self.weight_hh, h,
                         self.nonlinearity == "relu", False)
        return _squeeze(h1, unb)


class LSTMCell(RNNCellBase):
    """One LSTM step. Shape: input (N, H_in), (h, c) each (N, H) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        x, (h, c), unb = self._prep(input, hx, 2)
        bias = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        op = _seq(R.LSTMSeq, self.weight_hh)
        _, h1, c1 = op.apply(_project(x, self.weight_ih, bias), self.weight_hh, h, c,
                             False)
        return _squeeze(h1, unb), _squeeze(c1, unb)


class GRUCell(RNNCellBase):
    """One GRU step. Shape: input (N, H_in), hx (N, H) -> h' (N, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unb = self._prep(input, None if hx is None else [hx], 1)
        op = _seq(R.GRUSeq, self.weight_hh)
        _, h1 = op.apply(_project(x, self.weight_ih, self.bias_ih), self.weight_hh,
                         self.bias_hh, h, False)
        return _squeeze(h1, unb)
