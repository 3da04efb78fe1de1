"""bfloat16 as a test parameter: its cases skip, naming the extra, where ml_dtypes is missing."""

from __future__ import annotations

import importlib.util

import pytest

import torchlite

HAS_BF16 = importlib.util.find_spec("ml_dtypes") is not None
BF16 = pytest.param(torchlite.bfloat16, id=str(torchlite.bfloat16), marks=pytest.mark.skipif(
    not HAS_BF16, reason="bfloat16 needs the bf16 extra (ml_dtypes)"))
