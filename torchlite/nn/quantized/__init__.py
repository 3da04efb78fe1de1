"""torchlite.nn.quantized: quantized layers (static: `nn.quantized.Linear`, ...; dynamic:
`nn.quantized.dynamic.Linear`, LSTM, GRU), as `torch.ao.nn.quantized`."""

from . import dynamic
from .modules import *  # noqa: F403
from .modules import __all__ as _all

__all__ = ["dynamic", *_all]
