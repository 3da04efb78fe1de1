"""Dynamically quantized layers (float in and out, int8 weights), as
`torch.ao.nn.quantized.dynamic`."""

from .linear import Linear
from .rnn import GRU, LSTM

__all__ = ["GRU", "LSTM", "Linear"]
