"""PyTorch's names for torchlite's backward nodes, so `grad_fn` prints as it does in PyTorch.

torchlite's ops are not always PyTorch's ops (one `Reshape` for view/reshape/flatten, one `Linear`
for addmm, a loss as an elementwise op and a reduction), so some names depend on how the node was
made (the dims of a sum, the key of a slice, the ranks of a matmul). Nodes with no PyTorch
counterpart keep torchlite's own name, `<Op>Backward0`. Custom `autograd.Function`s are named
`<Function>Backward`, as PyTorch names them.
"""

from __future__ import annotations

from typing import Any

# one name whatever the node's arguments
_FIXED = {
    "AdvIndex": "IndexBackward0",
    "IndexPut": "IndexPutBackward0",
    "IndexPutAccumulate": "IndexPutBackward0",
    "Reshape": "ViewBackward0",
    "Conv1dOp": "ConvolutionBackward0",
    "Conv2dOp": "ConvolutionBackward0",
    "Conv3dOp": "ConvolutionBackward0",
    "MaxPool2dOp": "MaxPool2DWithIndicesBackward0",
    "AvgPool2dOp": "AvgPool2DBackward0",
    "BatchNorm": "NativeBatchNormBackward0",
    "LayerNorm": "NativeLayerNormBackward0",
    "GroupNorm": "NativeGroupNormBackward0",
    "CrossEntropyIndex": "NllLossBackward0",
    "MulMask": "MulBackward0",
    "Cast": "ToCopyBackward0",
    "PadConstant": "ConstantPadNdBackward0",
    "LogSumExp": "LogsumexpBackward0",
    "Square": "PowBackward0",
    "Log1p": "Log1PBackward0",
    "Logsigmoid": "LogSigmoidBackward0",
    "Gather": "GatherBackward0",
}

# elementwise losses: PyTorch names the loss node itself, reduced or not
_LOSSES = {
    "BCEWithLogits": "BinaryCrossEntropyWithLogitsBackward0",
    "BinaryCrossEntropy": "BinaryCrossEntropyBackward0",
    "SquaredError": "MseLossBackward0",
    "SmoothL1": "SmoothL1LossBackward0",
    "Huber": "HuberLossBackward0",
}

# ops whose name reads attributes of the node (small: no arrays), which backward keeps
NAMED_BY_ATTRIBUTES = frozenset(
    {"Sum", "Mean", "Slice", "Permute", "Matmul", "Linear", "AmaxAmin", "MaxMinDim", "Clamp"})
NAME_ATTRIBUTES = ("axes", "key", "inv", "shapes", "has_bias", "is_max", "ml", "mh")

_MATMUL = {(2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0",
           (3, 3): "BmmBackward0"}


def _slice_name(key: Any) -> str:
    # PyTorch applies a key left to right; its node is the last step that did something
    parts = key if isinstance(key, tuple) else (key,)
    for k in reversed(parts):
        if k is None:
            return "UnsqueezeBackward0"
        if isinstance(k, slice):
            if k != slice(None):
                return "SliceBackward0"
        elif k is not Ellipsis:
            return "SelectBackward0"
    return "AliasBackward0"


def _reduction_name(ctx: Any, base: str) -> str:
    axes = getattr(ctx, "axes", None)
    if axes is None:
        edges = [e for e in ctx.next_edges if e is not None]
        if len(edges) == 1:  # mean/sum right after an elementwise loss: the loss's node
            inner = getattr(edges[0][0], "fn", None)
            loss = _LOSSES.get(getattr(inner, "__name__", ""))
            if loss is not None:
                return loss
        return f"{base}Backward0"
    return f"{base}Backward1"


def _permute_name(ctx: Any) -> str:
    inv = getattr(ctx, "inv", ())
    moved = [i for i, p in enumerate(inv) if i != p]
    if len(moved) == 2:  # two axes swapped: t() on a matrix, transpose() above
        return "TBackward0" if len(inv) == 2 else "TransposeBackward0"
    return "PermuteBackward0"


def _matmul_name(ctx: Any) -> str:
    shapes = getattr(ctx, "shapes", None)
    if not shapes or len(shapes) != 2:
        return "MatmulBackward0"
    return _MATMUL.get((len(shapes[0]), len(shapes[1])), "UnsafeViewBackward0")


def pytorch_name(ctx: Any) -> str:
    """The name PyTorch gives the backward node `ctx` (a `Context`)."""
    fn = ctx.fn
    op = fn.__name__
    if not fn.__module__.startswith("torchlite."):
        return f"{op}Backward"
    name = _FIXED.get(op) or _LOSSES.get(op)
    if name is not None:
        return name
    if op in ("Sum", "Mean"):
        return _reduction_name(ctx, op)
    if op == "Slice":
        return _slice_name(getattr(ctx, "key", None))
    if op == "Permute":
        return _permute_name(ctx)
    if op == "Matmul":
        return _matmul_name(ctx)
    if op in ("AmaxAmin", "MaxMinDim"):  # max()/min() of all, amax/amin, max/min(dim)
        kind = "Max" if getattr(ctx, "is_max", True) else "Min"
        if op == "MaxMinDim":
            return f"{kind}Backward0"
        if getattr(ctx, "axes", None) is None:
            return f"{kind}Backward1"
        return f"A{kind.lower()}Backward0"
    if op == "Clamp":  # number bounds (PyTorch's clamp.Scalar) or tensor bounds (clamp.Tensor)
        tensors = getattr(ctx, "ml", None) is not None or getattr(ctx, "mh", None) is not None
        return "ClampBackward0" if tensors else "ClampBackward1"
    if op == "Linear":
        return "AddmmBackward0" if getattr(ctx, "has_bias", False) else "MmBackward0"
    return f"{op}Backward0"
