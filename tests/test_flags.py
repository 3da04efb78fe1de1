"""use_deterministic_algorithms and set_float32_matmul_precision (torchlite/_flags.py)."""

import warnings

import numpy as np
import pytest

import torchlite


@pytest.fixture(autouse=True)
def _restore():
    saved = (torchlite.are_deterministic_algorithms_enabled(),
             torchlite.is_deterministic_algorithms_warn_only_enabled(),
             torchlite.get_float32_matmul_precision())
    yield
    torchlite.use_deterministic_algorithms(saved[0], warn_only=saved[1])
    torchlite.set_float32_matmul_precision(saved[2])


def test_deterministic_flags_round_trip():
    assert torchlite.are_deterministic_algorithms_enabled() is False
    torchlite.use_deterministic_algorithms(True)
    assert torchlite.are_deterministic_algorithms_enabled() is True
    assert torchlite.is_deterministic_algorithms_warn_only_enabled() is False
    torchlite.use_deterministic_algorithms(True, warn_only=True)
    assert torchlite.is_deterministic_algorithms_warn_only_enabled() is True
    torchlite.use_deterministic_algorithms(False)
    assert torchlite.are_deterministic_algorithms_enabled() is False
    assert torchlite.is_deterministic_algorithms_warn_only_enabled() is False


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_deterministic_mode_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="argument 'mode' must be bool"):
        torchlite.use_deterministic_algorithms(bad)
    with pytest.raises(TypeError, match="argument 'warn_only' must be bool"):
        torchlite.use_deterministic_algorithms(True, warn_only=bad)
    assert torchlite.are_deterministic_algorithms_enabled() is False


def _scatter_add_grads(device):
    x = torchlite.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), device=device,
                         requires_grad=True)
    idx = torchlite.tensor([0, 3, 0, 0, 2, 3, 0], device=device)
    w = torchlite.tensor(np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32),
                         device=device)
    (x[idx] * w).sum().backward()  # the index backward: a float scatter-add
    emb = torchlite.nn.Embedding(4, 3).to(device)
    (emb(idx) * w).sum().backward()
    return x.grad.cpu().numpy(), emb.weight.grad.cpu().numpy()


def test_deterministic_scatter_adds_give_the_cpu_sums(device):
    expected = _scatter_add_grads("cpu")
    torchlite.use_deterministic_algorithms(True)
    for _ in range(3):  # (on a GPU: summed on the host, so the same bits every run)
        got = _scatter_add_grads(device)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)


def test_matmul_precision_is_checked_and_recorded():
    assert torchlite.get_float32_matmul_precision() == "highest"
    for p in ("high", "medium", "highest"):
        torchlite.set_float32_matmul_precision(p)
        assert torchlite.get_float32_matmul_precision() == p
    torchlite.set_float32_matmul_precision("medium")
    with pytest.warns(UserWarning, match="low is not one of 'highest', 'high', or 'medium'"):
        torchlite.set_float32_matmul_precision("low")
    assert torchlite.get_float32_matmul_precision() == "medium"  # unchanged, as PyTorch
    with pytest.raises(RuntimeError, match="expects a str, but got int"):
        torchlite.set_float32_matmul_precision(3)


def test_matmul_results_do_not_depend_on_the_precision():
    a = torchlite.randn(16, 16)
    ref = (a @ a).numpy()
    torchlite.set_float32_matmul_precision("medium")
    np.testing.assert_array_equal((a @ a).numpy(), ref)


@pytest.mark.parity
def test_flags_parity():
    torch = pytest.importorskip("torch")
    assert (torchlite.are_deterministic_algorithms_enabled()
            == torch.are_deterministic_algorithms_enabled())
    assert torchlite.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.get_float32_matmul_precision())
    try:
        for mode, warn_only in ((True, False), (True, True), (False, True), (False, False)):
            torch.use_deterministic_algorithms(mode, warn_only=warn_only)
            torchlite.use_deterministic_algorithms(mode, warn_only=warn_only)
            assert (torchlite.is_deterministic_algorithms_warn_only_enabled()
                    == torch.is_deterministic_algorithms_warn_only_enabled())
        for bad in (1, "x"):
            with pytest.raises(TypeError):
                torch.use_deterministic_algorithms(bad)
        for p in ("high", "nonsense", "medium", "HIGH"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.set_float32_matmul_precision(p)
                torchlite.set_float32_matmul_precision(p)
            assert torchlite.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
        for bad in (3, None):
            with pytest.raises(RuntimeError) as theirs:
                torch.set_float32_matmul_precision(bad)
            with pytest.raises(RuntimeError) as ours:
                torchlite.set_float32_matmul_precision(bad)
            assert str(ours.value) == str(theirs.value)
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        torch.set_float32_matmul_precision(saved[2])
