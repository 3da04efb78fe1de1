"""torchlite._parallel (intra-op threads): chunked elementwise kernels give whole-array results."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite
from torchlite import _parallel


@pytest.fixture
def threads():
    saved = _parallel._threads, _parallel._user_set
    yield
    _parallel._threads, _parallel._user_set = saved
    _parallel._limit_blas(_parallel.get_num_threads())


def test_num_threads_roundtrip(threads):
    assert torchlite.get_num_threads() >= 1
    torchlite.set_num_threads(3)
    assert torchlite.get_num_threads() == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_rejects(bad, threads):
    with pytest.raises(ValueError, match="positive integer"):
        torchlite.set_num_threads(bad)


def _kernel(x, y, a):
    np.multiply(x, 3.0, out=a)
    a += y
    np.sqrt(np.abs(a, out=a), out=a)
    x -= a
    y *= 0.5


@pytest.mark.parametrize("size", [_parallel.PARALLEL_MIN + 12345, 3 * _parallel.CHUNK + 1, 100])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_elementwise_matches_whole_array(size, n_threads, threads, monkeypatch):
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", min(size, _parallel.PARALLEL_MIN))
    torchlite.set_num_threads(n_threads)
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(np.float32)
    y = rng.standard_normal(size).astype(np.float32)
    rx, ry, ra = x.copy(), y.copy(), np.empty_like(x)
    _kernel(rx, ry, ra)
    _parallel.elementwise(_kernel, [x, y], 1, np.float32)
    np.testing.assert_array_equal(x, rx)
    np.testing.assert_array_equal(y, ry)


def test_elementwise_non_contiguous_runs_whole(threads, monkeypatch):
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", 1)
    torchlite.set_num_threads(2)
    base = np.arange(40, dtype=np.float64).reshape(4, 10)
    x, y = base[:, ::2], np.ones((4, 5))
    rx, ry = x.copy(), y.copy()
    _kernel(rx, ry, np.empty_like(rx))
    _parallel.elementwise(_kernel, [x, y], 1, np.float64)
    np.testing.assert_array_equal(x, rx)
    np.testing.assert_array_equal(y, ry)


def test_elementwise_propagates_worker_errors(threads, monkeypatch):
    monkeypatch.setattr(_parallel, "PARALLEL_MIN", 1)
    torchlite.set_num_threads(2)

    def bad(x, a):
        raise FloatingPointError("boom")

    with pytest.raises(FloatingPointError, match="boom"):
        _parallel.elementwise(bad, [np.zeros(4 * _parallel.CHUNK)], 1, np.float64)


@pytest.mark.parametrize("opt_name,kw", [
    ("Adam", {}), ("Adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"maximize": True, "weight_decay": 0.01}), ("AdamW", {"weight_decay": 0.1}),
    ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-2}),
    ("SGD", {"momentum": 0.5, "dampening": 0.3}),
])
def test_optimizer_large_param_threads_agree(opt_name, kw, threads):
    """A parameter above PARALLEL_MIN takes the chunked path on 2 threads; its trajectory must
    equal the single-thread one bit for bit."""
    n = _parallel.PARALLEL_MIN + 4097
    rng = np.random.default_rng(0)
    init = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    out = []
    for n_threads in (1, 2):
        torchlite.set_num_threads(n_threads)
        p = torchlite.nn.Parameter(torchlite.tensor(init))
        opt = getattr(torchlite.optim, opt_name)([p], lr=1e-2, **kw)
        for g in grads:
            p.grad = torchlite.tensor(g)
            opt.step()
        out.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(out[0], out[1])
    assert not np.array_equal(out[0], init)


def test_balance_deals_largest_first_to_the_least_loaded():
    items = [("a", 0, 10), ("b", 0, 100), ("c", 0, 60), ("d", 0, 50)]
    shares = _parallel._balance(items, 2)
    loads = [sum(e - s for _, s, e in share) for share in shares]
    assert loads == [110, 110]  # b then a on one; c then d on the other
    assert sorted(it for share in shares for it in share) == sorted(items)


def test_adam_multi_tensor_threads_agree_on_mlp_shapes(threads):
    """An MLP-sized Adam group (535K parameters over six tensors) is cut into balanced chunks
    on two threads; the trajectory must equal the single-thread one bit for bit."""
    shapes = [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
    rng = np.random.default_rng(1)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(3)]
    out = []
    for n_threads in (1, 2):
        torchlite.set_num_threads(n_threads)
        ps = [torchlite.nn.Parameter(torchlite.tensor(a)) for a in init]
        opt = torchlite.optim.Adam(ps, lr=1e-2, weight_decay=0.01)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = torchlite.tensor(g)
            opt.step()
        out.append([p.detach().numpy().copy() for p in ps])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")


def test_set_num_threads_limits_blas_too(threads):
    pytest.importorskip("threadpoolctl")
    torchlite.set_num_threads(1)
    assert _blas_threads() == 1


@pytest.fixture
def no_env(monkeypatch, threads):
    for var in _parallel.THREAD_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    _parallel._user_set = False


def test_policy_small_work_gets_one_thread(no_env):
    choice = _parallel.thread_policy(None, _parallel.SMALL_WORK_MACS / 10)
    assert choice.threads == 1 and choice.source == "auto" and "small work" in choice.reason


def test_policy_large_work_gets_every_cpu(no_env):
    choice = _parallel.thread_policy(None, _parallel.SMALL_WORK_MACS * 10)
    assert choice.threads == _parallel._default_threads() and choice.source == "auto"


def test_policy_order_requested_then_set_then_env(no_env, monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert _parallel.thread_policy(None, 1.0).to_dict() == {
        "threads": 3, "source": "OPENBLAS_NUM_THREADS", "reason": ""}
    torchlite.set_num_threads(2)
    assert _parallel.thread_policy(None, 1.0).source == "set_num_threads"
    assert _parallel.thread_policy(4, 1.0).threads == 4
    with pytest.raises(ValueError, match="positive integer"):
        _parallel.thread_policy(0)


def test_auto_choice_does_not_count_as_set_by_the_user(no_env):
    _parallel.apply_threads(_parallel.thread_policy(None, 1.0))
    assert torchlite.get_num_threads() == 1
    # a later job picks again from its own work
    assert _parallel.thread_policy(None, _parallel.SMALL_WORK_MACS * 10).source == "auto"


def test_env_choice_leaves_blas_as_loaded(no_env, monkeypatch):
    pytest.importorskip("threadpoolctl")
    torchlite.set_num_threads(1)
    _parallel._user_set = False
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    _parallel.apply_threads(_parallel.thread_policy(None, 1.0))
    assert torchlite.get_num_threads() == 2 and _blas_threads() == 1


def test_import_torchlite_does_not_import_threadpoolctl():
    import subprocess
    import sys

    code = "import sys, torchlite; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
