"""Fused Adam and SGD: the NumPy references equal torchlite's CPU updates bit for bit (here),
and the kernels equal the references bit for bit (on a GPU)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import torchlite
from torchlite._cuda_kernels import optim as K
from torchlite.optim.adam import _adam_update
from torchlite.optim.sgd import _sgd_update

from ._optim_reference import adam_reference, sgd_reference

SHAPES = [(3, 4), (7,), (1,), (2, 3, 5)]
ADAM_CASES = [dict(amsgrad=a, maximize=m, decoupled=d, weight_decay=w, beta1=b1)
              for a, m, d, w, b1 in itertools.product([False, True], [False, True],
                                                      [False, True], [0.0, 0.1], [0.9, 0.3])]
SGD_CASES = [dict(momentum=mo, dampening=da, nesterov=ne, weight_decay=w, maximize=mx)
             for mo, da, ne, w, mx in itertools.product([0.0, 0.9], [0.0, 0.3], [False, True],
                                                        [0.0, 0.01], [False, True])
             if not (ne and (mo == 0 or da != 0))]


def _adam_hyper(case):
    return dict(lr=1e-2, beta1=case["beta1"], beta2=0.999, eps=1e-8,
                weight_decay=case["weight_decay"], amsgrad=case["amsgrad"],
                maximize=case["maximize"])


def _copies(arrays):
    return [a.copy() for a in arrays]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ADAM_CASES, ids=str)
def test_adam_reference_is_the_cpu_update(dtype, case, rng):
    params = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    m, v, vmax = ([np.zeros_like(p) for p in params] for _ in range(3))
    ref = [_copies(x) for x in (params, m, v, vmax)]
    hyper = _adam_hyper(case)
    for step in range(1, 5):
        grads = [rng.normal(size=s).astype(dtype) for s in SHAPES]
        for i in range(len(params)):
            _adam_update(params[i], grads[i], m[i], v[i], vmax[i] if case["amsgrad"] else None,
                         step=step, decoupled_weight_decay=case["decoupled"], **hyper)
        adam_reference(ref[0], grads, ref[1], ref[2], ref[3], step=step,
                       decoupled=case["decoupled"], **hyper)
    for got, want in zip(ref, (params, m, v, vmax)):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls,decoupled", [("Adam", False), ("AdamW", True)])
def test_adam_reference_follows_the_optimizer(cls, decoupled, rng):
    """The arguments an integration passes, read off the optimizer's param group."""
    params = [torchlite.tensor(rng.normal(size=s).astype(np.float32), requires_grad=True)
              for s in SHAPES]
    opt = getattr(torchlite.optim, cls)(params, lr=3e-3, betas=(0.8, 0.99), weight_decay=0.05,
                                        amsgrad=True)
    ref = [p.detach().numpy().copy() for p in params]
    m, v, vmax = ([np.zeros_like(p) for p in ref] for _ in range(3))
    for step in range(1, 4):
        grads = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
        for p, g in zip(params, grads):
            p.grad = torchlite.tensor(g)
        opt.step()
        group = opt.param_groups[0]
        adam_reference(ref, grads, m, v, vmax, step=step, lr=group["lr"],
                       beta1=group["betas"][0], beta2=group["betas"][1], eps=group["eps"],
                       weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                       maximize=group["maximize"], decoupled=decoupled)
    for p, r in zip(params, ref):
        np.testing.assert_array_equal(p.detach().numpy(), r)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SGD_CASES, ids=str)
def test_sgd_reference_is_the_cpu_update(dtype, case, rng):
    params = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    ref = _copies(params)
    bufs = [None] * len(params)
    ref_bufs = [np.empty_like(p) for p in params]
    for step in range(4):
        grads = [rng.normal(size=s).astype(dtype) for s in SHAPES]
        for i in range(len(params)):
            bufs[i] = _sgd_update(params[i], grads[i], bufs[i], lr=0.05, **case)
        sgd_reference(ref, grads, ref_bufs, lr=0.05, first_step=step == 0, **case)
    for a, b in zip(ref, params):
        np.testing.assert_array_equal(a, b)


