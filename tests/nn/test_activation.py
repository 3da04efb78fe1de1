import math
import warnings

import numpy as np
import pytest
from _nn_checks import check_module_grads, npy, parity, rnd, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta=1.0, th=20.0):
    return np.where(beta * x > th, x, np.log1p(np.exp(beta * x)) / beta)


_ERF = np.vectorize(math.erf)
_A, _S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# name -> (torchlite module, numpy reference, PyTorch module name and args)
CASES = {
    "relu": (lambda: nn.ReLU(), lambda x: np.maximum(x, 0), ("ReLU", ())),
    "relu6": (lambda: nn.ReLU6(), lambda x: np.clip(x, 0, 6), ("ReLU6", ())),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x),
                   ("LeakyReLU", (0.2,))),
    "elu": (lambda: nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)),
            ("ELU", (0.7,))),
    "selu": (lambda: nn.SELU(), lambda x: _S * np.where(x > 0, x, _A * (np.exp(x) - 1)),
             ("SELU", ())),
    "celu": (lambda: nn.CELU(1.5), lambda x: np.maximum(x, 0) + np.minimum(
        0, 1.5 * (np.exp(x / 1.5) - 1)), ("CELU", (1.5,))),
    "gelu": (lambda: nn.GELU(), lambda x: 0.5 * x * (1 + _ERF(x / math.sqrt(2))), ("GELU", ())),
    "gelu_tanh": (lambda: nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))), ("GELU", ("tanh",))),
    "silu": (lambda: nn.SiLU(), lambda x: x * _sig(x), ("SiLU", ())),
    "mish": (lambda: nn.Mish(), lambda x: x * np.tanh(_softplus(x)), ("Mish", ())),
    "sigmoid": (lambda: nn.Sigmoid(), _sig, ("Sigmoid", ())),
    "tanh": (lambda: nn.Tanh(), np.tanh, ("Tanh", ())),
    "softplus": (lambda: nn.Softplus(2.0, 3.0), lambda x: _softplus(x, 2.0, 3.0),
                 ("Softplus", (2.0, 3.0))),
    "softsign": (lambda: nn.Softsign(), lambda x: x / (1 + np.abs(x)), ("Softsign", ())),
    "hardtanh": (lambda: nn.Hardtanh(-0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5),
                 ("Hardtanh", (-0.5, 1.5))),
    "hardsigmoid": (lambda: nn.Hardsigmoid(), lambda x: np.clip(x / 6 + 0.5, 0, 1),
                    ("Hardsigmoid", ())),
    "hardswish": (lambda: nn.Hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  ("Hardswish", ())),
    "threshold": (lambda: nn.Threshold(0.3, -2.0), lambda x: np.where(x > 0.3, x, -2.0),
                  ("Threshold", (0.3, -2.0))),
    "tanhshrink": (lambda: nn.Tanhshrink(), lambda x: x - np.tanh(x), ("Tanhshrink", ())),
    "softshrink": (lambda: nn.Softshrink(0.4), lambda x: np.where(
        x > 0.4, x - 0.4, np.where(x < -0.4, x + 0.4, 0)), ("Softshrink", (0.4,))),
    "hardshrink": (lambda: nn.Hardshrink(0.4), lambda x: np.where(np.abs(x) > 0.4, x, 0),
                   ("Hardshrink", (0.4,))),
    "logsigmoid": (lambda: nn.LogSigmoid(), lambda x: np.log(_sig(x)), ("LogSigmoid", ())),
    "softmax": (lambda: nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True),
                ("Softmax", (1,))),
    "log_softmax": (lambda: nn.LogSoftmax(dim=-1), lambda x: x - np.log(
        np.exp(x).sum(-1, keepdims=True)), ("LogSoftmax", (-1,))),
    "softmin": (lambda: nn.Softmin(dim=0), lambda x: np.exp(-x) / np.exp(-x).sum(
        0, keepdims=True), ("Softmin", (0,))),
    "glu": (lambda: nn.GLU(dim=1), lambda x: x[:, :2] * _sig(x[:, 2:]), ("GLU", (1,))),
}


