"""Higher-order gradients in the programs that use them, against PyTorch in float64: a
physics-informed net, a WGAN-GP gradient penalty, Hessian-vector products, a MAML inner step."""

from __future__ import annotations

import numpy as np
import pytest

import torchlite as tl
import torchlite.nn.functional as TLF

pytestmark = pytest.mark.parity


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _same(a, b, atol=1e-12, rtol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)


def _params(rng, shapes):
    return [rng.standard_normal(s) * 0.5 for s in shapes]


def _mlp(lib, F, x, ws):
    h = x
    for i in range(0, len(ws) - 2, 2):
        h = lib.tanh(F.linear(h, ws[i], ws[i + 1]))
    return F.linear(h, ws[-2], ws[-1])


def _both(torch, arrays, grad=True):
    t = [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]
    m = [tl.tensor(a, dtype=tl.float64, requires_grad=grad) for a in arrays]
    return t, m


def test_pinn_second_derivative_loss_reaches_the_weights(torch):
    rng = np.random.default_rng(0)
    shapes = [(8, 1), (8,), (8, 8), (8,), (1, 8), (1,)]
    (tw, mw) = _both(torch, _params(rng, shapes))
    xs = rng.uniform(-1, 1, size=(16, 1))
    results = []
    for lib, F, ws in ((torch, torch.nn.functional, tw), (tl, TLF, mw)):
        x = lib.tensor(xs, dtype=lib.float64, requires_grad=True)
        u = _mlp(lib, F, x, ws)
        (du,) = lib.autograd.grad(u.sum(), x, create_graph=True)
        (d2u,) = lib.autograd.grad(du.sum(), x, create_graph=True)
        # the residual of u'' = -pi^2 sin(pi x), plus a boundary term
        residual = d2u + np.pi ** 2 * lib.sin(np.pi * x)
        loss = F.mse_loss(residual, lib.zeros_like(residual)) + u[0].pow(2).sum()
        loss.backward()
        results.append((u, du, d2u, loss, [w.grad for w in ws]))
    (tu, tdu, td2u, tloss, tgrads), (mu, mdu, md2u, mloss, mgrads) = results
    for a, b in ((tu, mu), (tdu, mdu), (td2u, md2u), (tloss, mloss)):
        _same(a, b)
    for a, b in zip(tgrads, mgrads):
        _same(a, b)


def _critic(lib, nn, F, seed_arrays, training_bn):
    conv_w, conv_b, ln_w, ln_b, lin_w, lin_b = seed_arrays

    def forward(x):
        h = F.conv2d(x, conv_w, conv_b, stride=2, padding=1)
        h = F.leaky_relu(h, 0.2)
        if training_bn:
            h = F.batch_norm(h, None, None, training=True)
        h = h.flatten(1)
        h = F.layer_norm(h, (h.shape[1],), ln_w, ln_b)
        return F.linear(h, lin_w, lin_b)

    return forward


@pytest.mark.parametrize("batch_norm", [False, True], ids=["layernorm", "batchnorm"])
def test_wgan_gp_gradient_penalty(torch, batch_norm):
    rng = np.random.default_rng(1)
    shapes = [(4, 2, 3, 3), (4,), (36,), (36,), (1, 36), (1,)]
    tw, mw = _both(torch, _params(rng, shapes))
    real = rng.standard_normal((3, 2, 6, 6))
    fake = rng.standard_normal((3, 2, 6, 6))
    eps = rng.uniform(size=(3, 1, 1, 1))
    results = []
    for lib, ws in ((torch, tw), (tl, mw)):
        critic = _critic(lib, lib.nn, lib.nn.functional, ws, batch_norm)
        mix = lib.tensor(eps * real + (1 - eps) * fake, dtype=lib.float64, requires_grad=True)
        score = critic(mix)
        (g,) = lib.autograd.grad(score, mix, grad_outputs=lib.ones_like(score),
                                 create_graph=True, retain_graph=True)
        penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss = score.mean() + 10 * penalty
        loss.backward()
        results.append((g, penalty, [w.grad for w in ws]))
    (tg, tp, tgrads), (mg, mp, mgrads) = results
    _same(tg, mg)
    _same(tp, mp)
    for a, b in zip(tgrads, mgrads):
        _same(a, b)


def test_hessian_vector_products(torch):
    rng = np.random.default_rng(2)
    shapes = [(5, 3), (5,), (2, 5), (2,)]
    arrays = _params(rng, shapes)
    x = rng.standard_normal((4, 3))
    y = rng.integers(0, 2, size=4)
    vs = [rng.standard_normal(s) for s in shapes]
    out = []
    for lib, F in ((torch, torch.nn.functional), (tl, TLF)):
        ws = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        loss = F.cross_entropy(_mlp(lib, F, lib.tensor(x, dtype=lib.float64), ws),
                               lib.tensor(y, dtype=lib.int64))
        grads = lib.autograd.grad(loss, ws, create_graph=True)
        dot = sum((g * lib.tensor(v, dtype=lib.float64)).sum() for g, v in zip(grads, vs))
        hv = lib.autograd.grad(dot, ws)
        # and through autograd.functional.hvp on the flattened first layer
        w0 = lib.tensor(arrays[0], dtype=lib.float64)

        def f(w, lib=lib, F=F, ws=ws):
            return F.cross_entropy(_mlp(lib, F, lib.tensor(x, dtype=lib.float64),
                                        [w] + [t.detach() for t in ws[1:]]),
                                   lib.tensor(y, dtype=lib.int64))

        _, hvp = lib.autograd.functional.hvp(f, w0, lib.tensor(vs[0], dtype=lib.float64))
        out.append((hv, hvp, lib.autograd.functional.hessian(f, w0)))
    (thv, thvp, th), (mhv, mhvp, mh) = out
    for a, b in zip(thv, mhv):
        _same(a, b)
    _same(thvp, mhvp)
    _same(th, mh)


def test_maml_inner_step_and_outer_loss(torch):
    rng = np.random.default_rng(3)
    shapes = [(6, 2), (6,), (1, 6), (1,)]
    tw, mw = _both(torch, _params(rng, shapes))
    xs, ys = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    xq, yq = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    results = []
    for lib, F, ws in ((torch, torch.nn.functional, tw), (tl, TLF, mw)):
        def t(a, lib=lib):
            return lib.tensor(a, dtype=lib.float64)

        fast = list(ws)
        for _ in range(2):  # two inner steps, each differentiable
            inner = F.mse_loss(_mlp(lib, F, t(xs), fast), t(ys))
            grads = lib.autograd.grad(inner, fast, create_graph=True)
            fast = [w - 0.1 * g for w, g in zip(fast, grads)]
        outer = F.mse_loss(_mlp(lib, F, t(xq), fast), t(yq))
        outer.backward()
        results.append((outer, [w.grad for w in ws]))
    (to, tgrads), (mo, mgrads) = results
    _same(to, mo)
    for a, b in zip(tgrads, mgrads):
        _same(a, b)
