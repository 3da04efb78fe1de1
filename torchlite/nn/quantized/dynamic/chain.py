"""Which modules of a Sequential, from a dynamically quantized Linear on, run as one chain:
Linear, ReLU, Linear, ReLU, ..., Linear (and maybe a last ReLU), each exactly its class and
called plainly (no hooks, no replaced forward), as one onnxruntime run
(ao/quantization/dynamic_linear_ort.py) with the same result as calling them in turn.

A lone Linear is not a chain (its own forward already runs whole); a Linear with a ReLU is.
Whatever does not fit (a tensor on the GPU, no onnxruntime, an input range or shape the
layers would reject or treat otherwise) is left to the modules themselves.
"""

from __future__ import annotations

import numpy as np

from ....tensor import Tensor
from ...modules._fusion import plain_call
from ...modules.activation import ReLU
from ..modules.linear_kernels import dynamic_linear_chain

_RELU_FORWARD = ReLU.forward


def run_chain(linear_class, modules: tuple, i: int, input):
    """(output, index after the chain) for the chain starting at modules[i] (a
    `linear_class`), or None."""
    if not isinstance(input, Tensor) or not isinstance(input._data, np.ndarray):
        return None
    forward, layers = linear_class.forward, []
    features, j, n = input.shape[-1] if input.ndim else -1, i, len(modules)
    while j < n:
        linear = modules[j]
        if (type(linear) is not linear_class or not plain_call(linear, forward)
                or linear.in_features != features):
            break
        relu = j + 1 < n and type(modules[j + 1]) is ReLU and plain_call(modules[j + 1],
                                                                          _RELU_FORWARD)
        layers.append((linear._packed_params, linear.reduce_range, relu))
        features, j = linear.out_features, j + (2 if relu else 1)
        if not relu:
            break
    if not layers or (len(layers) == 1 and not layers[0][2]):
        return None
    out = dynamic_linear_chain(input._data, layers)
    return None if out is None else (Tensor._make(out, input.device), j)
