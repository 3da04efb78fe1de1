"""Shared pytest fixtures: the `device` fixture runs a test on the CPU and, where present, a GPU."""

import pytest

import torchlite


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    if request.param == "cuda" and not torchlite.cuda.is_available():
        pytest.skip("CUDA is not available (needs cupy and an NVIDIA GPU: torchlite[cuda12])")
    return request.param
