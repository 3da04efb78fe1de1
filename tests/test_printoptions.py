"""set_printoptions: precision, threshold, edge items, line width, profiles and sci_mode change
how tensors print, as PyTorch's do, and profile='default' restores the defaults."""

import numpy as np
import pytest

import torchlite

T = torchlite.tensor


@pytest.fixture(autouse=True)
def _restore():
    yield
    torchlite.set_printoptions(profile="default")


def test_precision_and_sci_mode():
    torchlite.set_printoptions(precision=2)
    assert repr(T([1.23456, 2.5])) == "tensor([1.23, 2.50])"
    torchlite.set_printoptions(sci_mode=True)  # precision stays 2 until a profile resets it
    assert repr(T([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"
    torchlite.set_printoptions(profile="default", sci_mode=False)
    assert repr(T([1e-5, 1.0])) == "tensor([0.0000, 1.0000])"
    torchlite.set_printoptions(profile="default")
    assert repr(T([1e-5, 1.0])) == "tensor([1.0000e-05, 1.0000e+00])"


def test_threshold_edgeitems_linewidth_and_profiles():
    torchlite.set_printoptions(threshold=5, edgeitems=1)
    assert repr(T(np.arange(10.0), dtype=torchlite.float32)) == "tensor([0.,  ..., 9.])"
    torchlite.set_printoptions(profile="short")
    assert repr(T([1.23456])) == "tensor([1.23])"
    torchlite.set_printoptions(profile="full", linewidth=30)
    text = repr(T(np.arange(2000.0)))
    assert "..." not in text and max(len(line) for line in text.splitlines()) <= 30
    torchlite.set_printoptions(profile="default")
    assert "..." in repr(T(np.arange(2000.0)))
    with pytest.raises(ValueError, match="unknown profile"):
        torchlite.set_printoptions(profile="tiny")


@pytest.mark.parity
def test_same_text_as_pytorch():
    torch = pytest.importorskip("torch")
    values = [np.array([1.23456, 2.5, 1000.0]), np.array([1.0, 2.0, 3.0]),
              np.array([1e-5, 1.0]), np.array([[0.123456789, 12345.6789]]),
              np.arange(20, dtype=np.float32)]
    options = [dict(precision=2), dict(sci_mode=False), dict(sci_mode=True),
               dict(threshold=5, edgeitems=1), dict(profile="short"),
               dict(profile="full", linewidth=40)]
    try:
        for opts in options:
            torchlite.set_printoptions(**opts)
            torch.set_printoptions(**opts)
            for v in values:
                assert repr(T(v)) == repr(torch.tensor(v)), opts
    finally:
        torch.set_printoptions(profile="default")
