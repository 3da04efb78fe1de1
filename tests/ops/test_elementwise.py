"""Binary elementwise ops: forward vs NumPy (float32), float64 gradchecks, promotion, errors."""

import numpy as np
import pytest
from _core_checks import check_forward, check_grad, data, leaf, noncontig_leaf, to_np

import torchlite
from torchlite.ops import elementwise as ew

# name -> (torchlite function, NumPy reference, how to draw the two operands)
BINARY = {
    "add": (lambda a, b: a + b, np.add, "any"),
    "sub": (lambda a, b: a - b, np.subtract, "any"),
    "mul": (lambda a, b: a * b, np.multiply, "any"),
    "div": (lambda a, b: a / b, np.divide, "den"),
    "pow": (lambda a, b: a**b, np.power, "pos_base"),
    "maximum": (torchlite.maximum, np.maximum, "any"),
    "minimum": (torchlite.minimum, np.minimum, "any"),
    "remainder": (lambda a, b: a % b, np.remainder, "den"),
    "fmod": (torchlite.fmod, np.fmod, "den"),
    "sub_alpha": (lambda a, b: torchlite.sub(a, b, alpha=2.5), lambda a, b: a - 2.5 * b, "any"),
    "add_alpha": (lambda a, b: torchlite.add(a, b, alpha=-2), lambda a, b: a - 2 * b, "any"),
    "rsub": (torchlite.rsub, lambda a, b: b - a, "any"),
    "clamp_tensor": (lambda a, b: torchlite.clamp(a, min=b), np.maximum, "any"),
    "where": (lambda a, b: torchlite.where(a > 0.3, a, b), lambda a, b: np.where(a > 0.3, a, b),
              "any"),
}

SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()), ((4,), (3, 4)),
          ((2, 1, 3), (4, 1))]


def _operands(kind, sa, sb, seed=0):
    a = data(sa, seed, away_from_zero=True)
    b = data(sb, seed + 1, away_from_zero=True)
    if kind == "pos_base":
        a = np.abs(a) + 0.5
    if kind == "den":
        b = np.sign(b) * (np.abs(b) + 1.3)  # |b| > 1.8, so a / b stays away from integers
    return a, b


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_forward_matches_numpy(name, shapes, device):
    fn, ref, kind = BINARY[name]
    a, b = _operands(kind, *shapes)
    check_forward(fn, ref, a, b, device=device)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_gradcheck_broadcast(name, shapes):
    fn, _, kind = BINARY[name]
    check_grad(fn, *_operands(kind, *shapes))


@pytest.mark.parametrize("kind", ["T", "step"])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_gradcheck_noncontiguous(name, kind):
    fn, ref, how = BINARY[name]
    a, b = _operands(how, (3, 4), (3, 4), seed=3)
    ta, tb = noncontig_leaf(a, kind), noncontig_leaf(b, kind)
    assert not ta.is_contiguous()
    check_grad(fn, ta, tb)
    np.testing.assert_allclose(to_np(fn(ta, tb)), ref(a, b), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_gradcheck_views_made_inside(name):
    fn, _, how = BINARY[name]
    a, b = _operands(how, (4, 3), (3, 8), seed=5)
    check_grad(lambda x, y: fn(x.t(), y[:, ::2]), a, b)


@pytest.mark.parametrize(
    "fn",
    [lambda x: x * x, lambda x: x + x, lambda x: x - x, lambda x: x / x, lambda x: x**x,
     lambda x: torchlite.maximum(x, x), lambda x: torchlite.minimum(x, x * 1.0),
     lambda x: x * x * x + x / (x * x)],
    ids=["mul", "add", "sub", "div", "pow", "maximum", "minimum", "chain"],
)
def test_gradcheck_repeated_input(fn):
    check_grad(fn, np.abs(data((2, 3), 7)) + 0.5)


def test_repeated_input_values():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2.0, 4.0, 6.0])
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [2.0, 2.0, 2.0])


