"""Shared pytest fixtures: the `device` fixture runs a test on the CPU and, where present, a GPU.

Every test that runs with device "cuda", and every test under tests/cuda_kernels, is marked
`gpu`, so `pytest -m gpu` runs exactly the GPU tests (scripts/gpu_check.sh does).
"""

import os
import signal
from pathlib import Path

import pytest

import torchlite

_KERNELS = Path(__file__).resolve().parent / "cuda_kernels"

# the seed of the default generator in a fresh process
_FRESH_SEED = torchlite.Generator().initial_seed()


@pytest.fixture(autouse=True)
def _fresh_default_generator():
    """Each test starts from the default generator of a fresh process: the random data of a test
    that does not seed (layer initialisation included) must not depend on which tests ran before
    it, in which order (a single file, a subset, or the CI pass without the optional extras,
    which skips tests that the pass with them runs)."""
    torchlite.manual_seed(_FRESH_SEED)


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


def pytest_configure(config):
    # A shell starts a background job with SIGINT ignored, and an ignored signal stays ignored
    # across exec: the tests that Ctrl-C a `torchlite` subprocess need it to start as from a
    # terminal, with SIGINT's default action, whoever started this pytest (nohup's SIGHUP is
    # reset only in the subprocess of the test that hangs one up: pytest keeps its own)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # The CLI tests read what rich renders, which follows the terminal: its width (COLUMNS, or
    # the terminal pytest runs in, narrow ones cut table columns to "…") and a CI's FORCE_COLOR
    # (rich then takes captured output for a terminal). They expect a pipe's rendering
    os.environ["COLUMNS"] = "80"
    for name in ("LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        os.environ.pop(name, None)


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
