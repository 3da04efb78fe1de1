"""Fixtures of the fused-kernel tests. Every test here is marked `gpu` (tests/conftest.py);
those that need the GPU take the `cp` fixture and are skipped without one, the others check the
NumPy references against torchlite's CPU ops and run everywhere."""

import numpy as np
import pytest

import torchlite


@pytest.fixture
def cp():
    """The cupy module, through the backend; skips the test where there is no GPU."""
    if not torchlite.cuda.is_available():
        pytest.skip("CUDA is not available (needs cupy and an NVIDIA GPU: torchlite[cuda12])")
    return torchlite.backend.cupy_module()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