SCALAR_EXPRS = [
    (lambda x: x + 2.5, lambda x: x + 2.5),
    (lambda x: 2.5 + x, lambda x: 2.5 + x),
    (lambda x: x - 3, lambda x: x - 3),
    (lambda x: 3 - x, lambda x: 3 - x),
    (lambda x: x * np.float64(2), lambda x: x * 2),
    (lambda x: x / 3, lambda x: x / 3),
    (lambda x: 3 / x, lambda x: 3 / x),
    (lambda x: x**2, lambda x: x**2),
    (lambda x: x**0.5, np.sqrt),
    (lambda x: 2**x, lambda x: 2**x),
    (lambda x: x ** np.float32(3), lambda x: x**3),
    (lambda x: -x, lambda x: -x),
    (lambda x: x % 0.7, lambda x: np.remainder(x, np.float32(0.7))),
    (lambda x: torchlite.clamp(x, 0.6, 1.2), lambda x: np.clip(x, 0.6, 1.2)),
    (lambda x: torchlite.clamp(x, min=0.8), lambda x: np.maximum(x, 0.8)),
    (lambda x: x.clamp(max=0.9), lambda x: np.minimum(x, 0.9)),
    (lambda x: torchlite.lerp(x, x * 3, 0.25), lambda x: x + 0.25 * (3 * x - x)),
    (lambda x: torchlite.addcmul(x, x, x, value=0.5), lambda x: x + 0.5 * x * x),
    (lambda x: torchlite.addcdiv(x, x, x + 1, value=2), lambda x: x + 2 * x / (x + 1)),
    (lambda x: torchlite.where(x > 1, x, 0.0), lambda x: np.where(x > 1, x, 0)),
]


@pytest.mark.parametrize("k", range(len(SCALAR_EXPRS)))
def test_scalar_operands_forward_and_grad(k, device):
    fn, ref = SCALAR_EXPRS[k]
    a = data((2, 3), k, low=0.5, high=1.9)
    check_forward(fn, ref, a, device=device)
    check_grad(fn, a)


def test_clamp_gradient_at_boundary_is_passed_through():
    x = leaf([0.0, 1.0, 2.0, 3.0])
    x.clamp(1.0, 2.0).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 1.0, 1.0, 0.0])


def test_maximum_tie_splits_gradient():
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    torchlite.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), [0.5, 0.0])
    np.testing.assert_array_equal(to_np(b.grad), [0.5, 1.0])


def test_pow_zero_base_and_zero_exponent():
    a = leaf([0.0, 0.0, 2.0])
    b = leaf([2.0, 0.0, 0.0])
    out = a**b
    np.testing.assert_array_equal(to_np(out), [0.0, 1.0, 1.0])
    out.sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(to_np(b.grad), [0.0, 0.0, np.log(2.0)])
    x = leaf([0.0, 1.0])
    (x**2).sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), [0.0, 2.0])


