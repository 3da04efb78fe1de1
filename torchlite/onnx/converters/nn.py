"""Layers: linear, convolution, pooling, normalisation, embedding, attention, dropout.

Pools pad explicitly (with -inf for max, zeros for average) to the buffer torchlite pools over,
then pool without padding: the same windows for every padding and ceil_mode.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...backend import to_host
from ..builder import Builder
from .reduce import reduce


def _act(b: Builder, y: str, act: str | None, like: np.ndarray) -> str:
    """A fused activation (nn/functional/fused_act.py's names) after a layer."""
    if act is None:
        return y
    if act == "relu":
        return b.node("Relu", [y])
    if act in ("sigmoid", "tanh"):
        return b.node(act.capitalize(), [y])
    if act == "silu":
        return b.node("Mul", [y, b.node("Sigmoid", [y])])
    half = b.node("Mul", [y, b.scalar(0.5, like.dtype)])
    if act == "gelu":
        t = b.node("Erf", [b.node("Mul", [y, b.scalar(1 / math.sqrt(2), like.dtype)])])
    else:  # gelu_tanh
        cube = b.node("Mul", [b.node("Mul", [y, y]), y])
        inner = b.node("Add", [y, b.node("Mul", [cube, b.scalar(0.044715, like.dtype)])])
        t = b.node("Tanh", [b.node("Mul", [inner, b.scalar(math.sqrt(2 / math.pi),
                                                              like.dtype)])])
    return b.node("Mul", [half, b.node("Add", [t, b.scalar(1.0, like.dtype)])])


def linear(b: Builder, op: Any) -> str:
    x = op.array(0)
    bias = op.input(2) if op.args[2] is not None else None
    if x.ndim == 2:
        y = b.node("Gemm", [op.input(0), op.input(1), bias], transB=1)
    else:
        y = b.node("MatMul", [op.input(0), b.node("Transpose", [op.input(1)], perm=[1, 0])])
        if bias is not None:
            y = b.node("Add", [y, bias])
    if op.name == "LinearAct":
        y = _act(b, y, op.value(3), op.out())
    return y


def bilinear(b: Builder, op: Any) -> str:
    """The op's two contractions, in its order."""
    t = b.node("Einsum", [op.input(0), op.input(2)], equation="ni,oij->noj")
    y = b.node("Einsum", [t, op.input(1)], equation="noj,nj->no")
    return b.node("Add", [y, op.input(3)]) if op.args[3] is not None else y


def conv2d(b: Builder, op: Any) -> str:
    stride, padding, dilation = op.value(3), op.value(4), op.value(5)
    y = b.node("Conv", [op.input(0), op.input(1), op.input(2) if op.args[2] is not None
                        else None],
               strides=list(stride), pads=[padding[0], padding[1], padding[0], padding[1]],
               dilations=list(dilation), group=int(op.value(6)),
               kernel_shape=list(op.array(1).shape[2:]))
    return _act(b, y, op.value(7), op.out())


def conv_transpose2d(b: Builder, op: Any) -> str:
    stride, padding, out_pad = op.value(3), op.value(4), op.value(5)
    dilation, groups = op.value(6), op.value(7)
    return b.node("ConvTranspose", [op.input(0), op.input(1), op.input(2)
                                    if op.args[2] is not None else None],
                  strides=list(stride), pads=[padding[0], padding[1], padding[0], padding[1]],
                  output_padding=list(out_pad), dilations=list(dilation), group=int(groups),
                  kernel_shape=list(op.array(1).shape[2:]))


def _pool_geom(op: Any) -> Any:
    op.value(lambda a, kw: (a[1].k, a[1].s, a[1].p, a[1].d, a[1].H, a[1].W, a[1].Hb, a[1].Wb))
    return op.args[1]


def _pad_to_buffer(b: Builder, op: Any, g: Any, fill: float) -> str:
    if (g.Hb, g.Wb) == (g.H, g.W):
        return op.input(0)
    x = op.array(0)
    pads = [0, 0, g.p[0], g.p[1], 0, 0, g.Hb - g.H - g.p[0], g.Wb - g.W - g.p[1]]
    return b.node("Pad", [op.input(0), b.ints(pads), b.scalar(fill, x.dtype)], mode="constant")


def max_pool2d(b: Builder, op: Any) -> str:
    if op.value(2):
        raise op.unsupported("max pooling with return_indices=True")
    g = _pool_geom(op)
    src = _pad_to_buffer(b, op, g, -np.inf)
    return b.node("MaxPool", [src], kernel_shape=list(g.k), strides=list(g.s),
                  dilations=list(g.d))


def avg_pool2d(b: Builder, op: Any) -> str:
    g = _pool_geom(op)
    x = op.array(0)
    src = _pad_to_buffer(b, op, g, 0.0)
    y = b.node("AveragePool", [src], kernel_shape=list(g.k), strides=list(g.s))
    div = op.value(2)
    n = g.k[0] * g.k[1]
    if hasattr(div, "shape"):  # a NumPy or CuPy array of per-window divisors
        div = to_host(div)
    if np.ndim(div) == 0 and float(div) == n:
        return y
    total = b.node("Mul", [y, b.scalar(n, x.dtype)])
    return b.node("Div", [total, b.const(np.asarray(div, dtype=x.dtype), "divisor")])


def adaptive_max_pool2d(b: Builder, op: Any) -> str:
    if op.value(2):
        raise op.unsupported("adaptive max pooling with return_indices=True")
    H, W = op.array(0).shape[2:]
    Ho, Wo = op.value(1)
    if H % Ho or W % Wo:
        raise op.unsupported(f"adaptive max pooling from {(H, W)} to {(Ho, Wo)} (only sizes "
                             f"that divide the input are exported)")
    k = [H // Ho, W // Wo]
    return b.node("MaxPool", [op.input(0)], kernel_shape=k, strides=k)


def _ones_or(b: Builder, op: Any, i: int, fill: float, n: int) -> str:
    if op.args[i] is not None:
        return op.input(i)
    return b.const(np.full(n, fill, dtype=op.array(0).dtype), "ones" if fill else "zeros")


def _channel(b: Builder, name: str, ndim: int) -> str:
    return b.node("Reshape", [name, b.ints([-1] + [1] * (ndim - 2))]) if ndim > 2 else name


def batch_norm(b: Builder, op: Any) -> str:
    x = op.array(0)
    c = x.shape[1]
    w, bias = _ones_or(b, op, 1, 1.0, c), _ones_or(b, op, 2, 0.0, c)
    eps = float(op.value(6))
    if not op.value(5):
        return b.node("BatchNormalization", [op.input(0), w, bias, op.input(3), op.input(4)],
                      epsilon=eps)
    # batch statistics (training mode, or track_running_stats=False)
    axes = [i for i in range(x.ndim) if i != 1]
    return _normalise(b, op.input(0), axes, eps, x, _channel(b, w, x.ndim),
                      _channel(b, bias, x.ndim))


def _normalise(b: Builder, x: str, axes: list[int], eps: float, like: np.ndarray,
               w: str | None, bias: str | None) -> str:
    mean = reduce(b, "ReduceMean", x, axes, True)
    d = b.node("Sub", [x, mean])
    var = reduce(b, "ReduceMean", b.node("Mul", [d, d]), axes, True)
    inv = b.node("Div", [b.scalar(1.0, like.dtype),
                         b.node("Sqrt", [b.node("Add", [var, b.scalar(eps, like.dtype)])])])
    y = b.node("Mul", [d, inv])
    if w is not None:
        y = b.node("Mul", [y, w])
    if bias is not None:
        y = b.node("Add", [y, bias])
    return y


def layer_norm(b: Builder, op: Any) -> str:
    x = op.array(0)
    k = int(op.value(3))
    shape = x.shape[x.ndim - k:]
    n = int(np.prod(shape))
    w = _ones_or(b, op, 1, 1.0, n)
    bias = _ones_or(b, op, 2, 0.0, n)
    if op.args[1] is None or op.args[2] is None:
        w = b.node("Reshape", [w, b.ints(list(shape))])
        bias = b.node("Reshape", [bias, b.ints(list(shape))])
    if b.opset < 17:  # LayerNormalization arrived in opset 17
        return _normalise(b, op.input(0), list(range(x.ndim - k, x.ndim)),
                          float(op.value(4)), x, w, bias)
    return b.node("LayerNormalization", [op.input(0), w, bias], axis=-k,
                  epsilon=float(op.value(4)))


def group_norm(b: Builder, op: Any) -> str:
    x = op.array(0)
    groups, eps = int(op.value(3)), float(op.value(4))
    xg = b.node("Reshape", [op.input(0), b.ints([0, groups, -1])])
    y = _normalise(b, xg, [2], eps, x, None, None)
    y = b.node("Reshape", [y, b.node("Shape", [op.input(0)])])
    if op.args[1] is not None:
        y = b.node("Mul", [y, _channel(b, op.input(1), x.ndim)])
    if op.args[2] is not None:
        y = b.node("Add", [y, _channel(b, op.input(2), x.ndim)])
    return y


def instance_norm(b: Builder, op: Any) -> list:
    x = op.array(0)
    axes = list(range(2, x.ndim))
    w = _channel(b, op.input(1), x.ndim) if op.args[1] is not None else None
    bias = _channel(b, op.input(2), x.ndim) if op.args[2] is not None else None
    return [_normalise(b, op.input(0), axes, float(op.value(3)), x, w, bias), None, None]


def embedding(b: Builder, op: Any) -> str:
    from .dtypes import cast

    idx = cast(b, op.input(0), op.array(0).dtype, np.int64)
    return b.node("Gather", [op.input(1), idx], axis=0)


def embedding_bag(b: Builder, op: Any) -> str:
    """Bags of equal size (a (B, N) input): Gather, then the bag's sum, mean or max over N."""
    w = op.array(0)
    idx, bag, n_bags = op.array(2), op.array(3), int(op.args[5])
    mode, padding_idx = op.value(6), op.value(9)
    n = idx.size
    size = n // n_bags if n_bags else 0
    if not size or size * n_bags != n or not np.array_equal(
            to_host(bag), np.repeat(np.arange(n_bags), size)):
        raise op.unsupported("bags given by offsets (only a (B, N) input of equal bags)")
    if op.args[1] is not None:
        raise op.unsupported("per_sample_weights")
    ids = op.source_of(2, (n_bags, size))
    if ids is None:
        raise op.unsupported("ids that are not one of the graph's values")
    from .dtypes import cast

    ids = cast(b, ids, op.array(2).dtype, np.int64)
    rows = b.node("Gather", [op.input(0), ids], axis=0)  # (B, N, D)
    dt = w.dtype
    keep = None
    if padding_idx is not None:
        keep = b.node("Unsqueeze", [b.node("Not", [b.node("Equal", [
            ids, b.scalar(int(padding_idx), np.int64)])]), b.ints([2])])
    if mode == "max":
        if keep is not None:
            rows = b.node("Where", [keep, rows, b.scalar(-np.inf, dt)])
        best = reduce(b, "ReduceMax", rows, [1], False)
        empty = b.node("IsInf", [best], detect_positive=0)
        return b.node("Where", [empty, b.scalar(0.0, dt), best])
    if keep is not None:
        rows = b.node("Mul", [rows, b.node("Cast", [keep], to=_elem(b, dt))])
    total = reduce(b, "ReduceSum", rows, [1], False)
    if mode == "sum":
        return total
    if keep is None:
        return b.node("Div", [total, b.scalar(size, dt)])
    count = reduce(b, "ReduceSum", b.node("Cast", [keep], to=_elem(b, dt)), [1], False)
    return b.node("Div", [total, b.node("Max", [count, b.scalar(1.0, dt)])])


def _elem(b: Builder, dt: Any) -> int:
    from .dtypes import onnx_type

    return onnx_type(b, dt)


def mul_mask(b: Builder, op: Any) -> str:
    raise op.unsupported("dropout in training mode; export the model in eval mode "
                         "(training=TrainingMode.EVAL)")


def sdpa(b: Builder, op: Any) -> list[str]:
    """scores = q k^T * scale + bias, the same 'safe' softmax as the op, then weights @ v."""
    if op.args[4] is not None:
        raise op.unsupported("attention dropout in training mode; export in eval mode")
    q = op.array(0)
    dt = q.dtype
    kt = b.node("Transpose", [op.input(1)], perm=list(range(q.ndim - 2)) + [q.ndim - 1,
                                                                             q.ndim - 2])
    s = b.node("Mul", [b.node("MatMul", [op.input(0), kt]), b.scalar(op.value(5), dt)])
    if op.args[3] is not None:
        s = b.node("Add", [s, op.input(3)])
    safe = bool(op.value(7))
    m = reduce(b, "ReduceMax", s, [-1], True)
    if safe:
        m = b.node("Max", [m, b.scalar(np.finfo(dt).min, dt)])
    e = b.node("Exp", [b.node("Sub", [s, m])])
    d = reduce(b, "ReduceSum", e, [-1], True)
    if safe:
        d = b.node("Max", [d, b.scalar(1.0, dt)])
    w = b.node("Div", [e, d])
    return [b.node("MatMul", [w, op.input(2)]), w]


def converters() -> dict[type, Any]:
    from importlib import import_module

    # the submodules by path: nn.functional exports functions under several of their names
    m = {n: import_module(f"torchlite.nn.functional.{n}") for n in (
        "attention", "conv", "dropout", "embedding", "embedding_bag", "fused_act",
        "instance_norm", "linear",
        "normalization", "pooling")}
    return {m["linear"].Linear: linear, m["fused_act"].LinearAct: linear,
            m["linear"].Bilinear: bilinear,
            m["conv"].Conv2dOp: conv2d, m["conv"].ConvTranspose2dOp: conv_transpose2d,
            m["pooling"].MaxPool2dOp: max_pool2d, m["pooling"].AvgPool2dOp: avg_pool2d,
            m["pooling"].AdaptiveMaxPool2dOp: adaptive_max_pool2d,
            m["normalization"].BatchNorm: batch_norm, m["normalization"].LayerNorm: layer_norm,
            m["normalization"].GroupNorm: group_norm,
            m["instance_norm"].InstanceNormOp: instance_norm,
            m["embedding"].Embedding: embedding, m["dropout"].MulMask: mul_mask,
            m["attention"].SDPAOp: sdpa, m["embedding_bag"].EmbeddingBag: embedding_bag}
