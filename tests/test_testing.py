"""torch.testing: assert_close's tolerances, containers and messages (the same text as
PyTorch's where it is installed), and make_tensor's ranges, dtypes and layouts."""

import math

import numpy as np
import pytest

import torchlite
from torchlite.testing import assert_close, make_tensor

T = torchlite.tensor


def message(fn) -> str:
    with pytest.raises(AssertionError) as info:
        fn()
    return str(info.value)


def test_default_tolerances_follow_the_dtype():
    assert_close(T([1.0, 2.0]), T([1.0, 2.0 + 2e-6]))  # within float32's 1e-5 + 1.3e-6 * 2
    message(lambda: assert_close(T([1.0, 2.0]), T([1.0, 2.0 + 5e-5])))
    d = torchlite.float64
    assert_close(T([1.0], dtype=d), T([1.0 + 1e-7], dtype=d))
    message(lambda: assert_close(T([1.0], dtype=d), T([1.0 + 1e-6], dtype=d)))
    h = torchlite.float16
    assert_close(T([1.0], dtype=h), T([1.0009765625], dtype=h))  # one float16 step
    message(lambda: assert_close(T([1, 2]), T([1, 3])))  # integers: exact
    assert_close(T([1.0, 2.0]), T([1.4, 2.0]), rtol=0.0, atol=0.5)
    with pytest.raises(ValueError, match="no atol"):
        assert_close(T([1.0]), T([1.0]), rtol=0.1)


def test_nan_inf_dtype_shape_and_device_checks():
    nan = T([math.nan, 1.0])
    assert "nan at index (0,)" in message(lambda: assert_close(nan, nan))
    assert_close(nan, nan, equal_nan=True)
    inf = T([math.inf, -math.inf])
    assert_close(inf, inf)
    text = message(lambda: assert_close(T([1.0]), T([1.0], dtype=torchlite.float64)))
    assert text == ("The values for attribute 'dtype' do not match: torch.float32 != "
                    "torch.float64.")
    assert_close(T([1.0]), T([1.0], dtype=torchlite.float64), check_dtype=False)
    assert "'shape' do not match" in message(lambda: assert_close(T([1.0, 2.0]), T([1.0])))


def test_the_report_names_the_worst_element():
    text = message(lambda: assert_close(T([[1.0, 2.0], [3.0, 4.0]]), T([[1.0, 2.0], [3.0, 5.0]])))
    assert text.splitlines() == [
        "Tensor-likes are not close!", "",
        "Mismatched elements: 1 / 4 (25.0%)",
        "Greatest absolute difference: 1.0 at index (1, 1) (up to 1e-05 allowed)",
        "Greatest relative difference: 0.20000000298023224 at index (1, 1) (up to 1.3e-06 "
        "allowed)"]
    assert message(lambda: assert_close(T([1.0]), T([2.0]), msg="custom")) == "custom"
    assert message(lambda: assert_close(T([1.0]), T([2.0]), msg=lambda m: "x" + m[:6])) == \
        "xTensor"


def test_containers_numbers_and_arrays():
    assert_close([T([1.0]), (2, 3.0)], [T([1.0]), (2, 3.0)])
    text = message(lambda: assert_close([T([1.0]), 2], [T([1.0]), 3]))
    assert text.endswith("The failure occurred for item [1]")
    assert "Scalars are not equal!" in text and "Expected 3 but got 2." in text
    text = message(lambda: assert_close({"a": T([1.0])}, {"b": T([1.0])}))
    assert "Missing keys in the actual mapping: ['b']" in text
    text = message(lambda: assert_close({"w": T([1.0])}, {"w": T([1.5])}))
    assert text.endswith("The failure occurred for item ['w']")
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert "not close" in message(lambda: assert_close(np.array([1.0]), np.array([1.1])))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(T([1.0]), np.array([1.0]))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(T(1.0), 1.0)


def test_state_dicts_compare_whole():
    model = torchlite.nn.Linear(3, 2)
    assert_close(model.state_dict(), {k: v.clone() for k, v in model.state_dict().items()})


def test_make_tensor_ranges_and_layouts():
    torchlite.manual_seed(0)
    f = make_tensor((200,), dtype=torchlite.float32, device="cpu")
    assert f.dtype == torchlite.float32 and -9 <= f.min().item() and f.max().item() < 9
    g = make_tensor(3, 4, dtype=torchlite.float64, device="cpu", low=2, high=3)
    assert tuple(g.shape) == (3, 4) and 2 <= g.min().item() and g.max().item() < 3
    i = make_tensor((500,), dtype=torchlite.int64, device="cpu", low=0, high=3)
    assert set(i.tolist()) == {0, 1, 2}  # high is exclusive
    u = make_tensor((500,), dtype=torchlite.uint8, device="cpu")
    assert 0 <= min(u.tolist()) and max(u.tolist()) < 10
    b = make_tensor((50,), dtype=torchlite.bool, device="cpu")
    assert set(b.tolist()) == {True, False}
    nz = make_tensor((500,), dtype=torchlite.int32, device="cpu", low=-1, high=2,
                     exclude_zero=True)
    assert 0 not in nz.tolist()
    nc = make_tensor((3, 4), dtype=torchlite.float32, device="cpu", noncontiguous=True)
    assert tuple(nc.shape) == (3, 4) and not nc.is_contiguous()
    r = make_tensor((2,), dtype=torchlite.float32, device="cpu", requires_grad=True)
    assert r.requires_grad and r.is_leaf
    with pytest.raises(ValueError, match="low must be less than or equal to high"):
        make_tensor((2,), dtype=torchlite.float32, device="cpu", low=3, high=1)
    with pytest.raises(ValueError, match="requires_grad"):
        make_tensor((2,), dtype=torchlite.int64, device="cpu", requires_grad=True)


@pytest.mark.parity
def test_messages_match_pytorch():
    torch = pytest.importorskip("torch")
    cases = [
        ([1.0, 2.0, 3.0], [1.0, 2.001, 3.0], {}),
        ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 5.0]], {}),
        ([1, 2], [1, 3], {}),
        ([1.0, 2.0], [1.5, 2.0], {"rtol": 0.1, "atol": 0.1}),
        ([math.nan, 1.0], [math.nan, 1.0], {}),
    ]
    for a, e, kw in cases:
        mine = message(lambda a=a, e=e, kw=kw: assert_close(T(a), T(e), **kw))
        with pytest.raises(AssertionError) as theirs:
            torch.testing.assert_close(torch.tensor(a), torch.tensor(e), **kw)
        assert mine == str(theirs.value)
    for a, e in ((1, 2), ([1.0, 2], [1.0, 3])):
        mine = message(lambda a=a, e=e: assert_close(a, e))
        with pytest.raises(AssertionError) as theirs:
            torch.testing.assert_close(a, e)
        assert mine == str(theirs.value)
