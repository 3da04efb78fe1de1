"""Shared pytest fixtures: the `device` fixture runs a test on the CPU and, where present, a GPU.

Every test that runs with device "cuda", and every test under tests/cuda_kernels, is marked
`gpu`, so `pytest -m gpu` runs exactly the GPU tests (scripts/gpu_check.sh does).
"""

from pathlib import Path

import pytest

import torchlite

_KERNELS = Path(__file__).resolve().parent / "cuda_kernels"


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    if request.param == "cuda" and not torchlite.cuda.is_available():
        pytest.skip("CUDA is not available (needs cupy and an NVIDIA GPU: torchlite[cuda12])")
    return request.param


def _is_gpu_test(item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("device") == "cuda":
        return True
    if item.get_closest_marker("cuda") is not None:
        return True
    path = Path(str(getattr(item, "path", item.fspath))).resolve()
    return _KERNELS in path.parents


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_gpu_test(item):
            item.add_marker(pytest.mark.gpu)


@pytest.fixture
def cupy_missing(monkeypatch):
    """The backend as on a machine without cupy installed, whatever this one has (use only
    where no GPU is present: such tests skip on a GPU machine)."""
    monkeypatch.setattr(torchlite.backend, "_cupy", None)
    monkeypatch.setattr(torchlite.backend, "_cupy_error",
                        "ModuleNotFoundError: No module named 'cupy'")
