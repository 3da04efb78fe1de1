"""set_default_device / get_default_device / `with torchlite.device(...)`: which factory functions
follow the default device, as in PyTorch (checked there with its "meta" device)."""

import threading

import numpy as np
import pytest

import torchlite
import torchlite.nn as nn
from torchlite import backend


@pytest.fixture(autouse=True)
def _reset_default_device():
    yield
    torchlite.set_default_device(None)


def _factories(torch, np_array):
    """name -> a call without a device argument, the same for torch and torchlite."""
    cpu = torch.ones(2, device="cpu")
    return {
        "tensor": lambda: torch.tensor([1.0, 2.0]),
        "tensor(cpu tensor)": lambda: torch.tensor(cpu),
        "as_tensor(ndarray)": lambda: torch.as_tensor(np_array),
        "as_tensor(cpu tensor)": lambda: torch.as_tensor(cpu),
        "asarray(ndarray)": lambda: torch.asarray(np_array),
        "zeros": lambda: torch.zeros(2),
        "ones": lambda: torch.ones(2, 3),
        "empty": lambda: torch.empty(2),
        "full": lambda: torch.full((2,), 1.5),
        "arange": lambda: torch.arange(3),
        "linspace": lambda: torch.linspace(0, 1, 3),
        "logspace": lambda: torch.logspace(0, 1, 3),
        "eye": lambda: torch.eye(2),
        "rand": lambda: torch.rand(2),
        "randn": lambda: torch.randn(2),
        "randint": lambda: torch.randint(0, 3, (2,)),
        "randperm": lambda: torch.randperm(3),
        "normal": lambda: torch.normal(0.0, 1.0, (2,)),
        "zeros_like(cpu)": lambda: torch.zeros_like(cpu),
        "full_like(cpu)": lambda: torch.full_like(cpu, 2.0),
        "rand_like(cpu)": lambda: torch.rand_like(cpu),
        "new_zeros(cpu)": lambda: cpu.new_zeros(2),
        "from_numpy": lambda: torch.from_numpy(np_array),
        "Tensor(2)": lambda: torch.Tensor(2),
        "nn.Linear weight": lambda: torch.nn.Linear(2, 2).weight,
        "nn.BatchNorm1d running_mean": lambda: torch.nn.BatchNorm1d(2).running_mean,
        "nn.LSTM weight": lambda: torch.nn.LSTM(2, 2).weight_hh_l0,
    }


# the calls that put their result on the default device (the others stay on the CPU)
FOLLOWS = {"tensor", "tensor(cpu tensor)", "as_tensor(ndarray)", "as_tensor(cpu tensor)",
           "asarray(ndarray)", "zeros", "ones", "empty", "full", "arange", "linspace",
           "logspace", "eye", "rand", "randn", "randint", "randperm", "nn.Linear weight",
           "nn.BatchNorm1d running_mean", "nn.LSTM weight"}


@pytest.fixture
def fake_cuda_default(monkeypatch):
    """The default device set to cuda:0 on a machine without a GPU: arrays stay NumPy (moves
    are no-ops), but every tensor is labelled with the device it was put on."""
    monkeypatch.setattr(backend, "xp_for", lambda d: np)
    monkeypatch.setattr(backend, "move", lambda arr, d: arr)
    monkeypatch.setattr(backend, "to_device",
                        lambda spec: backend.CPU if spec is None else backend.device(spec))
    monkeypatch.setattr(backend._default, "device", backend.device("cuda"))


def test_which_factories_follow_the_default_device(fake_cuda_default):
    for name, make in _factories(torchlite, np.ones(2)).items():
        expected = "cuda" if name in FOLLOWS else "cpu"
        assert make().device.type == expected, name
    assert torchlite.zeros(2, device="cpu").device.type == "cpu"  # an explicit device wins


def test_default_device_on_a_gpu(device):
    if device == "cpu":
        pytest.skip("needs a GPU (the CPU is the default already)")
    torchlite.set_default_device(device)
    assert torchlite.get_default_device() == torchlite.device("cuda", 0)
    for name, make in _factories(torchlite, np.ones(2)).items():
        assert make().device.type == ("cuda" if name in FOLLOWS else "cpu"), name
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    assert model(torchlite.randn(4, 3)).device.type == "cuda"


def test_get_and_set_default_device():
    assert torchlite.get_default_device() == torchlite.device("cpu")
    torchlite.set_default_device("cpu")
    assert torchlite.get_default_device() is torchlite.device("cpu")
    assert torchlite.zeros(1).device.type == "cpu"
    torchlite.set_default_device(torchlite.device("cpu"))
    torchlite.set_default_device(None)
    assert torchlite.get_default_device() == torchlite.device("cpu")
    with pytest.raises(RuntimeError, match="device type"):
        torchlite.set_default_device("foo")


def test_cuda_default_without_a_gpu_raises_and_changes_nothing(cupy_missing):
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        torchlite.set_default_device("cuda")
    assert torchlite.get_default_device() == torchlite.device("cpu")
    assert torchlite.zeros(1).device.type == "cpu"


def test_default_device_is_per_thread(fake_cuda_default):
    seen = []
    t = threading.Thread(target=lambda: seen.append(torchlite.zeros(1).device.type))
    t.start()
    t.join()
    assert seen == ["cpu"] and torchlite.zeros(1).device.type == "cuda"


def test_device_as_a_context_manager(fake_cuda_default):
    with torchlite.device("cpu") as d:
        assert d == torchlite.device("cpu")
        assert torchlite.zeros(1).device.type == "cpu"
        assert torchlite.get_default_device() == torchlite.device("cpu")
    assert torchlite.zeros(1).device.type == "cuda"  # restored


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
def test_factory_table_matches_pytorch():
    torch = pytest.importorskip("torch")
    previous = torch.get_default_device()
    torch.set_default_device("meta")
    try:
        got = {name: make().device.type
               for name, make in _factories(torch, np.ones(2)).items()}
    finally:
        torch.set_default_device(previous)
    assert {name for name, kind in got.items() if kind == "meta"} == FOLLOWS
    with torch.device("meta"):
        assert torch.zeros(1).device.type == "meta"
    assert torch.zeros(1).device.type == "cpu"