def test_arguments_are_checked_before_any_gpu_work():
    p = [np.zeros(3, np.float32)]
    with pytest.raises(TypeError, match="float32 or float64"):
        K.adam_([np.zeros(3, np.float16)], [np.zeros(3, np.float16)], [np.zeros(3, np.float16)],
                [np.zeros(3, np.float16)], step=1, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0, amsgrad=False, maximize=False, decoupled=False)
    with pytest.raises(ValueError, match="share the parameters' dtype and shapes"):
        K.sgd_(p, [np.zeros(4, np.float32)], lr=0.1, momentum=0, dampening=0, weight_decay=0,
               nesterov=False, maximize=False, first_step=True)
    with pytest.raises(ValueError, match="momentum buffers"):
        K.sgd_(p, p, None, lr=0.1, momentum=0.9, dampening=0, weight_decay=0, nesterov=False,
               maximize=False, first_step=True)
    with pytest.raises(ValueError, match="not C-contiguous"):
        K.sgd_([np.zeros((3, 2), np.float32).T], [np.zeros((2, 3), np.float32)], lr=0.1,
               momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False,
               first_step=True)


def test_block_map_covers_every_element_once():
    sizes = (0, 1, K.CHUNK, K.CHUNK + 1, 3 * K.CHUNK - 5)
    tail, n_blocks = K._blocks(sizes)
    n = len(sizes)
    owner, start = tail[n:n + n_blocks], tail[n + n_blocks:]
    for t, size in enumerate(sizes):
        starts = sorted(start[owner == t])
        assert starts == list(range(0, max(size, 1), K.CHUNK))


# -- on the GPU ---------------------------------------------------------------------------------

GPU_SHAPES = [(3, 4), (0,), (K.CHUNK + 17,), (2, 3, 5), (1,), (300, 70)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ADAM_CASES[::3] + ADAM_CASES[-1:], ids=str)
def test_adam_kernel_equals_the_reference(cp, dtype, case, rng):
    params = [rng.normal(size=s).astype(dtype) for s in GPU_SHAPES]
    m, v, vmax = ([np.zeros_like(p) for p in params] for _ in range(3))
    dev = [[cp.asarray(a) for a in x] for x in (params, m, v, vmax)]
    hyper = _adam_hyper(case)
    for step in range(1, 4):
        grads = [rng.normal(size=s).astype(dtype) for s in GPU_SHAPES]
        dgrads = [cp.asarray(g) for g in grads]
        dgrads[-1] = cp.asfortranarray(dgrads[-1])  # a non-contiguous gradient is copied
        K.adam_(dev[0], dgrads, dev[1], dev[2], dev[3], step=step,
                decoupled=case["decoupled"], **hyper)
        adam_reference(params, grads, m, v, vmax, step=step, decoupled=case["decoupled"],
                       **hyper)
    for got, want in zip(dev, (params, m, v, vmax)):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(cp.asnumpy(a), b)  # no FMA: the same bits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SGD_CASES, ids=str)
def test_sgd_kernel_equals_the_reference(cp, dtype, case, rng):
    params = [rng.normal(size=s).astype(dtype) for s in GPU_SHAPES]
    bufs = [np.empty_like(p) for p in params]
    dparams, dbufs = [cp.asarray(p) for p in params], [cp.empty_like(cp.asarray(p))
                                                        for p in params]
    for step in range(3):
        grads = [rng.normal(size=s).astype(dtype) for s in GPU_SHAPES]
        K.sgd_(dparams, [cp.asarray(g) for g in grads], dbufs, lr=0.05, first_step=step == 0,
               **case)
        sgd_reference(params, grads, bufs, lr=0.05, first_step=step == 0, **case)
    for a, b in zip(dparams, params):
        np.testing.assert_array_equal(cp.asnumpy(a), b)


def test_pointer_tables_are_cached(cp, rng):
    params = [cp.asarray(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
    grads = [cp.ones_like(p) for p in params]
    K._tables._tables.clear()
    for _ in range(3):
        K.sgd_(params, grads, lr=0.1, momentum=0, dampening=0, weight_decay=0, nesterov=False,
               maximize=False, first_step=False)
    assert len(K._tables._tables) == 1