def _input(seed=0, shape=(3, 4)):
    x = rnd(shape, seed, -4, 4)
    # keep clear of the kinks, where finite differences are meaningless
    for k in (0.0, 0.3, 0.4, -0.4, -0.5, 1.5, 3.0, -3.0, 6.0):
        x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
    return x


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_numpy_float32(name):
    make, ref, _ = CASES[name]
    x = _input().astype(np.float32)
    out = make()(t32(x))
    assert out.dtype == torchlite.float32
    np.testing.assert_allclose(npy(out), ref(x.astype(np.float64)), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_float64(name):
    make, _, _ = CASES[name]
    m = make()
    assert m.state_dict() == {}  # activations hold no state (PReLU is tested below)
    check_module_grads(m, t64(_input(1)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_grads_stay_float32(name):
    make, _, _ = CASES[name]
    x = t32(_input(2), requires_grad=True)
    make()(x).sum().backward()
    assert x.grad.dtype == torchlite.float32


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(CASES))
def test_parity(name):
    torch = pytest.importorskip("torch")
    make, _, (cls, args) = CASES[name]
    parity(make(), getattr(torch.nn, cls)(*args), _input(3).astype(np.float32))


def test_prelu_per_channel_and_shared():
    m = nn.PReLU(3, init=0.1)
    assert m.weight.shape == (3,)
    assert [k for k in m.state_dict()] == ["weight"]
    x = _input(4, (2, 3, 2))
    out = m(t32(x))
    np.testing.assert_allclose(npy(out), np.where(x > 0, x, 0.1 * x), rtol=1e-6)
    check_module_grads(nn.PReLU(3), t64(_input(5, (2, 3, 2))))
    check_module_grads(nn.PReLU(), t64(_input(6, (4,))))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        nn.PReLU(4)(t32(x))


@pytest.mark.parity
def test_prelu_parity():
    torch = pytest.importorskip("torch")
    parity(nn.PReLU(3), torch.nn.PReLU(3), _input(7, (2, 3, 4)).astype(np.float32))
    parity(nn.PReLU(), torch.nn.PReLU(), _input(8, (2, 3)).astype(np.float32))


def test_softmax_stable_for_huge_logits():
    x = t32([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]], requires_grad=True)
    p = F.softmax(x, dim=1)
    lp = F.log_softmax(x, dim=1)
    assert np.isfinite(npy(p)).all() and np.isfinite(npy(lp)).all()
    np.testing.assert_allclose(npy(p)[1], [1 / 3] * 3, rtol=1e-6)
    np.testing.assert_allclose(npy(lp)[0], [0.0, -1e4, -2e4])
    (lp[:, 0]).sum().backward()
    assert np.isfinite(npy(x.grad)).all()


def test_softmax_dtype_argument_and_implicit_dim_warning():
    x = t32(_input())
    out = F.softmax(x, dim=1, dtype=torchlite.float64)
    assert out.dtype == torchlite.float64
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(x)
    np.testing.assert_allclose(npy(y).sum(1), 1.0, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.log_softmax(x, 0)


def test_softmax_zero_d():
    assert float(F.softmax(t32(3.0), dim=0)) == 1.0


def test_inplace_writes_into_input_without_grad():
    x = t32([-1.0, 2.0])
    out = F.relu(x, inplace=True)
    assert out is x and npy(x).tolist() == [0.0, 2.0]
    y = t32([-1.0, 2.0])
    nn.LeakyReLU(0.5, inplace=True)(y)
    assert npy(y).tolist() == [-0.5, 2.0]
    z = t32([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        nn.ReLU(inplace=True)(z)  # as PyTorch: a leaf that requires grad refuses
    assert npy(z).tolist() == [-1.0, 2.0]


def test_reprs_match_pytorch():
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(nn.Softmax(1)) == "Softmax(dim=1)"
    assert repr(nn.PReLU()) == "PReLU(num_parameters=1)"
    assert repr(nn.Threshold(0.1, 20)) == "Threshold(threshold=0.1, value=20)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)"


def test_bad_arguments():
    with pytest.raises(ValueError):
        F.gelu(t32([1.0]), approximate="fast")
    with pytest.raises(RuntimeError, match="floating-point"):
        F.silu(torchlite.tensor([1, 2]))
    with pytest.raises(IndexError):
        F.softmax(t32([[1.0]]), dim=2)


@pytest.mark.parity
def test_gradients_at_the_kinks_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.array([-3.0, 3.0, 0.0, 6.0, -1.0, 1.0, 0.5, -0.5], dtype=np.float32)
    for name in ("hardswish", "hardsigmoid", "relu6", "hardtanh", "relu", "leaky_relu",
                 "softshrink", "hardshrink"):
        a, b = t32(x, True), torch.tensor(x, requires_grad=True)
        getattr(F, name)(a).sum().backward()
        getattr(torch.nn.functional, name)(b).sum().backward()
        np.testing.assert_array_equal(npy(a.grad), b.grad.numpy(), err_msg=name)


def test_rrelu_train_and_eval():
    m = nn.RReLU(0.1, 0.3)
    x = -np.abs(_input(9, (50, 40))) - 0.1
    torchlite.manual_seed(0)
    slopes = npy(m(t32(x))) / x
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6 and slopes.std() > 0.03
    m.eval()
    np.testing.assert_allclose(npy(m(t32(x))) / x, 0.2, rtol=1e-5)
    check_module_grads(nn.RReLU().eval(), t64(_input(10)))

    def fixed(a):
        return F.rrelu(a, training=True, generator=torchlite.Generator().manual_seed(1))

    from _nn_checks import check_fn_grads

    check_fn_grads(fixed, t64(_input(11)))


def test_softmax2d_and_inplace_variants():
    x = _input(12, (2, 3, 2, 2))
    out = npy(nn.Softmax2d()(t32(x)))
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-6)
    for fn in (F.elu_, F.selu_, F.celu_, F.leaky_relu_, F.hardtanh_):
        y = t32(x)
        assert fn(y) is y and (npy(y) != x.astype(np.float32)).any()
    z = t32(x)
    F.threshold_(z, 0.0, -1.0)
    assert npy(z).min() == -1.0


# inplace=True while autograd records: the input is changed and takes over the history, as
# Tensor.relu_() does. Each case, on x = [-1, 2]: (name, fn(F, nn, h), h after, d(sum(h*h))/dx).
_ELU_M1 = math.exp(-1.0) - 1.0  # elu(-1)
_SIGM1 = 1.0 / (1.0 + math.exp(1.0))  # sigmoid(-1)
_INPLACE_CASES = [
    ("relu", lambda F, nn, h: F.relu(h, inplace=True), [0.0, 2.0], [0.0, 4.0]),
    ("relu_", lambda F, nn, h: F.relu_(h), [0.0, 2.0], [0.0, 4.0]),
    ("ReLU", lambda F, nn, h: nn.ReLU(inplace=True)(h), [0.0, 2.0], [0.0, 4.0]),
    # 2 * (0.1 x) * 0.1 = -0.02 at x = -1
    ("leaky_relu", lambda F, nn, h: F.leaky_relu(h, 0.1, inplace=True), [-0.1, 2.0],
     [-0.02, 4.0]),
    # 2 * elu(x) * exp(x) at x = -1
    ("elu", lambda F, nn, h: F.elu(h, inplace=True), [_ELU_M1, 2.0],
     [2.0 * _ELU_M1 * math.exp(-1.0), 4.0]),
    # clipped to [-1, 1]: gradient 0 where clipped
    ("Hardtanh", lambda F, nn, h: nn.Hardtanh(inplace=True)(h), [-1.0, 1.0], [0.0, 0.0]),
    ("relu6", lambda F, nn, h: F.relu6(h, inplace=True), [0.0, 2.0], [0.0, 4.0]),
    # x <= 0.5 -> 7
    ("threshold", lambda F, nn, h: F.threshold(h, 0.5, 7.0, inplace=True), [7.0, 2.0],
     [0.0, 4.0]),
    # silu(-1) = -s; silu'(x) = s(x) (1 + x (1 - s(x)))
    ("silu", lambda F, nn, h: F.silu(h, inplace=True),
     [-_SIGM1, 2.0 / (1.0 + math.exp(-2.0))],
     [2.0 * -_SIGM1 * _SIGM1 * (1.0 - (1.0 - _SIGM1)),
      2.0 * (2.0 / (1.0 + math.exp(-2.0))) * (1.0 / (1.0 + math.exp(-2.0)))
      * (1.0 + 2.0 * (1.0 - 1.0 / (1.0 + math.exp(-2.0))))]),
]


def _inplace_case(T, Fm, nnm, fn):
    x = T.tensor([-1.0, 2.0], requires_grad=True)
    h = x * 1
    out = fn(Fm, nnm, h)
    assert out is h
    (h * h).sum().backward()
    return h.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("name,fn,value,grad", _INPLACE_CASES, ids=[c[0] for c in _INPLACE_CASES])
def test_inplace_with_grad_changes_input_and_history(name, fn, value, grad):
    h, g = _inplace_case(torchlite, F, nn, fn)
    np.testing.assert_allclose(h, value, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g, grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parity
@pytest.mark.parametrize("name,fn,value,grad", _INPLACE_CASES, ids=[c[0] for c in _INPLACE_CASES])
def test_inplace_with_grad_matches_pytorch(name, fn, value, grad):
    torch = pytest.importorskip("torch")
    h, g = _inplace_case(torch, torch.nn.functional, torch.nn, fn)
    np.testing.assert_allclose(h, value, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g, grad, rtol=1e-5, atol=1e-7)


def test_inplace_activation_reaches_views_of_input():
    x = t32([-1.0, 2.0, -3.0], requires_grad=True)
    y = x * 2
    v = y[1:]
    F.relu(y, inplace=True)
    (v * t32([1.0, 5.0])).sum().backward()
    assert npy(v).tolist() == [4.0, 0.0]
    assert npy(x.grad).tolist() == [0.0, 2.0, 0.0]  # torch gives the same


def test_inplace_activation_on_leaf_that_requires_grad_raises():
    x = t32([-1.0, 2.0], requires_grad=True)
    for fn in (lambda t: F.leaky_relu(t, inplace=True), F.elu_, lambda t: F.silu(t, True)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            fn(x)
    assert npy(x).tolist() == [-1.0, 2.0]
    with torchlite.no_grad():  # not recorded: allowed, as in PyTorch
        F.relu(x, inplace=True)
    assert npy(x).tolist() == [0.0, 2.0]


def test_inplace_dropout_with_grad():
    x = t32(np.ones(1000), requires_grad=True)
    h = x * 1
    out = F.dropout(h, 0.5, training=True, inplace=True)
    assert out is h
    kept = npy(h) != 0
    assert set(np.unique(npy(h)).tolist()) <= {0.0, 2.0}
    h.sum().backward()
    np.testing.assert_array_equal(npy(x.grad), np.where(kept, 2.0, 0.0))
