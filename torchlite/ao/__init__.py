"""torchlite.ao: architecture optimisation, as `torch.ao` (today: quantization)."""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name == "quantization":
        module = importlib.import_module(".quantization", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'torchlite.ao' has no attribute {name!r}")
