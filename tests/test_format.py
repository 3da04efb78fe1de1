"""Tensor printing: PyTorch's layout (aligned columns, notation choice, summaries, suffixes)."""

import numpy as np
import pytest

import torchlite

T = torchlite.tensor
CASES = [
    (T([1.0, 2.0]), "tensor([1., 2.])"),
    (T([-1.5, 2.25, 100.0]), "tensor([ -1.5000,   2.2500, 100.0000])"),
    (T([[1, -2], [30, 4]]), "tensor([[ 1, -2],\n        [30,  4]])"),
    (T([1e-5, 1.0]), "tensor([1.0000e-05, 1.0000e+00])"),
    (T([1e-5, -1.0]), "tensor([ 1.0000e-05, -1.0000e+00])"),
    (T([1.0, -2.0]), "tensor([ 1., -2.])"),
    (T([0.0, 1.0]), "tensor([0., 1.])"),
    (T([[1.0, 2.0], [3.0, 40.0]]), "tensor([[ 1.,  2.],\n        [ 3., 40.]])"),
    (T([float("nan"), 1.0, float("inf")]), "tensor([nan, 1., inf])"),
    (T([1.5, float("nan")]), "tensor([1.5000,    nan])"),
    (T([-0.0, 1.0]), "tensor([-0., 1.])"),
    (T([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])"),
    (T([-1e10, 1.5]), "tensor([-1.0000e+10,  1.5000e+00])"),
    (T(-3.0), "tensor(-3.)"),
    (T(3.5), "tensor(3.5000)"),
    (T(7), "tensor(7)"),
    (T([123456789.0]), "tensor([1.2346e+08])"),
    (T([0.001, 1000.0]), "tensor([1.0000e-03, 1.0000e+03])"),
    (T([[True, False]]), "tensor([[ True, False]])"),
    (T([1.0, 2.0], dtype=torchlite.float64), "tensor([1., 2.], dtype=torch.float64)"),
    (T([1, 2], dtype=torchlite.uint8), "tensor([1, 2], dtype=torch.uint8)"),
    (torchlite.zeros(0, 3, dtype=torchlite.int64),
     "tensor([], size=(0, 3), dtype=torch.int64)"),
    (torchlite.zeros(2, 0), "tensor([], size=(2, 0))"),
    (T([]), "tensor([])"),
    (T([], dtype=torchlite.float64), "tensor([], dtype=torch.float64)"),
    (torchlite.arange(12).reshape(2, 2, 3),
     "tensor([[[ 0,  1,  2],\n         [ 3,  4,  5]],\n\n        [[ 6,  7,  8],\n"
     "         [ 9, 10, 11]]])"),
    (torchlite.arange(2000.0),
     "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
     "        1.9990e+03])"),
    (torchlite.arange(1001), "tensor([   0,    1,    2,  ...,  998,  999, 1000])"),
    (T([0.5, 1.0], dtype=torchlite.float16), "tensor([0.5000, 1.0000], dtype=torch.float16)"),
]


@pytest.mark.parametrize("k", range(len(CASES)))
def test_repr_layout(k):
    t, expected = CASES[k]
    assert repr(t) == expected
    assert str(t) == expected


def test_requires_grad_and_grad_fn_suffixes():
    x = T([0.1, 0.2], requires_grad=True)
    assert repr(x) == "tensor([0.1000, 0.2000], requires_grad=True)"
    assert repr(x * 2) == "tensor([0.2000, 0.4000], grad_fn=<MulBackward0>)"
    assert repr(x.sum()) == "tensor(0.3000, grad_fn=<SumBackward0>)"


def test_long_rows_wrap_and_suffix_moves_to_new_line():
    t = torchlite.linspace(-1, 1, 20).reshape(2, 10).requires_grad_()
    assert repr(t) == (
        "tensor([[-1.0000, -0.8947, -0.7895, -0.6842, -0.5789, -0.4737, -0.3684, -0.2632,\n"
        "         -0.1579, -0.0526],\n"
        "        [ 0.0526,  0.1579,  0.2632,  0.3684,  0.4737,  0.5789,  0.6842,  0.7895,\n"
        "          0.8947,  1.0000]], requires_grad=True)"
    )
    v = torchlite.linspace(-1, 1, 8).requires_grad_() * 2
    assert repr(v) == (
        "tensor([-2.0000, -1.4286, -0.8571, -0.2857,  0.2857,  0.8571,  1.4286,  2.0000],\n"
        "       grad_fn=<MulBackward0>)"
    )


def test_large_2d_tensor_is_summarised():
    r = repr(torchlite.ones(100, 100))
    assert "..." in r and r.count("\n") < 20


@pytest.mark.parity
def test_parity_with_torch_repr():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal((3, 3)).astype(np.float32),
        rng.standard_normal((2, 20)).astype(np.float32),
        (rng.standard_normal((4, 5)) * 1e4).astype(np.float32),
        rng.integers(-50, 5000, (3, 7)),
        np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 10,
        rng.standard_normal((40, 40)).astype(np.float32),
        rng.standard_normal(1500).astype(np.float32),
        np.array([1e-8, 3.0, -2.5], dtype=np.float32),
        rng.random((2, 2)) > 0.5,
        rng.standard_normal((5, 2)),
        np.array([[np.nan, -np.inf], [2.0, 1.0]], dtype=np.float32),
        np.array([0.0, 0.0], dtype=np.float32),
    ]
    for a in arrays:
        mine = repr(torchlite.tensor(a)).replace("torchlite.", "torch.")
        assert mine == repr(torch.tensor(a)), a
        req = repr(torchlite.tensor(a).float().requires_grad_())
        assert req.replace("torchlite.", "torch.") == repr(torch.tensor(a).float().requires_grad_())
