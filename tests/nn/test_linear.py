import math

import numpy as np
import pytest
from _nn_checks import check_fn_grads, check_module_grads, layout, npy, parity, rnd, t32, t64

import torchlite
import torchlite.nn as nn
import torchlite.nn.functional as F


def test_linear_forward_matches_numpy():
    torchlite.manual_seed(0)
    m = nn.Linear(4, 3)
    x = rnd((5, 4)).astype(np.float32)
    out = m(t32(x))
    expected = x @ npy(m.weight).T + npy(m.bias)
    assert out.dtype == torchlite.float32
    np.testing.assert_allclose(npy(out), expected, rtol=1e-5, atol=1e-6)


def test_linear_leading_dims_and_vector_input():
    m = nn.Linear(4, 3)
    x = rnd((2, 3, 4)).astype(np.float32)
    out = m(t32(x))
    assert tuple(out.shape) == (2, 3, 3)
    np.testing.assert_allclose(npy(out), x @ npy(m.weight).T + npy(m.bias), rtol=1e-5, atol=1e-6)
    v = m(t32(x[0, 0]))
    assert tuple(v.shape) == (3,)


def test_linear_gradcheck_inputs_and_params():
    m = nn.Linear(3, 2)
    check_module_grads(m, t64(rnd((2, 3))))
    m3 = nn.Linear(3, 2, bias=False)
    check_module_grads(m3, t64(rnd((2, 2, 3), seed=1)))


def test_linear_functional_gradcheck_1d():
    check_fn_grads(F.linear, t64(rnd((3,))), t64(rnd((2, 3), 1)), t64(rnd((2,), 2)))


def test_linear_state_dict_layout_and_init_bounds():
    m = nn.Linear(50, 7)
    assert layout(m) == {"weight": (7, 50), "bias": (7,)}
    bound = 1 / math.sqrt(50)
    assert np.abs(npy(m.weight)).max() <= bound
    assert np.abs(npy(m.bias)).max() <= bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(npy(m.weight).std() - bound / math.sqrt(3)) < 0.2 * bound
    nb = nn.Linear(2, 3, bias=False)
    assert layout(nb) == {"weight": (3, 2)}
    assert nb.bias is None
    assert repr(nb) == "Linear(in_features=2, out_features=3, bias=False)"


def test_linear_dtype_device_args_and_errors():
    m = nn.Linear(2, 3, dtype=torchlite.float64)
    assert m.weight.dtype == torchlite.float64
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        m(t64(rnd((2, 3))))
    with pytest.raises(RuntimeError, match="same dtype"):
        m(t32(rnd((2, 2))))


def test_reset_parameters_is_seeded():
    torchlite.manual_seed(3)
    a = nn.Linear(3, 3)
    torchlite.manual_seed(3)
    b = nn.Linear(3, 3)
    np.testing.assert_array_equal(npy(a.weight), npy(b.weight))


def test_bilinear_forward_and_grads():
    m = nn.Bilinear(3, 2, 4)
    x1, x2 = rnd((5, 3)).astype(np.float32), rnd((5, 2), 1).astype(np.float32)
    out = m(t32(x1), t32(x2))
    expected = np.einsum("ni,oij,nj->no", x1, npy(m.weight), x2) + npy(m.bias)
    np.testing.assert_allclose(npy(out), expected, rtol=1e-5, atol=1e-5)
    assert layout(m) == {"weight": (4, 3, 2), "bias": (4,)}
    check_module_grads(nn.Bilinear(2, 3, 2), t64(rnd((2, 2))), t64(rnd((2, 3), 3)))
    lead = m(t32(rnd((2, 5, 3))), t32(rnd((2, 5, 2))))
    assert tuple(lead.shape) == (2, 5, 4)


def test_identity():
    x = t32(rnd((2, 3)))
    assert nn.Identity(54, unused="x")(x) is x


@pytest.mark.parity
def test_linear_parity():
    torch = pytest.importorskip("torch")
    parity(nn.Linear(4, 3), torch.nn.Linear(4, 3), rnd((6, 4)).astype(np.float32))
    parity(nn.Linear(4, 3, bias=False), torch.nn.Linear(4, 3, bias=False),
           rnd((2, 6, 4)).astype(np.float32))


@pytest.mark.parity
def test_bilinear_parity():
    torch = pytest.importorskip("torch")
    parity(nn.Bilinear(3, 2, 4), torch.nn.Bilinear(3, 2, 4), rnd((5, 3)).astype(np.float32),
           rnd((5, 2), 1).astype(np.float32))
