"""The exporter's exceptions (PyTorch's names, in torchlite's hierarchy for the CLI's codes)."""

from __future__ import annotations

from ..errors import BadUsageError

ONNX_EXTRA = "pip install 'torchlite[onnx]'"


class OnnxExporterError(BadUsageError, RuntimeError):
    """The model cannot be exported as asked (exit code 2)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op the exporter has no ONNX form for; the message names it and the calling module."""


class OnnxNotInstalledError(BadUsageError, ImportError):
    """`onnx` or `onnxruntime` (optional) is missing (exit code 2: the fix is
    `pip install 'torchlite[onnx]'`)."""


def require(package: str):
    """Import and return the optional `package` ("onnx" or "onnxruntime"), or say which extra
    brings it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise OnnxNotInstalledError(
            f"ONNX export needs the optional '{package}' package: {ONNX_EXTRA}") from None
