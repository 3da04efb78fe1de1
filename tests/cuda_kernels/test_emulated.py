"""The fused kernels' wrappers and CUDA C sources, run on the CPU (tests/cuda_kernels/
_emulator.py): the sources compile as C++, every launch passes the argument types its C
signature declares, the launch geometry covers every element once, and the results equal the
NumPy references (bit for bit where the kernel uses only +, -, *, / and sqrt)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from torchlite._cuda_kernels import _common, activation, cross_entropy, dropout, optim

from . import _emulator as E
from ._optim_reference import adam_reference, sgd_reference
from .test_activation import assert_grad_close

pytestmark = pytest.mark.skipif(E.CXX is None, reason="needs Linux and a C++ compiler")


@pytest.fixture
def emu(monkeypatch):
    fake = E.fake_cupy()
    monkeypatch.setattr(_common, "cupy", lambda: fake)
    monkeypatch.setattr(_common, "_kernels", {})
    monkeypatch.setattr(optim, "_tables", optim._Tables())
    E.RawKernel.launches.clear()
    return fake


def _dev(arrays):
    return [E.dev(a.copy()) for a in arrays]


# -- optim ----------------------------------------------------------------------------------

SHAPES = [(3, 4), (0,), (optim.CHUNK + 17,), (2, 3, 5), (1,), (2 * optim.CHUNK,), (300, 70)]
ADAM_CASES = [dict(amsgrad=a, maximize=m, decoupled=d, weight_decay=w, beta1=b1)
              for a, m, d, w, b1 in itertools.product([False, True], [False, True],
                                                      [False, True], [0.0, 0.1], [0.9, 0.3])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ADAM_CASES[::5] + ADAM_CASES[-1:], ids=str)
def test_adam_kernel_is_the_reference_bit_for_bit(emu, dtype, case, rng):
    params = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    m, v, vmax = ([np.zeros_like(p) for p in params] for _ in range(3))
    devs = [_dev(x) for x in (params, m, v, vmax)]
    hyper = dict(lr=1e-2, beta1=case["beta1"], beta2=0.999, eps=1e-8,
                 weight_decay=case["weight_decay"], amsgrad=case["amsgrad"],
                 maximize=case["maximize"], decoupled=case["decoupled"])
    for step in range(1, 4):
        grads = [rng.normal(size=s).astype(dtype) for s in SHAPES]
        dgrads = _dev(grads)
        dgrads[-1] = E.dev(np.asfortranarray(grads[-1]))  # copied by the wrapper
        optim.adam_(devs[0], dgrads, devs[1], devs[2], devs[3] if case["amsgrad"] else None,
                    step=step, **hyper)
        adam_reference(params, grads, m, v, vmax, step=step, **hyper)
    for got, want in zip(devs, (params, m, v, vmax)):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(E.host(a), b)
    name, grid, block, _ = E.RawKernel.launches[-1]
    assert name == "tl_adam" and block == (optim.THREADS,)
    assert grid == (sum(max(1, -(-int(np.prod(s)) // optim.CHUNK)) for s in SHAPES),)


SGD_CASES = [dict(momentum=mo, dampening=da, nesterov=ne, weight_decay=w, maximize=mx)
             for mo, da, ne, w, mx in itertools.product([0.0, 0.9], [0.0, 0.3], [False, True],
                                                        [0.0, 0.01], [False, True])
             if not (ne and (mo == 0 or da != 0))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SGD_CASES[::3] + SGD_CASES[-1:], ids=str)
def test_sgd_kernel_is_the_reference_bit_for_bit(emu, dtype, case, rng):
    params = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    bufs = [np.full_like(p, np.nan) for p in params]  # the first step must overwrite them
    dparams, dbufs = _dev(params), _dev(bufs)
    for step in range(3):
        grads = [rng.normal(size=s).astype(dtype) for s in SHAPES]
        optim.sgd_(dparams, _dev(grads), dbufs, lr=0.05, first_step=step == 0, **case)
        sgd_reference(params, grads, bufs, lr=0.05, first_step=step == 0, **case)
    for a, b in zip(dparams, params):
        np.testing.assert_array_equal(E.host(a), b)
    if case["momentum"]:
        for a, b in zip(dbufs, bufs):
            np.testing.assert_array_equal(E.host(a), b)


def test_optim_kernels_are_built_without_fma(emu, rng):
    p = [E.dev(rng.normal(size=5).astype(np.float32))]
    optim.sgd_(p, p, lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False,
               maximize=False, first_step=False)
    optim.adam_(p, p, _dev([np.zeros(5, np.float32)]), _dev([np.zeros(5, np.float32)]),
                step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0,
                amsgrad=False, maximize=False, decoupled=False)
    for k in _common._kernels.values():
        assert "--fmad=false" in k.options


def test_pointer_table_cache_follows_addresses_and_sizes(emu, rng):
    kw = dict(lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False,
              first_step=False)
    params = _dev([rng.normal(size=s).astype(np.float32) for s in [(3,), (5, 2)]])
    grads = _dev([np.ones(p.shape, np.float32) for p in params])
    for _ in range(3):
        optim.sgd_(params, grads, **kw)
    assert len(optim._tables._tables) == 1
    # the same addresses with other sizes: views of the first elements
    small = [p.reshape(-1)[:2] for p in params]
    before = [E.host(p).copy() for p in params]
    optim.sgd_(small, [g.reshape(-1)[:2] for g in grads], **kw)
    assert len(optim._tables._tables) == 2
    for p, b in zip(params, before):  # only the first two elements moved
        flat, old = E.host(p).reshape(-1), b.reshape(-1)
        np.testing.assert_array_equal(flat[2:], old[2:])
        np.testing.assert_array_equal(flat[:2], old[:2] - np.float32(0.1))


def test_table_cache_key_has_the_device(emu):
    fake = type("cp", (), {"asarray": staticmethod(lambda h: E.dev(h.copy()))})
    tables = optim._Tables()
    host = np.zeros(3, np.int64)
    a, b = tables.get(fake, host, 0), tables.get(fake, host, 1)
    assert a is not b and tables.get(fake, host, 0) is a


def test_none_entries_are_refused_before_any_launch(emu):
    p = [E.dev(np.zeros(3, np.float32))]
    with pytest.raises(ValueError, match="None where an array is needed"):
        optim.sgd_(p, [None], lr=0.1, momentum=0, dampening=0, weight_decay=0,
                   nesterov=False, maximize=False, first_step=False)
    with pytest.raises(ValueError, match="None where an array is needed"):
        optim.sgd_(p, p, [None], lr=0.1, momentum=0.9, dampening=0, weight_decay=0,
                   nesterov=False, maximize=False, first_step=False)
    with pytest.raises(ValueError, match="amsgrad needs"):
        optim.adam_(p, p, p, p, None, step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                    weight_decay=0, amsgrad=True, maximize=False, decoupled=False)
    assert E.RawKernel.launches == []


# -- cross entropy --------------------------------------------------------------------------

CE_SIZES = [(4, 1), (3, 2), (5, 31), (5, 32), (6, 33), (3, 255), (3, 256), (3, 257), (2, 1000)]


def _ce_inputs(rng, dtype, n, c, weighted):
    x = (rng.normal(size=(n, c)) * 3).astype(dtype)
    t = rng.integers(0, c, size=n)
    t[0] = -100
    w = (rng.random(c) + 0.5).astype(dtype) if weighted else None
    return x, t, w


@pytest.mark.parametrize("n,c", CE_SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_kernels_equal_the_references(emu, n, c, dtype, rng):
    tol = dict(rtol=3e-6, atol=3e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for weighted, eps, reduction in itertools.product([False, True], [0.0, 0.1],
                                                      ["mean", "sum", "none"]):
        x, t, w = _ce_inputs(rng, dtype, n, c, weighted)
        dw = None if w is None else E.dev(w)
        loss, stats, coef = cross_entropy.cross_entropy_forward(E.dev(x), E.dev(t), dw,
                                                                label_smoothing=eps)
        r_loss, r_stats, r_coef = cross_entropy.cross_entropy_forward_reference(
            x, t, w, label_smoothing=eps)
        np.testing.assert_allclose(E.host(loss), r_loss, **tol)
        np.testing.assert_array_equal(E.host(stats)[:, 0], r_stats[:, 0])  # the max is exact
        np.testing.assert_allclose(E.host(stats)[:, 1], r_stats[:, 1], **tol)
        np.testing.assert_array_equal(E.host(coef), r_coef)
        g = rng.normal(size=(n,) if reduction == "none" else ()).astype(dtype)
        grad = cross_entropy.cross_entropy_backward(
            E.dev(x), E.dev(t), stats, E.dev(g), weight=dw, label_smoothing=eps,
            reduction=reduction, denom=coef.sum())
        r_grad = cross_entropy.cross_entropy_backward_reference(
            x, t, r_stats, g, weight=w, label_smoothing=eps, reduction=reduction,
            denom=r_coef.sum())
        np.testing.assert_allclose(E.host(grad), r_grad, **tol)
    for _, _, block, _ in E.RawKernel.launches:
        assert block[0] <= cross_entropy.MAX_THREADS and block[0] & (block[0] - 1) == 0


def test_cross_entropy_special_rows(emu):
    x = np.zeros((5, 40), np.float32)
    x[1, 7] = np.nan  # NaN wins the max, as NumPy's
    x[2, :] = -np.inf
    x[3, 39] = 1e4
    t = np.array([3, 3, 3, 39, 40])  # the last one out of range
    w = np.linspace(0.5, 2, 40).astype(np.float32)
    loss, stats, coef = cross_entropy.cross_entropy_forward(E.dev(x), E.dev(t), E.dev(w))
    r_loss, r_stats, r_coef = cross_entropy.cross_entropy_forward_reference(x, t, w)
    np.testing.assert_allclose(E.host(loss), r_loss, rtol=3e-6, atol=3e-6)
    np.testing.assert_array_equal(E.host(stats), r_stats)
    np.testing.assert_array_equal(E.host(coef), r_coef)
    assert np.isnan(E.host(loss)[[1, 2, 4]]).all() and E.host(coef)[4] == 1
    grad = cross_entropy.cross_entropy_backward(E.dev(x), E.dev(t), stats,
                                                E.dev(np.ones(5, np.float32)), weight=E.dev(w),
                                                reduction="none")
    assert (E.host(grad)[4] == 0).all()


def test_cross_entropy_argument_checks(emu):
    x, t = E.dev(np.zeros((3, 4), np.float32)), E.dev(np.zeros(3, np.int64))
    loss, stats, coef = cross_entropy.cross_entropy_forward(x, t)
    with pytest.raises(ValueError, match="cannot have shape"):
        cross_entropy.cross_entropy_backward(x, t, stats, E.dev(np.ones(2, np.float32)),
                                             reduction="none")
    with pytest.raises(ValueError, match="cannot have shape"):
        cross_entropy.cross_entropy_backward(x, t, stats, E.dev(np.ones(3, np.float32)),
                                             reduction="sum")
    with pytest.raises(ValueError, match="stats must be"):
        cross_entropy.cross_entropy_backward(x, t, stats[:2], E.dev(np.ones((), np.float32)),
                                             reduction="sum")
    with pytest.raises(ValueError, match="must be integers"):
        cross_entropy.cross_entropy_forward(x, E.dev(np.zeros(3, np.float32)))


# -- dropout --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,offset", [(1, 0), (1, 3), (2, 2), (5, 0), (7, 1), (1000, 0),
                                      (1001, 3), (4 * 256 + 1, 5), (70_001, 6),
                                      (9, 2**34 + 3), (3, 2**64 - 8)])
def test_dropout_kernel_is_the_reference_bit_for_bit(emu, dtype, n, offset, rng):
    x = rng.normal(size=n).astype(dtype)
    seed = 0x1234_5678_9ABC_DEF0
    y = dropout.dropout(E.dev(x), 0.4, seed=seed, offset=offset)
    np.testing.assert_array_equal(E.host(y), dropout.dropout_reference(x, 0.4, seed=seed,
                                                                        offset=offset))
    m = dropout.dropout_mask((n,), 0.4, seed=seed, offset=offset, dtype=dtype)
    np.testing.assert_array_equal(E.host(m), dropout.dropout_mask_reference(
        (n,), 0.4, seed=seed, offset=offset, dtype=dtype))
    g = rng.normal(size=n).astype(dtype)
    gx = dropout.dropout_grad(E.dev(g), 0.4, seed=seed, offset=offset)
    np.testing.assert_array_equal(E.host(gx), g * E.host(m))


@pytest.mark.parametrize("n,offset", [(1, 0), (4 * 3 * 8 + 1, 2), (4 * 3 * 8 * 5 + 3, 7)])
def test_dropout_grid_stride_loop(emu, monkeypatch, n, offset):
    """With the grid capped below one thread per counter, the loop takes the rest: each
    element is written once (a marker value survives nowhere)."""
    monkeypatch.setattr(dropout, "THREADS", 8)
    monkeypatch.setattr(dropout, "MAX_BLOCKS", 3)
    m = E.dev(np.full(n, -1.0, np.float32))
    dropout._launch(m, m, n, 0.5, 99, offset, mask_only=True)
    np.testing.assert_array_equal(E.host(m), dropout.dropout_mask_reference(
        (n,), 0.5, seed=99, offset=offset))


def test_dropout_out_is_checked(emu):
    x = E.dev(np.ones(6, np.float32))
    with pytest.raises(ValueError, match="out has shape"):
        dropout.dropout(x, 0.5, seed=1, out=E.dev(np.empty(5, np.float32)))
    with pytest.raises(ValueError, match="one dtype"):
        dropout.dropout(x, 0.5, seed=1, out=E.dev(np.empty(6, np.float64)))


def test_mask_from_uniform_kernel(emu, rng):
    u = rng.random((64, 33), dtype=np.float32)
    for p in (0.0, 0.25, 0.7, 1.0):
        m = dropout.mask_from_uniform(E.dev(u), p)
        np.testing.assert_array_equal(E.host(m), dropout.mask_from_uniform_reference(u, p))


# -- bias + activation ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", activation.ACTIVATIONS)
def test_bias_act_kernels_equal_the_references(emu, dtype, act, rng):
    tol = dict(rtol=4e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-14)
    for shape, bshape in [((16, 9), (9,)), ((2, 3, 4, 4), (3, 1, 1)), ((5,), None)]:
        x = (rng.normal(size=shape) * 3).astype(dtype)
        x.flat[0], x.flat[1] = 0.0, -0.0
        b = None if bshape is None else rng.normal(size=bshape).astype(dtype)
        y = E.dev(x.copy())
        saved = activation.bias_act(y, None if b is None else E.dev(b), act)
        assert (saved is y) == activation.saves_output(act)
        ref = x.copy()
        ref_saved = activation.bias_act_reference(ref, b, act)
        np.testing.assert_allclose(E.host(y), ref, **tol)
        np.testing.assert_allclose(E.host(saved), ref_saved, **tol)
        g = rng.normal(size=shape).astype(dtype)
        grad = activation.bias_act_grad(E.dev(g), saved, act)
        assert_grad_close(E.host(grad), activation.bias_act_grad_reference(g, ref_saved, act),
                          g, ref_saved, act, dtype, **tol)
    for k in _common._kernels.values():
        assert "--fmad=false" in k.options


@pytest.mark.parametrize("act", activation.ACTIVATIONS)
def test_bias_act_into_out_from_a_strided_view(emu, act, rng):
    # the convolution's use: a transposed view of the product in, a fresh (N, C, H, W) out
    cols = (rng.normal(size=(3, 2, 4, 5)) * 3).astype(np.float32)  # (C, N, H, W)
    b = rng.normal(size=(3, 1, 1)).astype(np.float32)
    src = E.dev(cols).transpose(1, 0, 2, 3)
    out = E.dev(np.empty((2, 3, 4, 5), np.float32))
    saved = activation.bias_act(src, E.dev(b), act, out=out)
    assert (saved is out) == activation.saves_output(act)
    ref_out = np.empty((2, 3, 4, 5), np.float32)
    ref_saved = activation.bias_act_reference(cols.transpose(1, 0, 2, 3), b, act, out=ref_out)
    np.testing.assert_allclose(E.host(out), ref_out, rtol=4e-6, atol=1e-6)
    np.testing.assert_allclose(E.host(saved), ref_saved, rtol=4e-6, atol=1e-6)
    np.testing.assert_array_equal(E.host(src), cols.transpose(1, 0, 2, 3))  # input untouched


# -- the emulator's own checks --------------------------------------------------------------

def test_argument_types_are_checked(emu):
    k = E.RawKernel("#define T float\n" + dropout.SOURCE, "tl_dropout")
    x = E.dev(np.zeros(4, np.float32))
    good = [x, x, np.int64(4), np.uint64(1), np.uint64(0), np.float32(0.5), np.float32(2),
            np.int32(0)]
    k.check_args(good)
    for i, bad in [(2, 4), (2, np.int32(4)), (5, 0.5), (5, np.float64(0.5)),
                   (0, E.dev(np.zeros(4, np.float64))), (0, np.zeros(4, np.float32)),
                   (1, E.dev(np.zeros((2, 2), np.float32)).T)]:
        args = list(good)
        args[i] = bad
        with pytest.raises(TypeError):
            k.check_args(args)


def test_a_barrier_after_a_divergent_return_is_caught(emu):
    src = r"""#define T float
extern "C" __global__ void bad(T* x, const int n) {
    __shared__ T red[64];
    if (threadIdx.x >= 16) return;
    red[threadIdx.x] = x[threadIdx.x];
    __syncthreads();
    x[threadIdx.x] = red[15 - threadIdx.x];
}
"""
    x = E.dev(np.arange(64, dtype=np.float32))
    with pytest.raises(RuntimeError, match="__syncthreads"):
        E.RawKernel(src, "bad")((1,), (64,), (x, np.int32(64)))


def test_a_block_reduction_runs_with_shared_memory(emu):
    src = r"""#define T double
extern "C" __global__ void block_sums(const T* x, T* out, const int n) {
    __shared__ T red[128];
    T acc = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) acc += x[(long long)blockIdx.x * n + i];
    red[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = red[0];
}
"""
    x = np.arange(3 * 300, dtype=np.float64).reshape(3, 300)
    out = E.dev(np.zeros(3))
    E.RawKernel(src, "block_sums")((3,), (128,), (E.dev(x), out, np.int32(300)))
    np.testing.assert_array_equal(E.host(out), x.sum(axis=1))
