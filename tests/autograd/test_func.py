"""torchlite.func: grad (nested, argnums, has_aux, pytrees), vjp, jvp, jacrev/jacfwd, hessian,
vmap (in_dims, out_dims, pytrees, randomness) and functional_call (a MAML step differentiated
through), against analytic derivatives, and against torch.func where PyTorch is installed."""

import numpy as np
import pytest

import torchlite
from torchlite import func, nn

T = torchlite.tensor
F64 = torchlite.float64


def x64(*values):
    return T(list(values), dtype=F64)


def f(v):
    return (v.sin() * v).sum()


def test_grad_nests_and_follows_argnums_aux_and_pytrees():
    x = x64(0.3, -1.2, 2.0)
    xs = x.numpy()
    np.testing.assert_allclose(func.grad(f)(x).numpy(), np.cos(xs) * xs + np.sin(xs))
    second = func.grad(lambda v: func.grad(f)(v).sum())(x)
    np.testing.assert_allclose(second.numpy(), 2 * np.cos(xs) - xs * np.sin(xs))
    np.testing.assert_allclose(func.hessian(f)(x).numpy(),
                               np.diag(2 * np.cos(xs) - xs * np.sin(xs)), atol=1e-12)
    ga, gb = func.grad(lambda a, b: (a * b * b).sum(), argnums=(0, 1))(x, 2 * x)
    np.testing.assert_allclose(ga.numpy(), 4 * xs ** 2)
    np.testing.assert_allclose(gb.numpy(), 4 * xs ** 2)
    g, aux = func.grad(lambda v: (f(v), v.max()), has_aux=True)(x)
    assert aux.item() == 2.0
    tree = {"w": x, "pair": (x * 2, x * 3)}
    gt = func.grad(lambda d: (d["w"] * d["pair"][0] * d["pair"][1]).sum())(tree)
    np.testing.assert_allclose(gt["pair"][1].numpy(), 2 * xs ** 2)
    g, value = func.grad_and_value(f)(x)
    assert value.item() == pytest.approx(float((np.sin(xs) * xs).sum()))
    assert not g.requires_grad and not x.requires_grad
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        func.grad(lambda v: v * 2)(x)
    with pytest.raises(RuntimeError, match="argnums"):
        func.grad(f, argnums=3)(x)


