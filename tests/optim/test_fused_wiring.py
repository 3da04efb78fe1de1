"""The optimizers' GPU path (torchlite/optim/_fused.py), exercised without a GPU.

Parameters whose arrays are not plain NumPy arrays take the fused path. Here a NumPy subclass
stands in for CuPy arrays and the kernels' NumPy references (tests/cuda_kernels/
_optim_reference.py) stand in for the kernels, so the batching and the arguments handed to each
launch are checked against the CPU path.
"""

from __future__ import annotations

import numpy as np
import pytest
from cuda_kernels._optim_reference import adam_reference, sgd_reference

import torchlite
from torchlite.optim import _fused


class _Dev:
    id = 0


class FakeGpuArray(np.ndarray):
    device = _Dev()


@pytest.fixture
def fake_gpu(monkeypatch):
    calls = []

    class Refs:
        @staticmethod
        def adam_(*a, **k):
            calls.append(("adam", len(a[0])))
            adam_reference(*a, **k)

        @staticmethod
        def sgd_(*a, **k):
            calls.append(("sgd", len(a[0]), k["first_step"]))
            sgd_reference(*a, **k)

    monkeypatch.setattr(_fused, "_kernels", lambda: Refs)
    monkeypatch.setattr(_fused, "_on_device", lambda lists, fn: fn())
    return calls


def _params(fake: bool):
    rng = np.random.default_rng(0)
    out = []
    for shape in [(5, 3), (7,), (2, 2, 2)]:
        t = torchlite.nn.Parameter(torchlite.tensor(rng.standard_normal(shape).astype(np.float32)))
        if fake:
            t._data = t._data.view(FakeGpuArray)
        out.append(t)
    return out


def _run(opt_cls, kw, fake):
    ps = _params(fake)
    opt = opt_cls(ps, lr=0.1, **kw)
    rng = np.random.default_rng(1)
    for _ in range(3):
        for p in ps:
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad = torchlite.tensor(g)
            if fake:
                p.grad._data = p.grad._data.view(FakeGpuArray)
        opt.step()
    return [np.asarray(p._data).copy() for p in ps], opt


@pytest.mark.parametrize("opt_cls,kw", [
    (torchlite.optim.Adam, {}), (torchlite.optim.Adam, {"amsgrad": True, "weight_decay": 0.1}),
    (torchlite.optim.AdamW, {"weight_decay": 0.1, "maximize": True}),
    (torchlite.optim.SGD, {}), (torchlite.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    (torchlite.optim.SGD, {"momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
])
def test_fused_path_matches_cpu(opt_cls, kw, fake_gpu):
    cpu, _ = _run(opt_cls, kw, fake=False)
    assert fake_gpu == []
    gpu, opt = _run(opt_cls, kw, fake=True)
    name = "adam" if opt_cls is not torchlite.optim.SGD else "sgd"
    assert [c[0] for c in fake_gpu] == [name] * 3 and all(c[1] == 3 for c in fake_gpu)
    if name == "sgd" and kw.get("momentum"):
        assert [c[2] for c in fake_gpu] == [True, False, False]
        assert all("momentum_buffer" in opt.state[p] for p in opt.param_groups[0]["params"])
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a, b)


def test_batches_group_by_key_device_and_dtype():
    a32, b32 = np.zeros(2, np.float32).view(FakeGpuArray), np.ones(3, np.float32).view(FakeGpuArray)
    a64 = np.zeros(2, np.float64).view(FakeGpuArray)
    items = [(1, (a32, "g1")), (1, (a64, "g2")), (2, (b32, "g3")), (1, (b32, "g4"))]
    got = {k: v for k, v in _fused.batches(items)}
    assert got[(1, 0, "<f4")] == [[a32, b32], ["g1", "g4"]]
    assert got[(1, 0, "<f8")] == [[a64], ["g2"]]
    assert got[(2, 0, "<f4")] == [[b32], ["g3"]]


@pytest.mark.parametrize("make", [
    lambda a: a.astype(np.float16),  # the kernels take float32 and float64 only
    lambda a: np.asfortranarray(a),  # a parameter the kernels cannot walk as one run
])
def test_unfusable_gpu_parameters_take_the_elementwise_path(make, fake_gpu):
    rng = np.random.default_rng(3)
    init = make(rng.standard_normal((4, 3)).astype(np.float32))
    grad = rng.standard_normal((4, 3)).astype(init.dtype)
    out = []
    for fake in (False, True):
        p = torchlite.nn.Parameter(torchlite.tensor(init.copy(order="K")))
        p.grad = torchlite.tensor(grad)
        if fake:
            p._data = p._data.view(FakeGpuArray)
            p.grad._data = p.grad._data.view(FakeGpuArray)
        opt = torchlite.optim.Adam([p], lr=0.1)
        opt.step()
        opt.step()
        out.append(np.asarray(p._data).copy())
    assert fake_gpu == []  # no kernel launch
    np.testing.assert_array_equal(out[0], out[1])


def test_fusable():
    a = np.zeros((2, 3), np.float32)
    assert _fused.fusable((a, a.T.copy().T, a, a, None))  # a strided gradient is fine
    assert not _fused.fusable((a.astype(np.float16), a, a, a, None))
    assert not _fused.fusable((a, a.astype(np.float64), a, a, None))
    assert not _fused.fusable((a, a, np.asfortranarray(np.zeros((2, 3), np.float32)), a, None))
