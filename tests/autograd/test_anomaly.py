"""detect_anomaly: a NaN produced in backward names the op and the forward line behind it."""

import numpy as np
import pytest
from _core_checks import leaf

import torchlite
from torchlite import autograd


def _nan_in_sqrt_backward():
    x = leaf([0.0, 1.0])
    y = torchlite.sqrt(x)  # d sqrt / dx at 0 is inf; times a zero gradient gives nan
    return (y * torchlite.tensor([0.0, 1.0], dtype=torchlite.float64)).sum()


def test_detect_anomaly_names_the_op_and_the_line():
    with autograd.detect_anomaly():
        loss = _nan_in_sqrt_backward()
        with pytest.raises(RuntimeError) as exc:
            loss.backward()
    msg = str(exc.value)
    assert "SqrtBackward0" in msg and "nan" in msg
    assert "test_anomaly.py" in msg and "torchlite.sqrt(x)" in msg


def test_without_anomaly_mode_nan_passes_silently():
    with np.errstate(all="ignore"):
        loss = _nan_in_sqrt_backward()
        loss.backward()
    assert not autograd.anomaly.is_anomaly_enabled()


def test_anomaly_as_decorator_and_set_detect_anomaly():
    @autograd.detect_anomaly()
    def run():
        assert autograd.anomaly.is_anomaly_enabled()
        _nan_in_sqrt_backward().backward()

    with pytest.raises(RuntimeError, match="SqrtBackward0"):
        run()
    assert not autograd.anomaly.is_anomaly_enabled()
    with autograd.set_detect_anomaly(False):
        assert not autograd.anomaly.is_anomaly_enabled()
    with autograd.set_detect_anomaly(True):
        assert autograd.anomaly.is_anomaly_enabled()


def test_finite_gradients_pass_under_anomaly_mode():
    with autograd.detect_anomaly():
        x = leaf([1.0, 2.0])
        (x.exp() * x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