def test_jacobians_vjp_and_jvp():
    x = x64(0.5, -0.2, 1.1)
    w = T(np.random.default_rng(0).standard_normal((2, 3)))
    xs, ws = x.numpy(), w.numpy()
    want = ws * np.exp(xs)
    for transform in (func.jacrev, func.jacfwd):
        np.testing.assert_allclose(transform(lambda v: w @ v.exp())(x).numpy(), want)
    out, vjp_fn = func.vjp(lambda v: w @ v.exp(), x)
    (back,) = vjp_fn(x64(1.0, 2.0))
    np.testing.assert_allclose(back.numpy(), np.array([1.0, 2.0]) @ want)
    np.testing.assert_allclose(vjp_fn(x64(0.0, 1.0))[0].numpy(), want[1])  # called again
    value, product = func.jvp(lambda v: w @ v.exp(), (x,), (x64(1.0, 0.0, -1.0),))
    np.testing.assert_allclose(product.numpy(), want @ np.array([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(value.numpy(), ws @ np.exp(xs))


def test_vmap_maps_slices_and_stacks():
    m = T(np.arange(6.0).reshape(2, 3), dtype=F64)
    v = x64(1.0, 2.0, 3.0)
    np.testing.assert_allclose(func.vmap(lambda row: (row * v).sum())(m).numpy(), [8.0, 26.0])
    got = func.vmap(lambda a, b: a * b, in_dims=(1, None))(m, T(2.0, dtype=F64))
    np.testing.assert_allclose(got.numpy(), 2 * m.numpy().T)
    got = func.vmap(lambda a: (a * 2, a.sum()), out_dims=(1, 0))(m)
    np.testing.assert_allclose(got[0].numpy(), 2 * m.numpy().T)
    np.testing.assert_allclose(got[1].numpy(), [3.0, 12.0])
    per_example = func.vmap(func.grad(f))(m)  # per-example gradients
    np.testing.assert_allclose(per_example.numpy(),
                               np.cos(m.numpy()) * m.numpy() + np.sin(m.numpy()))
    batched = func.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": None},))
    np.testing.assert_allclose(batched({"a": m, "b": v}).numpy(), m.numpy() + v.numpy())
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        func.vmap(lambda a, b: a + b)(m, x64(1.0, 2.0, 3.0))


def test_vmap_randomness():
    ones = torchlite.ones(3, 2)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        func.vmap(lambda a: a * torchlite.rand(2))(ones)
    same = func.vmap(lambda a: a * torchlite.rand(2), randomness="same")(ones).numpy()
    assert (same == same[0]).all()
    different = func.vmap(lambda a: a * torchlite.rand(2), randomness="different")(ones).numpy()
    assert not (different == different[0]).all()


def test_functional_call_and_a_maml_step():
    torchlite.manual_seed(0)
    model = nn.Linear(3, 1).double()
    x = T(np.random.default_rng(1).standard_normal((4, 3)))
    y = T(np.random.default_rng(2).standard_normal((4, 1)))
    params = dict(model.named_parameters())
    fresh = {k: v.detach() * 0 + 1 for k, v in params.items()}
    out = func.functional_call(model, fresh, (x,))
    np.testing.assert_allclose(out.detach().numpy(), x.numpy().sum(1, keepdims=True) + 1)
    assert model.weight is params["weight"]  # restored

    def loss(p, xb, yb):
        return ((func.functional_call(model, p, (xb,)) - yb) ** 2).mean()

    def adapted_loss(p):
        g = func.grad(loss)(p, x, y)  # an inner SGD step, kept in the graph
        stepped = {k: p[k] - 0.1 * g[k] for k in p}
        return loss(stepped, x, y)

    meta = func.grad(adapted_loss)(params)
    eps = 1e-6  # a finite-difference check of the second-order meta-gradient
    w = params["weight"].detach().clone()
    bump = {k: v.detach() for k, v in params.items()}
    bump["weight"] = w + T([[eps, 0.0, 0.0]], dtype=F64)
    up = adapted_loss(bump).item()
    bump["weight"] = w - T([[eps, 0.0, 0.0]], dtype=F64)
    down = adapted_loss(bump).item()
    assert meta["weight"][0, 0].item() == pytest.approx((up - down) / (2 * eps), rel=1e-5)
    with pytest.raises(RuntimeError, match="missing keys"):
        func.functional_call(model, {"weight": fresh["weight"]}, (x,), strict=True)


@pytest.mark.parity
def test_matches_torch_func():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(4)
    w = np.random.default_rng(1).standard_normal((3, 4))
    results = []
    for lib in (torchlite, torch):
        X, W = lib.tensor(x), lib.tensor(w)
        g = lib.func
        r = [g.grad(lambda v: (v.sin() * v).sum())(X),
             g.hessian(lambda v: (v.exp() * v).sum())(X),
             g.jacrev(lambda v, W=W: W @ v.tanh())(X),
             g.vmap(g.grad(lambda v: (v ** 3).sum()))(W),
             g.vmap(lambda a, b: a @ b, in_dims=(0, None))(W, X),
             g.jvp(lambda v, W=W: W @ v.exp(), (X,), (lib.ones(4, dtype=lib.float64),))[1],
             g.vjp(lambda v, W=W: W @ v.exp(), X)[1](lib.ones(3, dtype=lib.float64))[0]]
        results.append([t.detach().numpy() for t in r])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_gradients_reach_captured_tensors_and_flow_through_jvp():
    x = x64(0.5, 1.5)
    w = T([2.0, 3.0], dtype=F64, requires_grad=True)
    g = func.grad(lambda v: (w * v ** 2).sum())(x)  # a gradient penalty on a captured weight
    g.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.numpy())
    w.grad = None
    func.jacrev(lambda v: w * v.exp())(x).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.exp(x.numpy()))
    w.grad = None
    _, vjp_fn = func.vjp(lambda v: w * v, x)
    vjp_fn(x64(1.0, 1.0))[0].sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 1.0])
    v = x64(1.0, 2.0)
    through = func.grad(lambda y: func.jvp(lambda z: z ** 3, (y,), (v,))[1].sum())(x)
    np.testing.assert_allclose(through.numpy(), 6 * x.numpy() * v.numpy())
    assert not func.grad(lambda y: (y ** 2).sum())(x).requires_grad  # nothing to keep
