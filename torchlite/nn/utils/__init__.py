"""torchlite.nn.utils: gradient clipping, parameter/vector conversion, (in `rnn`) padding and
packing of variable-length sequences, and (in `parametrize`, `parametrizations`) tensors
computed from other tensors: weight_norm, spectral_norm (and their older hook-based forms), and
(in `prune`) masks that prune a module's tensors."""

from . import parametrizations, parametrize, prune, rnn
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
    "get_total_norm", "parameters_to_vector", "vector_to_parameters", "parametrizations",
    "parametrize", "prune", "remove_spectral_norm", "remove_weight_norm", "rnn", "spectral_norm",
    "weight_norm",
]
