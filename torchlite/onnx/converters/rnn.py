"""RNN, LSTM and GRU layers as ONNX Scan loops over primitive operators.

torchlite's recurrent ops take the input projection (x W_ih^T + b, one matrix product made by
the caller, which exports as its own nodes) and run the time loop. Each becomes one Scan whose
body is one step written with the op's own formula: h W_hh^T added to the step's projection,
sigmoid as tanh(x / 2) / 2 + 1 / 2 as the op computes it, the same order of additions. The
ONNX LSTM/GRU/RNN operators would need the input weights inside the node, folded with the
biases in another order; the Scan gives the op's numbers to float32 rounding and any sequence
length. Packed sequences (`inactive`) are not exported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..builder import Builder
from .dtypes import onnx_type


def _gates(b: Builder, a: str, n: int, tanh_gate: int | None, H: int, dt: Any) -> str:
    """act = tanh(a * scale) * mul + add per column: sigmoid on every gate but `tanh_gate`."""
    scale = np.full(n * H, 0.5, dtype=dt)
    mul = np.full(n * H, 0.5, dtype=dt)
    add = np.full(n * H, 0.5, dtype=dt)
    if tanh_gate is not None:
        sl = slice(tanh_gate * H, (tanh_gate + 1) * H)
        scale[sl], mul[sl], add[sl] = 1, 1, 0
    t = b.node("Tanh", [b.node("Mul", [a, b.const(scale, "gate_scale")])])
    return b.node("Add", [b.node("Mul", [t, b.const(mul, "gate_mul")]),
                          b.const(add, "gate_add")])


def _cols(b: Builder, x: str, lo: int, hi: int) -> str:
    return b.node("Slice", [x, b.ints([lo]), b.ints([hi]), b.ints([1])])


def _scan(b: Builder, op: Any, body_fn: Any, states: list[str], n_states: int,
          reverse: bool) -> list[str]:
    """Scan over the projection (argument 0) with `states` carried; body_fn(sub, states,
    x_t) returns the new states, the first of which is also the step's output."""
    onnx = b.onnx
    xp = op.array(0)
    elem = onnx_type(b, xp.dtype)
    sub = b.child()
    s_in = [sub.fresh("state_in") for _ in range(n_states)]
    x_t = sub.fresh("x_t")
    new_states = body_fn(sub, s_in, x_t)
    s_out = [sub.node("Identity", [s], outputs=[sub.fresh("state_out")]) for s in new_states]
    y_t = sub.node("Identity", [new_states[0]], outputs=[sub.fresh("h_t")])
    vi = onnx.helper.make_tensor_value_info
    body = onnx.helper.make_graph(
        sub.nodes, "step",
        [vi(n, elem, [None, None]) for n in s_in] + [vi(x_t, elem, [None, None])],
        [vi(n, elem, [None, None]) for n in s_out] + [vi(y_t, elem, [None, None])])
    outs = b.node("Scan", states + [op.input(0)], n_out=n_states + 1, body=body,
                  num_scan_inputs=1, scan_input_directions=[int(reverse)],
                  scan_output_directions=[int(reverse)])
    return outs


def _flag(op: Any, name: str, pos: int, default: Any) -> Any:
    if name in op.kwargs:
        return op.value(name)
    return op.value(pos) if len(op.args) > pos else default


def lstm(b: Builder, op: Any) -> list[str]:
    xp = op.array(0)
    H = xp.shape[2] // 4
    dt = xp.dtype
    wt = b.node("Transpose", [op.input(1)], perm=[1, 0])
    reverse = bool(_flag(op, "reverse", 4, False))
    if _flag(op, "inactive", 5, None) is not None:
        raise op.unsupported("packed sequences (PackedSequence inputs)")

    def step(sub: Builder, s: list[str], x: str) -> list[str]:
        h, c = s
        a = sub.node("Add", [sub.node("MatMul", [h, wt]), x])
        act = _gates(sub, a, 4, 2, H, dt)
        i, f, g, o = (_cols(sub, act, k * H, (k + 1) * H) for k in range(4))
        c_new = sub.node("Add", [sub.node("Mul", [f, c]), sub.node("Mul", [i, g])])
        h_new = sub.node("Mul", [o, sub.node("Tanh", [c_new])])
        return [h_new, c_new]

    h_n, c_n, hs = _scan(b, op, step, [op.input(2), op.input(3)], 2, reverse)
    return [hs, h_n, c_n]


def gru(b: Builder, op: Any) -> list[str]:
    xp = op.array(0)
    H = xp.shape[2] // 3
    dt = xp.dtype
    wt = b.node("Transpose", [op.input(1)], perm=[1, 0])
    bias = op.input(2) if op.args[2] is not None else None
    reverse = bool(_flag(op, "reverse", 4, False))
    if _flag(op, "inactive", 5, None) is not None:
        raise op.unsupported("packed sequences (PackedSequence inputs)")

    def step(sub: Builder, s: list[str], x: str) -> list[str]:
        (h,) = s
        hp = sub.node("MatMul", [h, wt])
        if bias is not None:
            hp = sub.node("Add", [hp, bias])
        rz = sub.node("Add", [_cols(sub, x, 0, 2 * H), _cols(sub, hp, 0, 2 * H)])
        rz = _gates(sub, rz, 2, None, H, dt)
        r, z = _cols(sub, rz, 0, H), _cols(sub, rz, H, 2 * H)
        n = sub.node("Add", [sub.node("Mul", [r, _cols(sub, hp, 2 * H, 3 * H)]),
                             _cols(sub, x, 2 * H, 3 * H)])
        n = sub.node("Tanh", [n])
        h_new = sub.node("Add", [sub.node("Mul", [sub.node("Sub", [h, n]), z]), n])
        return [h_new]

    h_n, hs = _scan(b, op, step, [op.input(3)], 1, reverse)
    return [hs, h_n]


def rnn(b: Builder, op: Any) -> list[str]:
    wt = b.node("Transpose", [op.input(1)], perm=[1, 0])
    relu = bool(_flag(op, "relu", 3, False))
    reverse = bool(_flag(op, "reverse", 4, False))
    if _flag(op, "inactive", 5, None) is not None:
        raise op.unsupported("packed sequences (PackedSequence inputs)")

    def step(sub: Builder, s: list[str], x: str) -> list[str]:
        a = sub.node("Add", [sub.node("MatMul", [s[0], wt]), x])
        return [sub.node("Relu" if relu else "Tanh", [a])]

    h_n, hs = _scan(b, op, step, [op.input(2)], 1, reverse)
    return [hs, h_n]


def converters() -> dict[type, Any]:
    from importlib import import_module

    R = import_module("torchlite.nn.functional.recurrent")

    return {R.LSTMSeq: lstm, R.GRUSeq: gru, R.RNNSeq: rnn}
