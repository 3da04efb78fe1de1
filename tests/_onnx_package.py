"""The real onnx package for tests that compare with it, or a skip naming the extra.

`pytest.importorskip("onnx")` alone is not enough here: without the package, the tests/onnx
folder (tests/ is on sys.path) imports as an empty namespace package named onnx.
"""

import importlib

import pytest


def onnx_or_skip(reason: str):
    pytest.importorskip("onnx.helper", reason=reason)
    return importlib.import_module("onnx")