def test_where_gradient_goes_to_selected_branch():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([10.0])
    cond = torchlite.tensor([True, False, True])
    out = torchlite.where(cond, a, b)
    np.testing.assert_array_equal(to_np(out), [1.0, 10.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(to_np(a.grad), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(to_np(b.grad), [1.0])


# --------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize(
    "expr, dtype",
    [
        (lambda i, f: i + i, torchlite.int64),
        (lambda i, f: i * 2, torchlite.int64),
        (lambda i, f: i / i, torchlite.float32),
        (lambda i, f: i / 2, torchlite.float32),
        (lambda i, f: i * 2.5, torchlite.float32),
        (lambda i, f: i // 2, torchlite.int64),
        (lambda i, f: i % 3, torchlite.int64),
        (lambda i, f: i**2, torchlite.int64),
        (lambda i, f: i + f, torchlite.float32),
        (lambda i, f: f * np.float64(2), torchlite.float32),
        (lambda i, f: f + torchlite.tensor(1.0, dtype=torchlite.float64), torchlite.float32),
        (lambda i, f: f + torchlite.ones(3, dtype=torchlite.float64), torchlite.float64),
        (lambda i, f: i + torchlite.tensor(1.5), torchlite.float32),
        (lambda i, f: i.to(torchlite.int32) + i, torchlite.int64),
        (lambda i, f: i.to(torchlite.int32) * 3, torchlite.int32),
        (lambda i, f: i.to(torchlite.uint8) + i.to(torchlite.int8), torchlite.int16),
        (lambda i, f: (i > 1) + (i > 2), torchlite.bool),
        (lambda i, f: (i > 1) * 2, torchlite.int64),
        (lambda i, f: (i > 1) * 2.0, torchlite.float32),
        (lambda i, f: f.half() * 2.0, torchlite.float16),
        (lambda i, f: torchlite.maximum(i, f), torchlite.float32),
        (lambda i, f: torchlite.where(i > 1, i, f), torchlite.float32),
        (lambda i, f: torchlite.where(i > 1, i, 0), torchlite.int64),
        (lambda i, f: torchlite.where(i > 1, 1.0, 0.0), torchlite.float32),
        (lambda i, f: torchlite.where(i > 1, 1, 0), torchlite.int64),
    ],
)
def test_result_dtype(expr, dtype):
    i = torchlite.tensor([1, 2, 3])
    f = torchlite.tensor([1.0, 2.0, 3.0])
    assert expr(i, f).dtype == dtype


def test_integer_division_and_modulus_follow_python():
    a = torchlite.tensor([-7, 7, -7, 7])
    b = torchlite.tensor([2, -2, 3, 3])
    np.testing.assert_array_equal(to_np(a // b), [-4, -4, -3, 2])
    np.testing.assert_array_equal(to_np(a % b), [1, -1, 2, 1])
    np.testing.assert_array_equal(to_np(torchlite.fmod(a, b)), [-1, 1, -1, 1])
    np.testing.assert_allclose(to_np(a / b), [-3.5, -3.5, -7 / 3, 7 / 3], rtol=1e-6)
    np.testing.assert_array_equal(to_np(torchlite.div(a, b, rounding_mode="trunc")),
                                  [-3, -3, -2, 2])
    np.testing.assert_array_equal(to_np(torchlite.div(a, b, rounding_mode="floor")),
                                  [-4, -4, -3, 2])
    assert torchlite.div(a, b, rounding_mode="trunc").dtype == torchlite.int64


def test_float_remainder_sign_of_divisor():
    a = torchlite.tensor([-7.5, 7.5])
    np.testing.assert_allclose(to_np(a % 2), [0.5, 1.5])
    np.testing.assert_allclose(to_np(torchlite.fmod(a, 2)), [-1.5, 1.5])


def test_rounding_division_has_zero_gradient():
    # as PyTorch: rounded quotients stay in the graph and pass back zeros
    x = leaf([1.5, -2.5], dtype=torchlite.float32)
    for mode in ("trunc", "floor"):
        out = torchlite.div(x, 0.3, rounding_mode=mode)
        assert out.requires_grad and out.dtype == torchlite.float32
        (g,) = torchlite.autograd.grad(out.sum(), x)
        np.testing.assert_array_equal(to_np(g), [0.0, 0.0])
    assert not (x // 1).requires_grad  # floor_divide: PyTorch has no derivative either
    assert torchlite.div(torchlite.tensor([7, -7]), 2, rounding_mode="trunc").tolist() == [3, -3]
    assert torchlite.div(torchlite.tensor([7, -7]), 2, rounding_mode="floor").tolist() == [3, -4]
    np.testing.assert_allclose(to_np(torchlite.div(x, 0.4, rounding_mode="trunc")), [3.0, -6.0])
    np.testing.assert_allclose(to_np(torchlite.div(x, 0.4, rounding_mode="floor")), [3.0, -7.0])


def test_array_like_operands():
    t = torchlite.tensor([1.0, 2.0])
    np.testing.assert_allclose(to_np(t + [1.0, 1.0]), [2.0, 3.0])
    r = np.float32(2) * t  # NumPy scalars defer to the Tensor's reflected operator
    assert isinstance(r, torchlite.Tensor) and r.dtype == torchlite.float32
    np.testing.assert_allclose(to_np(r), [2.0, 4.0])
    assert isinstance(np.ones(2) + t, torchlite.Tensor)
    assert (t + [1.0, 1.0]).dtype == torchlite.float32


def test_out_argument():
    out = torchlite.zeros(2)
    r = torchlite.add(torchlite.tensor([1.0, 2.0]), 1, out=out)
    assert r is out
    np.testing.assert_array_equal(to_np(out), [2.0, 3.0])


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_shape_mismatch_names_op_and_shapes(op):
    a, b = torchlite.ones(2, 3), torchlite.ones(4)
    with pytest.raises(RuntimeError) as exc:
        getattr(torchlite, op)(a, b)
    msg = str(exc.value)
    assert op in msg and "(2, 3)" in msg and "(4,)" in msg


def test_where_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"where.*\(3,\).*\(2,\)"):
        torchlite.where(torchlite.ones(3) > 0, torchlite.ones(3), torchlite.ones(2))


def _on_fake_gpu(t):
    """A CPU tensor labelled as living on cuda:0: exercises the device-mix checks without a GPU."""
    t._device = torchlite.device("cuda:0")
    return t


@pytest.mark.parametrize("op", ["add", "mul", "sub", "div", "maximum"])
def test_device_mix_names_op_and_devices(op):
    with pytest.raises(RuntimeError) as exc:
        getattr(torchlite, op)(torchlite.ones(2), _on_fake_gpu(torchlite.ones(2)))
    msg = str(exc.value)
    assert op in msg and "cpu" in msg and "cuda:0" in msg


def test_integer_negative_power_errors():
    with pytest.raises(RuntimeError, match="pow"):
        torchlite.tensor([2, 3]) ** -1


def test_maximum_needs_tensors():
    with pytest.raises(TypeError, match="maximum"):
        torchlite.maximum(torchlite.ones(2), 1.0)


def test_clamp_needs_a_bound():
    with pytest.raises(RuntimeError, match="clamp"):
        torchlite.clamp(torchlite.ones(2))


def test_div_bad_rounding_mode():
    with pytest.raises(ValueError, match="rounding_mode"):
        torchlite.div(torchlite.ones(2), 2, rounding_mode="round")


def test_unsupported_operand_type():
    with pytest.raises(TypeError):
        torchlite.ones(2) + "a"


# --------------------------------------------------------------------------------------------
# PyTorch parity


@pytest.mark.parity
@pytest.mark.parametrize(
    "name, fa, fb",
    [
        ("maximum_ties", [1.0, 2.0, 3.0], [1.0, 5.0, 3.0]),
        ("minimum_ties", [1.0, 2.0, 3.0], [1.0, 5.0, 3.0]),
        ("pow", [0.0, 0.5, 2.0], [2.0, 0.0, -1.5]),
        ("div", [1.0, -2.0, 3.0], [4.0, 0.5, -2.0]),
        ("remainder", [-7.5, 7.5, 1.0], [2.0, -2.0, 0.3]),
        ("fmod", [-7.5, 7.5, 1.0], [2.0, -2.0, 0.3]),
        ("clamp_bounds", [0.0, 1.0, 2.0], [1.0, 1.0, 1.5]),
    ],
)
def test_parity_binary(name, fa, fb):
    torch = pytest.importorskip("torch")
    fns = {
        "maximum_ties": lambda m, a, b: m.maximum(a, b),
        "minimum_ties": lambda m, a, b: m.minimum(a, b),
        "pow": lambda m, a, b: a**b,
        "div": lambda m, a, b: a / b,
        "remainder": lambda m, a, b: m.remainder(a, b),
        "fmod": lambda m, a, b: m.fmod(a, b),
        "clamp_bounds": lambda m, a, b: m.clamp(a, min=b, max=b + 0.5),
    }
    fn = fns[name]
    results = []
    for m in (torchlite, torch):
        a = m.tensor(fa, requires_grad=True)
        b = m.tensor(fb, requires_grad=True)
        out = fn(m, a, b)
        (out * m.tensor([1.0, 2.0, 3.0])).sum().backward()
        results.append([np.asarray(v.detach().numpy()) for v in (out, a.grad, b.grad)])
    for mine, theirs in zip(*results):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parity
def test_parity_clamp_scalar_bounds_at_boundary():
    torch = pytest.importorskip("torch")
    grads = []
    for m in (torchlite, torch):
        x = m.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
        x.clamp(0.0, 1.0).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_elementwise_module_exports():
    from torchlite.ops import ternary

    assert ew.true_divide is ew.div and ternary.clip is ternary.clamp
    assert torchlite.clip is torchlite.clamp and torchlite.where is ternary.where


def test_clamp_follows_promotion():
    # a float bound lifts an integer tensor to the default float dtype, never float64
    out = torchlite.tensor([1, 5]).clamp(max=2.5)
    assert out.dtype == torchlite.float32 and out.tolist() == [1.0, 2.5]
    x = torchlite.tensor([1.0, 5.0], requires_grad=True)
    y = x.clamp(max=torchlite.tensor([2.0, 6.0], dtype=torchlite.float64))
    assert y.dtype == torchlite.float64
    y.sum().backward()
    assert x.grad.dtype == torchlite.float32 and x.grad.tolist() == [1.0, 1.0]


def test_add_sub_alpha_with_a_number():
    assert torchlite.zeros(2).add(1, alpha=2).tolist() == [2.0, 2.0]
    assert torchlite.tensor([1, 2]).sub(1, alpha=2).tolist() == [-1, 0]


@pytest.mark.parametrize("op", ["mul", "div", "matmul", "linear"])
def test_an_operand_without_grad_may_change_after_use(op):
    # as PyTorch: only what backward needs is saved, so modifying the other operand is fine
    import torchlite.nn.functional as F

    x = torchlite.tensor([[1.0, 2.0]], requires_grad=True)
    h = x * 1
    w = torchlite.tensor([[3.0, 0.0], [0.0, 3.0]])
    z = {"mul": lambda: h * 3, "div": lambda: h / (1 / 3), "matmul": lambda: h @ w,
         "linear": lambda: F.linear(h, w)}[op]()
    h.add_(1)
    z.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), [[3.0, 3.0]], rtol=1e-6)


def test_a_saved_operand_changed_in_place_is_an_error():
    x = torchlite.tensor([1.0, 2.0], requires_grad=True)
    w = torchlite.tensor([3.0, 4.0], requires_grad=True)
    h = x * 1
    z = h * w  # dw needs h
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_atan2_quadrants_and_gradient():
    y = torchlite.tensor([1.0, -1.0, 1.0, -1.0], dtype=torchlite.float64, requires_grad=True)
    x = torchlite.tensor([1.0, 1.0, -1.0, -1.0], dtype=torchlite.float64, requires_grad=True)
    np.testing.assert_allclose(to_np(torchlite.atan2(y, x)),
                               np.arctan2([1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0]))
    assert torchlite.autograd.gradcheck(torchlite.atan2, (y, x))
    assert torchlite.atan2(torchlite.tensor([1, 2]), torchlite.tensor([3, 4])).dtype == \
        torchlite.float32


def test_finfo_iinfo():
    assert torchlite.finfo(torchlite.float32).eps == float(np.finfo(np.float32).eps)
    assert torchlite.finfo().max == float(np.finfo(np.float32).max)
    assert torchlite.iinfo(torchlite.int64).max == 2**63 - 1
    with pytest.raises(TypeError):
        torchlite.finfo(torchlite.int32)


def test_integer_overflow_wraps_and_division_by_zero_raises():
    # PyTorch's integer semantics: scalars wrap to the tensor's dtype; // and % by 0 raise
    assert (torchlite.tensor([1, 2], dtype=torchlite.uint8) + 300).tolist() == [45, 46]
    assert (torchlite.tensor([1, 2], dtype=torchlite.int8) - 200).tolist() == [57, 58]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torchlite.tensor([3, 4]) // 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torchlite.tensor([3, 4]) % torchlite.tensor([1, 0])
    assert (torchlite.tensor([3.0, -4.0]) // 0).tolist() == [float("inf"), float("-inf")]


# ----------------------------------------------------------------------------------------------
# floating-point pairs: logaddexp, logaddexp2, copysign, hypot, nextafter, xlogy

PAIRS = {
    "logaddexp": np.logaddexp,
    "logaddexp2": np.logaddexp2,
    "copysign": np.copysign,
    "hypot": np.hypot,
    "xlogy": lambda a, b: np.where(a == 0, 0.0, a * np.log(np.abs(b) + 0.0)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_float_pairs_forward_and_grad(name):
    a, b = data((3, 4), 1), data((4,), 2, away_from_zero=True)
    if name == "xlogy":
        b = np.abs(b)
    check_forward(getattr(torchlite, name), PAIRS[name], a, b, rtol=2e-6)
    check_grad(getattr(torchlite, name), a, b)


def test_float_pairs_edges():
    inf = float("inf")
    r = torchlite.logaddexp(torchlite.tensor([-inf, inf, -inf]), torchlite.tensor([-inf, inf, 1.0]))
    assert to_np(r).tolist() == [-inf, inf, 1.0]
    assert torchlite.xlogy(torchlite.tensor([0.0, 0.0]), torchlite.tensor([0.0, 2.0])).tolist() \
        == [0.0, 0.0]
    assert np.isnan(torchlite.xlogy(torchlite.tensor([0.0]), float("nan")).item())
    x = leaf([0.0, 1.0, -2.0])
    torchlite.copysign(x, -1.0).sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, 1.0]
    one = torchlite.tensor([1.0])
    assert torchlite.nextafter(one, torchlite.tensor([2.0])).item() > 1.0
    assert torchlite.copysign(torchlite.tensor([1, 2]), -1).dtype == torchlite.float32
    assert torchlite.xlogy(torchlite.tensor([1, 2]), 3).dtype == torchlite.float32
    for name in ("logaddexp", "logaddexp2", "hypot", "nextafter"):
        with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
            getattr(torchlite, name)(torchlite.tensor([1]), torchlite.tensor([2]))
    with pytest.raises(TypeError):
        torchlite.hypot(torchlite.tensor([3.0]), 4)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "copysign", "hypot", "nextafter",
                                  "xlogy"])
def test_float_pairs_parity_with_pytorch(name):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    inf = np.inf
    a = np.concatenate([r.uniform(-5, 5, 100), [-inf, inf, -inf, 0.0, 3.0, 0.0, -0.0]])
    b = np.concatenate([r.uniform(-5, 5, 100), [-inf, inf, inf, -0.0, -2.0, 2.0, 0.0]])
    for dt in ("float32", "float64"):
        got = getattr(torchlite, name)(torchlite.tensor(a.astype(dt)),
                                       torchlite.tensor(b.astype(dt)))
        exp = getattr(torch, name)(torch.tensor(a.astype(dt)), torch.tensor(b.astype(dt)))
        np.testing.assert_allclose(to_np(got), exp.numpy(), rtol=1e-6, atol=1e-6)
        assert str(got.dtype)[-7:] == str(exp.dtype)[-7:]
    if name == "nextafter":
        return
    aa, bb = np.abs(a[:100]) + 0.1, b[:100]
    t, u = leaf(aa), leaf(bb)
    getattr(torchlite, name)(t, u).sum().backward()
    ta, tb = torch.tensor(aa, requires_grad=True), torch.tensor(bb, requires_grad=True)
    getattr(torch, name)(ta, tb).sum().backward()
    np.testing.assert_allclose(to_np(t.grad), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(to_np(u.grad), tb.grad.numpy(), rtol=1e-10, atol=1e-12,
                               equal_nan=True)


def test_heaviside_ldexp_frexp():
    x = torchlite.tensor([-1.0, 0.0, 2.0])
    assert torchlite.heaviside(x, torchlite.tensor([0.5])).tolist() == [0.0, 0.5, 1.0]
    assert torchlite.heaviside(torchlite.tensor([1, 0, -1]), torchlite.tensor([7])).tolist() \
        == [1, 7, 0]
    with pytest.raises(RuntimeError, match="different dtypes"):
        torchlite.heaviside(torchlite.tensor([1, 0]), torchlite.tensor([1.0]))
    assert torchlite.ldexp(torchlite.tensor([1.0, 2.0]), torchlite.tensor([3, -1])).tolist() \
        == [8.0, 1.0]
    assert torchlite.ldexp(torchlite.tensor([1, 2]), torchlite.tensor([3, 1])).dtype \
        == torchlite.float32
    check_grad(torchlite.ldexp, data((3,), 1), data((3,), 2))
    m, e = torchlite.frexp(torchlite.tensor([8.0, 0.3, -5.0, 0.0]))
    np.testing.assert_allclose(to_np(m), [0.5, 0.6, -0.625, 0.0], rtol=1e-6)
    assert e.tolist() == [4, -1, 3, 0] and e.dtype == torchlite.int32
    check_grad(lambda t: torchlite.frexp(t).mantissa, data((4,), 3))
    assert torchlite.positive(x) is x and x.ravel().shape == (3,)
    with pytest.raises(RuntimeError):
        torchlite.positive(torchlite.tensor([True]))


@pytest.mark.parametrize("name", sorted(PAIRS) + ["ldexp"])
def test_float_pairs_gradgradcheck(name):
    a, b = leaf(data((3,), 4, 0.3, 2)), leaf(data((3,), 5, 0.3, 2))
    assert torchlite.autograd.gradgradcheck(getattr(torchlite, name), [a, b])


def test_fmod_integers_as_pytorch():
    a = torchlite.tensor([5, -5, 7], dtype=torchlite.int16)
    r = torchlite.fmod(a, 3)
    assert r.tolist() == [2, -2, 1] and r.dtype == torchlite.int16
    assert torchlite.fmod(a, torchlite.tensor([-3, 3, 2], dtype=torchlite.int16)).tolist() \
        == [2, -2, 1]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torchlite.fmod(a, 0)
    with pytest.raises(TypeError, match="must be Tensor"):
        torchlite.fmod(7, a)


@pytest.mark.parity
@pytest.mark.parametrize("op", ["fmod", "remainder"])
def test_fmod_remainder_parity_with_pytorch(op):
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(0)
    for dt in ("int8", "int16", "int32", "int64", "uint8", "float32", "float64"):
        lo = 0 if dt == "uint8" else -50
        a = r.integers(lo, 50, 60).astype(dt)
        b = r.integers(1, 7, 60).astype(dt) * (1 if dt == "uint8" else r.choice([-1, 1], 60)
                                               .astype(dt))
        if dt.startswith("float"):
            a, b = a + r.uniform(-1, 1, 60).astype(dt), b + r.uniform(-0.4, 0.4, 60).astype(dt)
        for other in (b, 3, 2.5):
            mine = getattr(torchlite, op)(torchlite.tensor(a), torchlite.tensor(other)
                                          if isinstance(other, np.ndarray) else other)
            ref = getattr(torch, op)(torch.tensor(a), torch.tensor(other)
                                     if isinstance(other, np.ndarray) else other)
            assert str(mine.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
            np.testing.assert_allclose(to_np(mine).astype(float), ref.numpy().astype(float),
                                       rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_power_is_numpys_pow_bit_for_bit_and_a_new_array(dtype):
    # x**1 (and the derivative of x**2, which reads it) copies instead of NumPy's generic pow
    vals = np.array([0.0, -0.0, 1e-45, -2.5, 3e38, np.inf, -np.inf, np.nan, 7.0], dtype=dtype)
    x = torchlite.from_numpy(vals.copy()).requires_grad_()
    y = x**1
    with np.errstate(all="ignore"):
        ref = vals**1
    bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(y._data.view(bits), ref.view(bits))
    assert not np.shares_memory(y._data, x._data)
    t = torchlite.rand(3, 4).t()  # the layout NumPy's pow gives a transposed input
    assert (t**1)._data.strides == (t._data**1).strides
    (x**2).sum().backward()
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(x.grad._data.view(bits), (np.ones_like(vals) * 2 * ref)
                                      .view(bits))


def test_lerp_is_evaluated_from_end_at_large_weights():
    """PyTorch's formula: start + w (end - start) below |w| = 0.5, end - (end - start)(1 - w)
    from there on, so w = 1 gives end exactly."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(1000).astype(np.float32)
    b = rng.standard_normal(1000).astype(np.float32)
    got = torchlite.lerp(torchlite.tensor(a), torchlite.tensor(b), 1.0).numpy()
    np.testing.assert_array_equal(got, b)
    for w in (0.7, -0.6):
        want = b - (b - a) * np.float32(1 - w)
        np.testing.assert_array_equal(
            torchlite.lerp(torchlite.tensor(a), torchlite.tensor(b), w).numpy(), want)
    w = rng.uniform(-1, 1.5, 1000).astype(np.float32)
    want = np.where(np.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))
    got = torchlite.lerp(torchlite.tensor(a), torchlite.tensor(b), torchlite.tensor(w)).numpy()
    np.testing.assert_array_equal(got, want)
    x = torchlite.tensor(a)
    x.lerp_(torchlite.tensor(b), 1.0)
    np.testing.assert_array_equal(x.numpy(), b)
